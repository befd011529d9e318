"""The emulator as a whole: storage, server, batch walker and downloader together."""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import Any

from evermuse_connectors.emulator._api import Api
from evermuse_connectors.emulator._config import EmulatorConfig, Faults
from evermuse_connectors.emulator._downloads import Downloader
from evermuse_connectors.emulator._errors import EmulatorError, EmulatorTimeout
from evermuse_connectors.emulator._faults import FaultPlan
from evermuse_connectors.emulator._lifecycle import BatchWalker
from evermuse_connectors.emulator._server import EmulatorServer
from evermuse_connectors.emulator._storage import Storage
from evermuse_connectors.ingest import is_loopback

__all__ = ["Emulator", "serve"]

logger = logging.getLogger(__name__)


class _Running:
    """The parts that exist between ``start()`` and ``stop()``."""

    def __init__(self, config: EmulatorConfig, plan: FaultPlan) -> None:
        self.storage = Storage(config.db_path)
        self.downloader = (
            Downloader(
                self.storage,
                workers=config.download_workers,
                timeout=config.download_timeout,
                max_bytes=config.max_download_bytes,
            )
            if config.download_attachments
            else None
        )
        self.walker = BatchWalker(self.storage, self.downloader, config.step_seconds)
        self.api = Api(self.storage, plan, config)
        self.server = EmulatorServer(config.host, config.port, self.api)
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="emulator-http",
            daemon=True,
        )


class Emulator:
    """A local Evermuse ingest API on a real socket, backed by a SQLite file.

    ``start()`` returns once the socket listens; everything then runs in daemon
    threads until ``stop()``. Usable as a context manager.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self._plan = FaultPlan(self.config.faults)
        self._running: _Running | None = None

    def __repr__(self) -> str:
        state = self.url if self._running else "stopped"
        return f"Emulator({state}, db={self.config.db_path!r})"

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self._running is not None:
            raise EmulatorError(f"{self!r} is already running: call stop() first")
        running = _Running(self.config, self._plan)
        if running.downloader is not None:
            running.downloader.start()
        running.walker.start()
        running.thread.start()
        self._running = running
        if not is_loopback(self.config.host):
            logger.warning(
                "the emulator listens on %s, beyond this machine: anyone who can "
                "reach it can read and reset its data",
                self.config.host,
            )
        logger.info("Evermuse emulator listening on %s", self.url)

    def stop(self) -> None:
        """Stop serving and close the file; ``start()`` may be called again."""
        running, self._running = self._running, None
        if running is None:
            return
        running.server.shutdown()
        running.server.server_close()
        running.server.close_connections(timeout=5)
        running.thread.join(timeout=5)
        running.walker.stop()
        if running.downloader is not None:
            running.downloader.stop()
        running.storage.close()
        logger.info("Evermuse emulator stopped")

    @property
    def url(self) -> str:
        running = self._need()
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{running.server.port}"

    def set_faults(self, faults: Faults) -> None:
        """Misbehave from now on as ``faults`` say (``Faults()`` stops it)."""
        self._plan.replace(faults)

    @property
    def faults(self) -> Faults:
        return self._plan.faults

    def stats(self) -> dict[str, Any]:
        return self._need().storage.stats()

    def records(self, type: str | None = None) -> list[dict[str, Any]]:
        """The latest version of every stored record (of one ``_type`` if given)."""
        return self._need().storage.records(type)

    def batches(self) -> list[dict[str, Any]]:
        """Every batch's status, newest first, as the batch endpoint shows it."""
        return self._need().storage.all_batches()

    def downloads(self) -> list[dict[str, Any]]:
        """Every attachment download: status, host, size, hashes, reason; no URL."""
        return self._need().storage.downloads()

    def reset(self) -> None:
        self._need().api.reset()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until every batch is COMPLETE or FAILED and its downloads are done.

        With downloads switched off, their PENDING state does not count as work.
        """
        running = self._need()
        deadline = time.monotonic() + timeout
        downloads = running.downloader is not None
        while (left := running.storage.open_work(downloads=downloads)) > 0:
            if time.monotonic() > deadline:
                raise EmulatorTimeout(
                    f"after {timeout}s, {left} batches or downloads are still open: "
                    "wait longer, or lower step_seconds / download_timeout"
                )
            time.sleep(0.01)

    def _need(self) -> _Running:
        if self._running is None:
            raise EmulatorError("the emulator is not running: call start() first")
        return self._running


def serve(config: EmulatorConfig) -> None:
    """Run the emulator in the foreground until Ctrl-C, printing how to reach it."""
    emulator = Emulator(config)
    emulator.start()
    try:
        print(f"Evermuse emulator listening on {emulator.url}", flush=True)
        print(f"  database:        {config.db_path}")
        for key in config.write_keys:
            print(f"  write API key:   {key.get_secret_value()}")
        for key in config.read_keys:
            print(f"  read-only key:   {key.get_secret_value()}")
        print("  read back:       GET /_emulator/records, GET /_emulator/stats")
        print("Press Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
