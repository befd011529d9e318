"""The HTTP session the framework hands to httpx-based connectors.

It paces requests with a :class:`RateLimiter`, retries what is worth retrying (429
with ``Retry-After``, 5xx, timeouts, dropped connections) with capped exponential
backoff and jitter, and never puts a query string (which may carry a token) into a
log line or an error.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from evermuse_connectors.connector._ratelimit import RateLimit, RateLimiter
from evermuse_connectors.errors import SourceAuthError, SourceError

__all__ = ["HttpSession", "RetryPolicy", "parse_retry_after", "redact_url"]

logger = logging.getLogger(__name__)


class _RedactRequestUrls(logging.Filter):
    """httpx logs each request's full URL at INFO; a query string may carry a token
    (Zoom download URLs, pre-signed links), so the logged URL loses it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_url(arg) if isinstance(arg, httpx.URL) else arg
                for arg in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_RedactRequestUrls())


def redact_url(url: httpx.URL | str) -> str:
    """The URL without query string or user info: safe for logs and errors."""
    parsed = httpx.URL(str(url))
    query = "?[redacted]" if parsed.query else ""
    return f"{parsed.scheme}://{parsed.host}{_port(parsed)}{parsed.path}{query}"


def _port(url: httpx.URL) -> str:
    return f":{url.port}" if url.port else ""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    reference = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, moment.timestamp() - reference)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts, backoff and a total time limit."""

    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    total_seconds: float = 300.0
    retry_statuses: frozenset[int] = field(
        default_factory=lambda: frozenset({429, 500, 502, 503, 504})
    )

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff for the ``attempt``-th retry (1-based)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return rng.uniform(ceiling / 2, ceiling)


@dataclass
class HttpStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0


class HttpSession:
    """An ``httpx.Client`` with pacing and retries. Pass ``transport`` in tests."""

    def __init__(
        self,
        *,
        base_url: str = "",
        rate_limit: RateLimit | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        headers: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self.client = httpx.Client(
            base_url=base_url, timeout=timeout, transport=transport, headers=headers
        )
        self.limiter = RateLimiter(rate_limit, sleep=sleep) if rate_limit else None
        self.retry = retry or RetryPolicy()
        self.stats = HttpStats()
        self._sleep = sleep
        self._rng = random.Random(seed)  # noqa: S311 (jitter, not cryptography)

    def __repr__(self) -> str:
        return f"HttpSession(base_url={redact_url(self.client.base_url)!r})"

    def __enter__(self) -> HttpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send with pacing and retries; raise SourceError when it gives up."""
        deadline = time.monotonic() + self.retry.total_seconds
        attempt = 0
        while True:
            attempt += 1
            if self.limiter:
                self.limiter.acquire()
            self.stats.requests += 1
            wait, problem = self._attempt(method, url, kwargs)
            if problem is None:
                assert isinstance(wait, httpx.Response)
                return wait
            assert isinstance(wait, float)
            if attempt >= self.retry.max_attempts or time.monotonic() + wait > deadline:
                raise SourceError(
                    f"{method} {redact_url(self._full(url))} failed after {attempt} "
                    f"attempt(s): {problem}. The source may be down or rate limiting; "
                    "try again later or lower the source's rate limit."
                )
            self.stats.retries += 1
            logger.warning(
                "%s %s: %s; retry %d in %.1fs",
                method,
                redact_url(self._full(url)),
                problem,
                attempt,
                wait,
            )
            self._sleep(wait)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def _full(self, url: str) -> httpx.URL:
        return (
            self.client.base_url.join(url) if self.client.base_url else httpx.URL(url)
        )

    def _attempt(
        self, method: str, url: str, kwargs: dict[str, Any]
    ) -> tuple[httpx.Response | float, str | None]:
        """One try: the response, or (seconds to wait, what went wrong)."""
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            return self.retry.backoff(1, self._rng), "timed out"
        except httpx.TransportError as exc:
            return self.retry.backoff(
                1, self._rng
            ), f"connection failed ({type(exc).__name__})"
        if response.status_code in (401, 403) and not self._is_rate_limit(response):
            raise SourceAuthError(
                f"{method} {redact_url(response.request.url)} was refused with "
                f"{response.status_code}: check the source's credentials and scopes",
                status=response.status_code,
            )
        if response.status_code not in self.retry.retry_statuses:
            return response, None
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if response.status_code == 429:
            self.stats.rate_limited += 1
            wait = retry_after if retry_after is not None else self.retry.backoff_base
            if self.limiter:
                self.limiter.pause(wait)
        else:
            wait = (
                retry_after
                if retry_after is not None
                else self.retry.backoff(self.stats.retries + 1, self._rng)
            )
        return wait, f"HTTP {response.status_code}"

    @staticmethod
    def _is_rate_limit(response: httpx.Response) -> bool:
        return response.status_code == 403 and "rateLimitExceeded" in response.text
