"""The background walk of every batch: LANDING → LANDED → PROCESSING → COMPLETE."""

from __future__ import annotations

import logging
import threading
import time

from evermuse_connectors.emulator._downloads import Downloader
from evermuse_connectors.emulator._storage import Storage

__all__ = ["BatchWalker"]

logger = logging.getLogger(__name__)


class BatchWalker:
    """Moves due batches one status on, and queues downloads when a batch lands.

    Evermuse downloads attachments "after the batch lands", asynchronously: the
    batch's own status does not wait for them, so a batch may be COMPLETE while its
    attachmentDownloadStatus is still IN_PROGRESS, as a client must expect.
    """

    def __init__(
        self, storage: Storage, downloader: Downloader | None, step_seconds: float
    ) -> None:
        self._storage = storage
        self._downloader = downloader
        self._step = step_seconds
        # Ticks finer than a step keep each status close to step_seconds long,
        # without spinning when steps are long.
        self._tick = min(max(step_seconds / 4, 0.002), 0.25)
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="emulator-batch-walker", daemon=True
        )

    def start(self) -> None:
        resumed = self._storage.resume_open_batches(time.time(), self._step)
        if resumed:
            logger.info("resuming %d batches left open by an earlier run", resumed)
        if self._downloader is not None:
            # Work left by an earlier run on the same file carries on.
            self._storage.restart_interrupted_downloads()
            self._downloader.enqueue(self._storage.pending_downloads())
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.wait(self._tick):
            try:
                self.step()
            except Exception:
                logger.exception("the emulator's batch walker failed a step")

    def step(self) -> None:
        landed = self._storage.advance_due(time.time(), self._step)
        if self._downloader is None:
            return
        for batch_id in landed:
            self._downloader.enqueue(self._storage.pending_downloads(batch_id))
