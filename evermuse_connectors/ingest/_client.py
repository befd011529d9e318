"""The Evermuse ingest client: batches out, counted results back.

Retries follow the API's documented behaviour: 429 waits ``retryAfter`` (body) or
``Retry-After`` (header); 5xx, timeouts and dropped connections back off
exponentially with jitter; every retry re-sends the same body with the same
``Idempotency-Key``, so a request that was stored before its answer was lost is
answered from Evermuse's cache instead of being processed twice. 413 splits the batch.
400, 401 and 403 are never retried.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from evermuse_connectors.connector._http import parse_retry_after
from evermuse_connectors.envelope import Record
from evermuse_connectors.errors import (
    AuthError,
    BadRequestError,
    DeliveryError,
    GaveUpError,
    PermissionDeniedError,
    RetryableError,
    shorten,
)
from evermuse_connectors.ingest._batching import (
    MAX_BATCH_BYTES,
    MAX_BATCH_RECORDS,
    Batch,
    Batcher,
)
from evermuse_connectors.ingest._results import BatchResult, Rejection, SendSummary
from evermuse_connectors.ingest._settings import IngestSettings

__all__ = ["DeliveryPolicy", "EvermuseClient"]

logger = logging.getLogger(__name__)
_USER_AGENT = "evermuse-connectors/0.1"


@dataclass(frozen=True)
class DeliveryPolicy:
    """Batch limits, retries and parallelism of a client."""

    max_records: int = MAX_BATCH_RECORDS
    max_bytes: int = MAX_BATCH_BYTES
    max_attempts: int = 8
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    total_seconds: float = 600.0
    max_in_flight: int = 4
    timeout: float = 60.0


class _TooLarge(Exception):
    pass


class _ReleasableBody(httpx.SyncByteStream):
    """A request body that lets go of its bytes once the request is answered.

    httpx's request and response refer to each other, so a finished request lives
    until the garbage collector's next full pass, and with it a body of up to 5 MB;
    with several batches in flight that added tens of megabytes to peak memory.
    """

    def __init__(self, body: bytes) -> None:
        self._body: bytes | None = body

    def __iter__(self) -> Iterator[bytes]:
        if self._body is not None:
            yield self._body

    def release(self) -> None:
        self._body = None


class EvermuseClient:
    """Talks to ``POST /api/v1/ingest`` and the batch status endpoints."""

    def __init__(
        self,
        settings: IngestSettings,
        *,
        policy: DeliveryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self.settings = settings
        self.policy = policy or DeliveryPolicy()
        self._http = httpx.Client(
            base_url=settings.base_url,
            timeout=self.policy.timeout,
            transport=transport,
            headers={"user-agent": _USER_AGENT},
            limits=httpx.Limits(max_connections=max(4, self.policy.max_in_flight)),
        )
        self._sleep = sleep
        self._rng = random.Random(seed)  # noqa: S311 (jitter, not cryptography)
        self._pause_lock = threading.Lock()
        self._paused_until = 0.0

    @classmethod
    def from_env(cls, **kwargs: Any) -> EvermuseClient:
        return cls(IngestSettings.from_env(), **kwargs)

    def __repr__(self) -> str:
        return f"EvermuseClient(base_url={self.settings.base_url!r})"

    def __enter__(self) -> EvermuseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- sending -----------------------------------------------------------------

    def batcher(self) -> Batcher:
        return Batcher(
            max_records=self.policy.max_records, max_bytes=self.policy.max_bytes
        )

    def send(
        self,
        records: Iterable[Record | dict[str, Any] | bytes],
        *,
        on_batch: Callable[[BatchResult], None] | None = None,
    ) -> SendSummary:
        """Batch, post and count ``records``; they are consumed as a stream.

        Raises BadRequestError, AuthError, PermissionDeniedError or GaveUpError when
        delivery has to stop; the exception's ``summary`` holds what was done so far.
        """
        batcher = self.batcher()
        summary = SendSummary()
        try:
            for result in self.post_batches(batcher.batches(records)):
                summary.batches.append(result)
                if on_batch is not None:
                    on_batch(result)
        except DeliveryError as exc:
            self._fill(summary, batcher)
            exc.summary = summary  # type: ignore[attr-defined]
            raise
        self._fill(summary, batcher)
        return summary

    @staticmethod
    def _fill(summary: SendSummary, batcher: Batcher) -> None:
        summary.local_rejections = list(batcher.rejections)
        summary.duplicates = batcher.duplicates
        summary.conflicts = batcher.conflicts
        summary.received = batcher.seen

    def post_batches(self, batches: Iterable[Batch]) -> Iterator[BatchResult]:
        """Post batches, up to ``max_in_flight`` at once; results come in order."""
        in_flight = max(1, self.policy.max_in_flight)
        with ThreadPoolExecutor(in_flight, thread_name_prefix="evermuse-post") as pool:
            pending: deque[Future[list[BatchResult]]] = deque()
            try:
                for batch in batches:
                    if len(pending) >= in_flight:
                        yield from pending.popleft().result()
                    pending.append(pool.submit(self.post_batch, batch))
                while pending:
                    yield from pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()

    def post_batch(self, batch: Batch) -> list[BatchResult]:
        """Post one batch with retries; a 413 splits it and posts both halves."""
        try:
            return [self._post_with_retries(batch)]
        except _TooLarge:
            if len(batch) == 1:
                raise BadRequestError(
                    f"Evermuse refused a single record as too large (413): "
                    f"{batch.identities[0][:200]}; shorten the record's data",
                    status=413,
                ) from None
            first, second = batch.halves()
            logger.info(
                "batch of %d %s records too large (413); sending it in two halves",
                len(batch),
                batch.record_type,
            )
            return self.post_batch(first) + self.post_batch(second)

    def _post_with_retries(self, batch: Batch) -> BatchResult:
        body, key = batch.body, batch.key
        deadline = time.monotonic() + self.policy.total_seconds
        attempt = 0
        while True:
            attempt += 1
            self._wait_if_paused()
            try:
                result = self._post_once(batch, body, key, attempt)
            except RetryableError as exc:
                wait = self._wait_for(exc, attempt)
                if (
                    attempt >= self.policy.max_attempts
                    or time.monotonic() + wait > deadline
                ):
                    raise GaveUpError(
                        f"gave up on batch {key} after {attempt} attempt(s): {exc}. "
                        "Evermuse may be down or rate limiting; run the sync again "
                        "later: the same batches carry the same keys, so nothing is "
                        "processed twice",
                        status=exc.status,
                    ) from exc
                logger.warning(
                    "batch %s: %s; retry %d in %.2fs", key[:40], exc, attempt, wait
                )
                self._sleep(wait)
                continue
            logger.info(
                "batch %s: %d records, %d accepted, %d rejected (key %s)",
                result.batch_id,
                result.records,
                result.accepted,
                result.rejected,
                key,
            )
            return result

    def _wait_for(self, exc: RetryableError, attempt: int) -> float:
        if exc.retry_after is not None:
            if exc.status == 429:
                self._pause(exc.retry_after)
            return exc.retry_after
        ceiling = min(
            self.policy.backoff_cap, self.policy.backoff_base * 2 ** (attempt - 1)
        )
        return self._rng.uniform(ceiling / 2, ceiling)

    def _pause(self, seconds: float) -> None:
        """A 429 holds back every thread of this client, not just the one hit."""
        with self._pause_lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _wait_if_paused(self) -> None:
        with self._pause_lock:
            wait = self._paused_until - time.monotonic()
        if wait > 0:
            self._sleep(wait)

    def _post_once(
        self, batch: Batch, body: bytes, key: str, attempt: int
    ) -> BatchResult:
        request = self._http.build_request(
            "POST",
            "/api/v1/ingest",
            headers={
                "content-type": "application/x-ndjson",
                "content-length": str(len(body)),
                "idempotency-key": key,
                "x-api-key": self.settings.api_key.get_secret_value(),
            },
        )
        request.stream = stream = _ReleasableBody(body)
        try:
            response = self._http.send(request)
        except httpx.TimeoutException as exc:
            raise RetryableError(f"timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise RetryableError(f"connection failed ({type(exc).__name__})") from exc
        finally:
            stream.release()
        status = response.status_code
        if status == 202:
            return self._accepted(batch, key, response, attempt, len(body))
        if status == 413:
            raise _TooLarge
        self._raise_for(response, f"batch {key}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_for(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        error, message, retry_after = _error_fields(response)
        detail = f"{status} {error}: {message}" if error else f"{status}: {message}"
        if status == 429:
            header = parse_retry_after(response.headers.get("retry-after"))
            raise RetryableError(
                f"rate limited ({detail})",
                status=429,
                retry_after=retry_after if retry_after is not None else header,
            )
        if status >= 500:
            raise RetryableError(f"server error ({detail})", status=status)
        if status == 400:
            raise BadRequestError(
                f"Evermuse refused {what} as a bad request ({detail}). Nothing of it "
                "was stored. The records or their batching are wrong: check the "
                "message, fix the connector or the input, and send again",
                status=400,
            )
        if status == 401:
            raise AuthError(
                f"Evermuse refused the API key ({detail}): EVERMUSE_API_KEY is missing "
                "or wrong; create a key in Settings > API Keys and export it",
                status=401,
            )
        if status == 403:
            raise PermissionDeniedError(
                f"the API key may not do this ({detail}): ingest needs a key with the "
                "api:write permission; create one in Settings > API Keys",
                status=403,
            )
        raise DeliveryError(f"unexpected answer to {what}: {detail}", status=status)

    def _accepted(
        self, batch: Batch, key: str, response: httpx.Response, attempts: int, size: int
    ) -> BatchResult:
        try:
            payload = response.json()
            batch_id = str(payload["batchId"])
            accepted = int(payload["acceptedCount"])
            rejected = int(payload["rejectedCount"])
        except (ValueError, KeyError, TypeError) as exc:
            # Accepted but unreadable: the same key makes a retry safe.
            raise RetryableError(
                f"202 with an unreadable body ({shorten(response.text, 120)})"
            ) from exc
        rejections = _rejections(batch, batch_id, payload.get("errors") or [], rejected)
        if accepted + rejected != len(batch):
            logger.error(
                "batch %s: Evermuse counted %d accepted + %d rejected of %d sent",
                batch_id,
                accepted,
                rejected,
                len(batch),
            )
            missing = len(batch) - accepted - rejected
            if missing > 0:
                rejected += missing
                rejections.append(
                    Rejection(
                        batch_id,
                        None,
                        None,
                        "UNCOUNTED",
                        f"{missing} record(s) of this batch were neither accepted nor "
                        "rejected in Evermuse's answer; check the batch status",
                    )
                )
        return BatchResult(
            batch_id=batch_id,
            key=key,
            record_type=batch.record_type,
            product_id=batch.product_id,
            records=len(batch),
            accepted=min(accepted, len(batch)),
            rejected=rejected,
            rejections=tuple(rejections),
            attempts=attempts,
            bytes=size,
        )

    # -- batch status ------------------------------------------------------------

    def batch_status(self, batch_id: str) -> dict[str, Any]:
        """``GET /api/v1/ingest/batches/{batchId}`` (retried like a post)."""
        quoted = urllib.parse.quote(batch_id, safe="")
        response = self._get(f"/api/v1/ingest/batches/{quoted}", {})
        result: dict[str, Any] = response.json()
        return result

    def iter_batches(self, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every batch, newest first, following ``nextCursor`` until it is null."""
        if not 1 <= page_size <= 100:
            raise ValueError(f"page_size must be 1..100, got {page_size}")
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            page = self._get("/api/v1/ingest/batches", params).json()
            yield from page.get("batches", [])
            cursor = page.get("nextCursor")
            if not cursor:
                return
            if cursor in seen:
                raise DeliveryError(
                    f"Evermuse returned the cursor {shorten(cursor)} twice; stopping "
                    "instead of looping forever"
                )
            seen.add(cursor)

    def wait_until_done(
        self, batch_ids: Iterable[str], *, timeout: float = 60.0, poll: float = 0.5
    ) -> dict[str, dict[str, Any]]:
        """Poll until every batch is COMPLETE or FAILED and its downloads settled."""
        remaining = set(batch_ids)
        done: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while remaining:
            for batch_id in sorted(remaining):
                status = self.batch_status(batch_id)
                if _settled(status):
                    done[batch_id] = status
            remaining -= done.keys()
            if not remaining or time.monotonic() > deadline:
                break
            self._sleep(poll)
        for batch_id in remaining:
            done[batch_id] = self.batch_status(batch_id)
        return done

    def _get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.get(
                    path,
                    params=params,
                    headers={"x-api-key": self.settings.api_key.get_secret_value()},
                )
                if response.status_code == 200:
                    return response
                self._raise_for(response, f"GET {path}")
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                error: RetryableError = RetryableError(str(type(exc).__name__))
                error.__cause__ = exc
                if attempt >= self.policy.max_attempts:
                    raise GaveUpError(f"GET {path} failed: {error}") from exc
                self._sleep(self._wait_for(error, attempt))
            except RetryableError as exc:
                if attempt >= self.policy.max_attempts:
                    raise GaveUpError(f"GET {path} failed: {exc}") from exc
                self._sleep(self._wait_for(exc, attempt))


def _settled(status: dict[str, Any]) -> bool:
    if status.get("status") not in {"COMPLETE", "FAILED"}:
        return False
    return status.get("attachmentDownloadStatus") in {
        None,
        "COMPLETE",
        "PARTIAL_FAILURE",
        "FAILED",
    }


def _error_fields(response: httpx.Response) -> tuple[str, str, float | None]:
    try:
        body = response.json()
    except ValueError:
        return "", shorten(response.text, 200), None
    if not isinstance(body, dict):
        return "", shorten(body, 200), None
    retry_after = body.get("retryAfter")
    return (
        str(body.get("error", "")),
        str(body.get("message", ""))[:500],
        float(retry_after) if isinstance(retry_after, int | float) else None,
    )


def _rejections(
    batch: Batch, batch_id: str, errors: list[Any], rejected: int
) -> list[Rejection]:
    """Evermuse's ``errors`` mapped back to the records' identities, one per record."""
    by_index: dict[int, list[tuple[str, str]]] = {}
    for error in errors:
        if not isinstance(error, dict):
            continue
        index = error.get("index")
        if isinstance(index, int) and 0 <= index < len(batch):
            by_index.setdefault(index, []).append(
                (str(error.get("code", "")), str(error.get("message", "")))
            )
    lines = batch.records() if by_index else []
    out = [
        Rejection(
            batch_id,
            index,
            batch.identities[index],
            ",".join(sorted({code for code, _ in problems})),
            "; ".join(message for _, message in problems),
            lines[index],
        )
        for index, problems in sorted(by_index.items())
    ]
    unlisted = rejected - len(out)
    if unlisted > 0:
        out.append(
            Rejection(
                batch_id,
                None,
                None,
                "UNLISTED",
                f"Evermuse rejected {unlisted} more record(s) of this batch without "
                "naming them (its errors list stops at 20); see the batch status "
                f"{batch_id} and fix the records the listed errors describe",
            )
        )
    return out
