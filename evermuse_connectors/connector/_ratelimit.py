"""Client-side rate limiting: requests per interval, shared by the threads of a sync.

Dagster pools cap how many steps run at once, not how many requests those steps make,
so every source API client paces itself here. The limiter is a GCRA (generic cell
rate algorithm): requests are spaced ``interval / requests`` apart, with an optional
burst allowance, so a sync runs at the allowed rate without ever exceeding it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimit", "RateLimiter"]


@dataclass(frozen=True)
class RateLimit:
    """``requests`` per ``per_seconds``, with up to ``burst`` sent back to back."""

    requests: float
    per_seconds: float = 60.0
    burst: int = 1

    def __post_init__(self) -> None:
        if self.requests <= 0 or self.per_seconds <= 0:
            raise ValueError(
                f"a rate limit needs requests > 0 and per_seconds > 0, got "
                f"{self.requests} per {self.per_seconds}s"
            )
        if self.burst < 1:
            raise ValueError(f"burst must be at least 1, got {self.burst}")

    @property
    def spacing(self) -> float:
        return self.per_seconds / self.requests


class RateLimiter:
    """Blocks in :meth:`acquire` until a request may go out. Thread-safe."""

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tat = clock()  # theoretical arrival time of the next request
        self.waited_seconds = 0.0
        self.acquired = 0

    def acquire(self, cost: float = 1.0) -> float:
        """Reserve ``cost`` requests of the budget; returns the seconds waited."""
        spacing = self.limit.spacing
        tolerance = spacing * (self.limit.burst - 1)
        with self._lock:
            now = self._clock()
            tat = max(self._tat, now)
            start = tat - tolerance
            wait = max(0.0, start - now)
            self._tat = tat + spacing * cost
            self.acquired += 1
            self.waited_seconds += wait
        if wait > 0:
            self._sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` (the server asked us to wait)."""
        with self._lock:
            self._tat = max(self._tat, self._clock() + seconds)
