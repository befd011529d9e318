"""The per-request decisions behind :class:`Faults`."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from evermuse_connectors.emulator._config import Faults

__all__ = ["Decision", "FaultPlan"]


@dataclass(frozen=True)
class Decision:
    """What one ingest request will suffer."""

    rate_limited: bool = False
    error_500: bool = False
    drop_after_store: bool = False
    fail_batch: bool = False


class FaultPlan:
    """Draws a :class:`Decision` per ingest request, reproducibly for a seed."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._faults = faults
        self._rng = random.Random(faults.seed)  # noqa: S311 - not for security
        self._count = 0

    @property
    def faults(self) -> Faults:
        return self._faults

    def replace(self, faults: Faults) -> None:
        """Switch to ``faults`` and start their sequence from the beginning."""
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)  # noqa: S311 - not for security
            self._count = 0

    def decide(self) -> Decision:
        with self._lock:
            faults = self._faults
            self._count += 1
            # Three numbers on every request, whichever faults are on, so the same
            # seed gives the same sequence of decisions for each fault.
            draw_500, draw_drop, draw_fail = (self._rng.random() for _ in range(3))
            every = faults.rate_limit_every
            return Decision(
                rate_limited=every > 0 and self._count % every == 0,
                error_500=draw_500 < faults.error_500_ratio,
                drop_after_store=draw_drop < faults.drop_after_store_ratio,
                fail_batch=draw_fail < faults.fail_batch_ratio,
            )
