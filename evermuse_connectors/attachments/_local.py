"""The local attachment store: files in a folder, links served on loopback.

For the demo and development only. A link works while some process serves the
folder: a store started on port 0 serves until it is closed; with a fixed port,
the first process to bind it serves for every process that shares the folder and
secret, and the others reuse it.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx

from evermuse_connectors.attachments._config import (
    DEFAULT_TTL_SECONDS,
    LocalStoreConfig,
)
from evermuse_connectors.attachments._errors import AttachmentStoreError
from evermuse_connectors.attachments._local_server import STORE_ID_PATH, FileServer
from evermuse_connectors.attachments._signing import load_secret
from evermuse_connectors.attachments._spool import Spooled
from evermuse_connectors.attachments._store import AttachmentStore
from evermuse_connectors.errors import ConfigError

__all__ = ["LocalAttachmentStore", "serve_local_store"]

logger = logging.getLogger(__name__)

_SPOOL = ".tmp"


class LocalAttachmentStore(AttachmentStore):
    """Files under ``folder`` by key, served by a small HTTP server on loopback."""

    def __init__(
        self,
        config: LocalStoreConfig | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or LocalStoreConfig()
        super().__init__(ttl_seconds=self.config.ttl_seconds, clock=clock)
        self.folder = Path(self.config.folder).expanduser().resolve()
        self._signer = load_secret(self.folder, self.config.secret_env, environ)
        self._server: FileServer | None = None
        self._base: str | None = None
        self._start_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalAttachmentStore(folder={str(self.folder)!r})"

    @property
    def url(self) -> str:
        """The server's base URL (the server starts if it has not)."""
        return self.start()

    def start(self) -> str:
        """Serve the folder (or find the process that serves it); the base URL."""
        with self._start_lock:
            if self._base is None:
                self._base = self._serve()
            return self._base

    def close(self) -> None:
        with self._start_lock:
            if self._server is not None:
                self._server.stop()
            self._server, self._base = None, None

    def _serve(self) -> str:
        host, port = self.config.host, self.config.port
        try:
            self._server = FileServer(
                self.folder, self._signer, host=host, port=port, clock=self._clock
            )
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or port == 0:
                raise ConfigError(
                    f"cannot serve attachments on {host}:{port} ({exc.strerror}); "
                    "choose another host or port (0 picks a free one)"
                ) from None
            return self._join(host, port)
        base = _base_url(host, self._server.port)
        logger.info("serving attachments of %s at %s", self.folder, base)
        return base

    def _join(self, host: str, port: int) -> str:
        # The port is taken: by this store's twin in another process (fine, its
        # links verify with the same secret), or by something else (a mistake).
        base = _base_url(host, port)
        try:
            answer = httpx.get(base + STORE_ID_PATH, timeout=5.0, trust_env=False)
            same = answer.status_code == 200
            same = same and answer.text.strip() == self._signer.store_id(self.folder)
        except httpx.HTTPError:
            same = False
        if not same:
            raise ConfigError(
                f"port {port} on {host} is taken by another server, not one serving "
                f"{self.folder} with the same secret; choose another port, or 0"
            )
        logger.info(
            "attachments of %s are served by another process at %s", self.folder, base
        )
        return base

    def _spool_folder(self) -> Path:
        spool = self.folder / _SPOOL
        try:
            spool.mkdir(parents=True, exist_ok=True)
        except PermissionError as exc:
            raise ConfigError(
                f"cannot write to the attachment folder {self.folder} "
                f"({exc.strerror}); make it writable or configure another folder"
            ) from None
        return spool

    def _exists(self, key: str) -> bool:
        return (self.folder / key).is_file()

    def _keep(self, file: Spooled, key: str, mime_type: str) -> None:
        # A rename within one file system is atomic: a reader sees the whole file
        # or none, and two processes storing the same bytes both end up right.
        target = self.folder / key
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(file.path, target)
        except OSError as exc:
            raise AttachmentStoreError(
                f"cannot store sha256:{file.sha256} in {self.folder} "
                f"({exc.strerror}); check the disk's space and the folder's rights"
            ) from None

    def _signed(self, key: str, filename: str, mime_type: str) -> tuple[str, datetime]:
        base = self.start()
        expires, expires_at = self._expiry()
        signature = self._signer.sign(key, expires, mime_type, filename)
        query = urllib.parse.urlencode(
            {"expires": expires, "type": mime_type, "name": filename, "sig": signature},
            quote_via=urllib.parse.quote,
        )
        path = urllib.parse.quote(key, safe="/")
        return f"{base}/files/{path}?{query}", expires_at


def _base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@contextmanager
def serve_local_store(
    folder: str | Path, *, ttl_seconds: int = DEFAULT_TTL_SECONDS
) -> Iterator[LocalStoreConfig]:
    """Serve ``folder`` until the block ends, and yield a config naming its port.

    The stores that extract steps build from that config find this server on the
    port and use it, so their links keep working after each step closes its own
    store, until the block ends (the demo and end-to-end tests need that: Evermuse
    downloads after delivery). The port is the one the server got, never one
    probed for and released first, so no other process can take it in between.
    """
    first = LocalStoreConfig(
        folder=str(folder), port=0, secret_env=None, ttl_seconds=ttl_seconds
    )
    with LocalAttachmentStore(first) as keeper:
        port = httpx.URL(keeper.start()).port
        yield first.model_copy(update={"port": port})
