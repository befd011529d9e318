"""What a test can make the fake do: a per-user quota, and failures on demand."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from evermuse_gmail.fake._errors import ApiError

__all__ = ["UNITS", "Fault", "Faults", "QuotaMeter"]

# Gmail's quota cost per method (threads.* from secondary copies of the table).
UNITS = {
    "users.getProfile": 1,
    "history.list": 2,
    "messages.list": 5,
    "messages.get": 5,
    "messages.attachments.get": 5,
    "threads.list": 10,
    "threads.get": 10,
}


@dataclass
class Fault:
    method: str
    status: int
    reason: str
    remaining: int
    retry_after: str | None = None
    user: str | None = None
    message: str | None = None

    def error(self) -> ApiError:
        headers = (
            {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        )
        message = self.message or {
            429: "Resource has been exhausted (e.g. check quota).",
            403: "User-rate limit exceeded.",
            404: "Requested entity was not found.",
            500: "Backend Error",
            503: "The service is currently unavailable.",
        }.get(self.status, "Injected failure")
        domain = "usageLimits" if "RateLimit" in self.reason else "global"
        return ApiError(
            self.status, self.reason, message, domain=domain, headers=headers
        )


class Faults:
    """Failures queued by tests, consumed by matching calls."""

    def __init__(self) -> None:
        self._queue: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._queue.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def take(self, method: str, user: str | None) -> ApiError | None:
        with self._lock:
            for fault in self._queue:
                if fault.method == method and fault.user in (None, user):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._queue.remove(fault)
                    return fault.error()
        return None


@dataclass
class QuotaMeter:
    """Quota units per user in a sliding window, refusing what would exceed it."""

    units: int
    per_seconds: float
    _spent: dict[str, deque[tuple[float, int]]] = field(default_factory=dict)
    peak: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    exceeded: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def charge(self, user: str, units: int) -> None:
        now = time.monotonic()
        with self._lock:
            spent = self._spent.setdefault(user, deque())
            while spent and spent[0][0] <= now - self.per_seconds:
                spent.popleft()
            used = sum(u for _, u in spent)
            if used + units > self.units:
                self.exceeded += 1
                wait = (
                    spent[0][0] + self.per_seconds - now if spent else self.per_seconds
                )
                until = datetime.now(UTC).timestamp() + max(wait, 0.0)
                stamp = datetime.fromtimestamp(until, UTC).strftime(
                    "%Y-%m-%dT%H:%M:%S.%f"
                )
                raise ApiError(
                    403,
                    "userRateLimitExceeded",
                    f"User-rate limit exceeded.  Retry after {stamp[:-3]}Z",
                    domain="usageLimits",
                )
            spent.append((now, units))
            self.total[user] += units
            self.peak[user] = max(self.peak[user], used + units)
