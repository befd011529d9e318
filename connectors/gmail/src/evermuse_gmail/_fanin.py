"""Run several producers in threads and yield their output in a fixed order.

Mailboxes are synced concurrently, but a window's raw items must come out in the
same order on every run (the same window gives the same records, byte for byte).
Up to ``concurrency`` producers run at once, each ahead of the consumer by at most
``buffer`` items (so memory stays flat); the consumer takes one item from each
running producer in turn, and a finished producer's slot goes to the next one.
The order depends only on what each producer yields, never on thread timing.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

__all__ = ["fan_in"]

T = TypeVar("T")

_ITEM, _END, _ERROR = "item", "end", "error"


class _Lane(Generic[T]):
    def __init__(
        self, produce: Callable[[], Iterator[T]], stop: threading.Event, buffer: int
    ) -> None:
        self._produce = produce
        self._stop = stop
        self._queue: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=buffer)

    def run(self) -> None:
        try:
            iterator = self._produce()
            for value in iterator:
                if not self._put((_ITEM, value)):
                    close = getattr(iterator, "close", None)
                    if close is not None:
                        close()
                    return
            self._put((_END, None))
        except BaseException as exc:  # handed to the consumer, who re-raises it
            self._put((_ERROR, exc))

    def _put(self, entry: tuple[str, object]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def get(self) -> tuple[str, object]:
        return self._queue.get()


def fan_in(
    producers: Iterable[Callable[[], Iterator[T]]],
    *,
    concurrency: int,
    buffer: int = 2,
    name: str = "fan-in",
) -> Iterator[T]:
    """Everything the producers yield, round-robin over the running ones."""
    stop = threading.Event()
    waiting = iter(producers)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=name) as pool:

        def start() -> _Lane[T] | None:
            produce = next(waiting, None)
            if produce is None:
                return None
            lane: _Lane[T] = _Lane(produce, stop, buffer)
            pool.submit(lane.run)
            return lane

        try:
            lanes = [lane for lane in (start() for _ in range(concurrency)) if lane]
            turn = 0
            while lanes:
                kind, value = lanes[turn].get()
                if kind == _ITEM:
                    yield value  # type: ignore[misc]
                    turn = (turn + 1) % len(lanes)
                    continue
                if kind == _ERROR:
                    assert isinstance(value, BaseException)
                    raise value
                successor = start()
                if successor is None:
                    lanes.pop(turn)
                    turn = turn % len(lanes) if lanes else 0
                else:
                    lanes[turn] = successor
        finally:
            stop.set()
