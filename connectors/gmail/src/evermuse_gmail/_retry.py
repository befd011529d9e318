"""What went wrong with a Gmail call, and how long to wait before trying again.

``HttpRequest.execute(num_retries=...)`` retries rate limits with ``random() * 2**n``
seconds and ignores ``Retry-After``, and a batch is never retried as a whole, so the
client retries by itself: it classifies each failure here, honours ``Retry-After``
(and the "Retry after <time>" Gmail writes into ``userRateLimitExceeded`` messages),
and otherwise backs off exponentially with jitter.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import google.auth.exceptions
import httplib2
from googleapiclient.errors import HttpError

from evermuse_connectors.connector import parse_retry_after

__all__ = ["RATE_LIMIT_REASONS", "Backoff", "Problem", "classify", "scrub"]

RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
# 403s that mean "this mailbox may not be read with these credentials".
_AUTH_REASONS = frozenset(
    {"forbidden", "insufficientPermissions", "authError", "domainPolicy"}
)
_RETRY_AT = re.compile(r"Retry after (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)")
# Never wait longer than this on the server's word alone.
_MAX_SERVER_WAIT = 900.0

Kind = Literal["rate_limit", "transient", "auth", "not_found", "fatal"]


@dataclass(frozen=True)
class Problem:
    """One failed call: what kind of failure, and what the server said."""

    kind: Kind
    detail: str
    status: int | None = None
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        return self.kind in ("rate_limit", "transient")


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every known secret value replaced, for foreign error text."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "[secret]")
    return text


def _error_body(content: Any) -> tuple[str, str]:
    """The first error reason and message of a Google error body."""
    try:
        body = json.loads(content)
        error = body["error"]
        first = (error.get("errors") or [{}])[0]
        return str(first.get("reason") or error.get("status") or ""), str(
            error.get("message") or first.get("message") or ""
        )
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        return "", ""


def _retry_at(message: str, now: datetime | None = None) -> float | None:
    found = _RETRY_AT.search(message)
    if not found:
        return None
    moment = datetime.fromisoformat(found.group(1).replace("Z", "+00:00"))
    delta = (moment - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, delta)


def _from_http_error(exc: HttpError) -> Problem:
    status = int(exc.resp.status)
    reason, message = _error_body(exc.content)
    detail = f"HTTP {status} {reason}: {message[:160]}".rstrip(": ")
    header = parse_retry_after(exc.resp.get("retry-after"))
    if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS):
        after = header if header is not None else _retry_at(message)
        return Problem("rate_limit", detail, status, after)
    if status >= 500 or status == 408:
        return Problem("transient", detail, status, header)
    if status == 401 or (status == 403 and reason in _AUTH_REASONS):
        return Problem("auth", detail, status)
    if status == 400 and reason == "failedPrecondition":
        # Gmail's answer when the mailbox has no Gmail service, or a service
        # account calls without a delegated subject.
        return Problem("auth", detail, status)
    if status == 404:
        return Problem("not_found", detail, status)
    return Problem("fatal", detail, status)


def classify(exc: BaseException) -> Problem | None:
    """The problem ``exc`` stands for, or ``None`` if it is not a call failure."""
    if isinstance(exc, HttpError):
        return _from_http_error(exc)
    if isinstance(exc, google.auth.exceptions.RefreshError):
        # RefreshError's first argument is Google's "error: description" text.
        text = str(exc.args[0]) if exc.args else type(exc).__name__
        return Problem("auth", f"token endpoint refused: {text[:160]}")
    if isinstance(exc, google.auth.exceptions.TransportError):
        return Problem(
            "transient", f"token endpoint unreachable ({type(exc).__name__})"
        )
    if isinstance(exc, (httplib2.HttpLib2Error, OSError)):
        return Problem("transient", f"connection failed ({type(exc).__name__})")
    return None


class Backoff:
    """Delays between attempts: the server's word if it gave one, else exponential."""

    def __init__(self, base: float, cap: float, *, seed: int | None = None) -> None:
        self.base = base
        self.cap = cap
        self._rng = random.Random(seed)  # noqa: S311 (jitter, not cryptography)

    def delay(self, attempt: int, problem: Problem) -> float:
        """Seconds to wait before attempt ``attempt + 1``; ``attempt`` is 1-based."""
        if problem.retry_after is not None:
            return min(problem.retry_after, _MAX_SERVER_WAIT)
        ceiling = min(self.cap, self.base * 2 ** (attempt - 1))
        return self._rng.uniform(ceiling / 2, ceiling)
