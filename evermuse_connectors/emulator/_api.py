"""The endpoints: the three of the published spec, and ``/_emulator/...`` to steer.

Kept apart from the HTTP plumbing (``_server.py``): a :class:`Request` comes in with
its body already read, a :class:`Response` goes out. Every refusal is an
:class:`ApiError`, written in the spec's ``ErrorResponse`` shape.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from evermuse_connectors.emulator._config import EmulatorConfig, Faults
from evermuse_connectors.emulator._errors import ApiError
from evermuse_connectors.emulator._faults import Decision, FaultPlan
from evermuse_connectors.emulator._storage import NewBatch, Storage, StoreResult
from evermuse_connectors.emulator._validation import (
    MAX_BODY_BYTES,
    check_batch,
    parse_body,
    validate_records,
)
from evermuse_connectors.envelope import ValidationError, describe_errors
from evermuse_connectors.errors import shorten

__all__ = ["Api", "Request", "Response"]

logger = logging.getLogger(__name__)

_INGEST = "/api/v1/ingest"
_BATCHES = "/api/v1/ingest/batches"
_MAX_KEY = 256
_FORMATS = ("text", "audio", "video", "file")
_CURSOR_PREFIX = "seq:"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    """Lower-cased header names."""
    body: bytes = field(default=b"", repr=False)
    body_size: int = 0
    """Bytes the client sent; past the limit, ``body`` is left empty."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    drop: bool = False
    """Close the connection without answering (the fault drop_after_store_ratio)."""


def _json(status: int, value: Any) -> Response:
    return Response(status, orjson.dumps(value))


class Api:
    def __init__(
        self,
        storage: Storage,
        plan: FaultPlan,
        config: EmulatorConfig,
        on_reset: Callable[[], None] = lambda: None,
    ) -> None:
        self._storage = storage
        self._plan = plan
        self._step = config.step_seconds
        self._write_keys = tuple(k.get_secret_value() for k in config.write_keys)
        self._read_keys = tuple(k.get_secret_value() for k in config.read_keys)
        self._on_reset = on_reset

    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except ApiError as exc:
            if exc.status == 500:
                self._storage.bump("errors_500")
            return Response(exc.status, exc.body(), exc.headers)

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == _INGEST:
            _allow(request, "POST")
            return self._ingest(request)
        if path == _BATCHES:
            _allow(request, "GET")
            return self._list(request)
        if path.startswith(_BATCHES + "/"):
            _allow(request, "GET")
            return self._status(request, path[len(_BATCHES) + 1 :])
        if path.startswith("/_emulator/"):
            return self._steer(request, path.removeprefix("/_emulator/"))
        raise ApiError(
            404,
            "not_found",
            f"no endpoint at {shorten(path, 100)}: this API serves {_INGEST}, "
            f"{_BATCHES} and {_BATCHES}/{{batchId}}",
        )

    # -- authorisation -----------------------------------------------------------

    def _authorise(self, request: Request, *, write: bool) -> None:
        key = request.headers.get("x-api-key", "")
        if not key:
            raise ApiError(
                401,
                "unauthorized",
                "the x-api-key header is missing: send the API key (em_sk_...) "
                "in x-api-key",
            )
        if _known(key, self._write_keys):
            return
        if not _known(key, self._read_keys):
            raise ApiError(
                401,
                "unauthorized",
                "the x-api-key is not a valid API key: use a key the emulator "
                "printed at start-up",
            )
        if write:
            raise ApiError(
                403,
                "forbidden",
                "this API key is read-only and ingest needs the api:write "
                "permission: use a write key",
            )

    # -- POST /api/v1/ingest -----------------------------------------------------

    def _ingest(self, request: Request) -> Response:
        self._storage.bump("ingest_requests")
        self._authorise(request, write=True)
        if request.body_size > MAX_BODY_BYTES:
            raise ApiError(
                413,
                "payload_too_large",
                f"the body is {request.body_size} bytes, over the limit of "
                f"{MAX_BODY_BYTES}: send fewer records per request",
                details={"limit": MAX_BODY_BYTES, "received": request.body_size},
            )
        key = _idempotency_key(request)
        _check_format(request)
        decision = self._plan.decide()
        self._refuse_by_fault(decision)

        body_sha256 = hashlib.sha256(request.body).hexdigest()
        if key is not None and (hit := self._storage.find_key(key)) is not None:
            # The cheap path for a retry: no parsing, no validation.
            if hit[0] != body_sha256:
                raise _key_reused(key)
            self._storage.bump("idempotent_replays")
            return self._answer(hit[1], decision)

        records = parse_body(request.headers.get("content-type"), request.body)
        result = self._store(records, key, body_sha256, decision)
        if result.kind == "reused":
            raise _key_reused(key or "")
        return self._answer(result.response, decision)

    def _store(
        self, records: list[Any], key: str | None, body_sha256: str, decision: Decision
    ) -> StoreResult:
        batch_type = check_batch(records)
        outcome = validate_records(records)
        batch_id = f"bat_{uuid.uuid4().hex}"
        response = orjson.dumps(
            {
                "batchId": batch_id,
                "acceptedCount": len(outcome.accepted),
                "rejectedCount": outcome.rejected,
                "totalErrorCount": outcome.rejected,
                "errors": outcome.errors,
            }
        )
        now = time.time()
        result = self._storage.store_batch(
            NewBatch(
                batch_id=batch_id,
                idempotency_key=key,
                body_sha256=body_sha256,
                type=batch_type,
                accepted=outcome.accepted,
                rejected=outcome.rejected,
                errors=outcome.errors,
                response=response,
                created_at_ms=int(now * 1000),
                next_step_at=now + self._step,
                fail=decision.fail_batch,
            )
        )
        if result.kind == "stored":
            logger.info(
                "batch %s: %d accepted, %d rejected (%s)",
                batch_id,
                len(outcome.accepted),
                outcome.rejected,
                batch_type,
            )
        return result

    def _refuse_by_fault(self, decision: Decision) -> None:
        faults = self._plan.faults
        if decision.rate_limited:
            self._storage.bump("rate_limited")
            raise ApiError(
                429,
                "rate_limited",
                f"rate limit exceeded (fault rate_limit_every="
                f"{faults.rate_limit_every}): wait retryAfter seconds, then send "
                "the same request again",
                retry_after=faults.retry_after,
                headers={"Retry-After": str(math.ceil(faults.retry_after))},
            )
        if decision.error_500:
            raise ApiError(
                500,
                "internal_error",
                "the emulator failed this request on purpose (fault "
                "error_500_ratio); nothing was stored: retry the same request",
            )

    def _answer(self, body: bytes, decision: Decision) -> Response:
        if decision.drop_after_store:
            self._storage.bump("dropped")
            return Response(202, drop=True)
        return Response(202, body)

    # -- GET /api/v1/ingest/batches[/{batchId}] ----------------------------------

    def _list(self, request: Request) -> Response:
        self._authorise(request, write=False)
        limit = _limit(request.query)
        before = _cursor(request.query)
        batches, next_seq = self._storage.list_batches(limit, before)
        next_cursor = None if next_seq is None else _encode_cursor(next_seq)
        return _json(200, {"batches": batches, "nextCursor": next_cursor})

    def _status(self, request: Request, batch_id: str) -> Response:
        self._authorise(request, write=False)
        status = self._storage.batch_status(batch_id) if len(batch_id) <= 128 else None
        if status is None:
            raise ApiError(
                404,
                "not_found",
                f"no batch {shorten(batch_id, 140)}: use the batchId from the 202 "
                "answer of POST /api/v1/ingest",
            )
        return _json(200, status)

    # -- /_emulator/... ----------------------------------------------------------

    def _steer(self, request: Request, name: str) -> Response:
        reads: dict[str, Callable[[], Any]] = {
            "records": lambda: self._records(request),
            "stats": self._storage.stats,
            "batches": lambda: {"batches": self._storage.all_batches()},
            "downloads": lambda: {"downloads": self._storage.downloads()},
            "faults": lambda: self._plan.faults.model_dump(),
        }
        if request.method == "POST" and name == "faults":
            return _json(200, self.set_faults(_faults_from(request.body)).model_dump())
        if request.method == "POST" and name == "reset":
            self.reset()
            return _json(200, {"reset": True})
        if request.method == "GET" and name in reads:
            return _json(200, reads[name]())
        raise ApiError(
            404,
            "not_found",
            f"no emulator endpoint {request.method} /_emulator/{shorten(name, 60)}: "
            "GET records, stats, batches, downloads, faults; POST faults, reset",
        )

    def _records(self, request: Request) -> dict[str, Any]:
        record_type = request.query.get("type", [""])[-1]
        records = self._storage.records(record_type or None)
        return {"count": len(records), "records": records}

    def set_faults(self, faults: Faults) -> Faults:
        self._plan.replace(faults)
        logger.info("emulator faults now %s", faults.model_dump(exclude_defaults=True))
        return faults

    def reset(self) -> None:
        """Forget every batch, record, download and counter; restart the faults."""
        self._storage.reset()
        self._plan.replace(self._plan.faults)
        self._on_reset()
        logger.info("emulator data reset")


def _allow(request: Request, method: str) -> None:
    if request.method != method:
        raise ApiError(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed on {request.path}: use {method}",
            headers={"Allow": method},
        )


def _known(key: str, keys: tuple[str, ...]) -> bool:
    # Constant-time comparison: the answer time must not tell how much of a key
    # was right.
    found = False
    for candidate in keys:
        found |= hmac.compare_digest(key.encode(), candidate.encode())
    return found


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not key or len(key) > _MAX_KEY:
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"Idempotency-Key must be 1 to {_MAX_KEY} characters, got {len(key)}: "
            "derive a shorter key (for example a prefix and a hash of the body)",
        )
    return key


def _key_reused(key: str) -> ApiError:
    return ApiError(
        400,
        "idempotency_key_reused",
        f"Idempotency-Key {shorten(key, 80)} was already used with a different "
        "body: a retry must send the identical body, and a new body needs a new key",
    )


def _check_format(request: Request) -> None:
    for value in request.query.get("format", []):
        if value not in _FORMATS:
            raise ApiError(
                400,
                "invalid_format",
                f"format must be one of {', '.join(_FORMATS)}, got "
                f"{shorten(value, 40)}: fix or drop the format query parameter",
            )


def _limit(query: Mapping[str, list[str]]) -> int:
    values = query.get("limit")
    if not values:
        return 20
    text = values[-1]
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 100):
        raise ApiError(
            400,
            "invalid_limit",
            f"limit must be a whole number from 1 to 100, got {shorten(text, 40)}: "
            "omit it for the default of 20",
        )
    return int(text)


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode()


def _cursor(query: Mapping[str, list[str]]) -> int | None:
    values = query.get("cursor")
    if not values:
        return None
    text = values[-1]
    try:
        decoded = base64.urlsafe_b64decode(text.encode("ascii")).decode("ascii")
        if len(text) <= 256 and decoded.startswith(_CURSOR_PREFIX):
            return int(decoded.removeprefix(_CURSOR_PREFIX))
    except (ValueError, binascii.Error, UnicodeError):
        pass
    raise ApiError(
        400,
        "invalid_cursor",
        f"cursor {shorten(text, 60)} is not one this API gave out: pass the "
        "nextCursor of the previous page unchanged, or omit it for the first page",
    )


def _faults_from(body: bytes) -> Faults:
    try:
        return Faults.model_validate_json(body)
    except ValidationError as exc:
        raise ApiError(
            400,
            "invalid_faults",
            "the faults body must be a JSON object of Faults fields: "
            + "; ".join(describe_errors(exc)),
        ) from exc
