"""The local store's HTTP server: ``GET /files/<key>?expires=&type=&name=&sig=``.

It answers 403 for a link that is unsigned, tampered with or expired, 404 for a
key that is not stored (checked after the signature, so an unsigned probe learns
nothing), and streams a stored file in pieces with Content-Type, Content-Length and
Content-Disposition. Request lines carry signatures, so the standard library's
access log is silenced and only keys are logged.
"""

from __future__ import annotations

import logging
import shutil
import socket
import threading
import urllib.parse
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from evermuse_connectors.attachments._naming import check_key, content_disposition
from evermuse_connectors.attachments._signing import Signer

__all__ = ["STORE_ID_PATH", "FileServer"]

logger = logging.getLogger(__name__)

STORE_ID_PATH = "/_evermuse/store"
_FILES = "/files/"
_PIECE = 256 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Set by FileServer before serving.
    root: Path
    signer: Signer
    clock: Callable[[], float]
    store_id: str


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        # The default access log prints the request line, signature included.
        return

    def _answer(self, *, send_body: bool) -> None:
        path, _, query = self.path.partition("?")
        if path == STORE_ID_PATH:
            self._text(HTTPStatus.OK, self.server.store_id, send_body)
            return
        key = (
            urllib.parse.unquote(path[len(_FILES) :]) if path.startswith(_FILES) else ""
        )
        try:
            check_key(key)
        except ValueError:
            self._text(HTTPStatus.NOT_FOUND, "no such file", send_body)
            return
        refusal, mime_type, filename = self._check(key, query)
        if refusal:
            logger.debug("refused a link to %s: %s", key.split("/")[1], refusal)
            self._text(HTTPStatus.FORBIDDEN, refusal, send_body)
            return
        self._send_file(key, mime_type, filename, send_body)

    def _check(self, key: str, query: str) -> tuple[str, str, str]:
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        mime_type = params.get("type", "application/octet-stream")
        filename = params.get("name", key.rsplit("/", 1)[-1])
        signature, expires_text = params.get("sig", ""), params.get("expires", "")
        if not signature or not expires_text.isdigit():
            return "the link is not signed", mime_type, filename
        expires = int(expires_text)
        signer = self.server.signer
        if not signer.verify(key, expires, mime_type, filename, signature):
            return "the link's signature does not match", mime_type, filename
        if expires < self.server.clock():
            return "the link has expired", mime_type, filename
        return "", mime_type, filename

    def _send_file(
        self, key: str, mime_type: str, filename: str, send_body: bool
    ) -> None:
        try:
            handle = (self.server.root / key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            self._text(HTTPStatus.NOT_FOUND, "no such file", send_body)
            return
        with handle:
            size = handle.seek(0, 2)
            handle.seek(0)
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", mime_type)
            self.send_header("Content-Length", str(size))
            self.send_header("Content-Disposition", content_disposition(filename))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "private, no-transform")
            self.end_headers()
            if send_body:
                self._stream(handle, key)

    def _stream(self, handle: Any, key: str) -> None:
        try:
            shutil.copyfileobj(handle, self.wfile, _PIECE)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("the client went away while %s was sent", key.split("/")[1])
            self.close_connection = True

    def _text(self, status: HTTPStatus, text: str, send_body: bool) -> None:
        body = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


class FileServer:
    """A threaded HTTP server over one store folder, run in a background thread."""

    def __init__(
        self,
        root: Path,
        signer: Signer,
        *,
        host: str,
        port: int,
        clock: Callable[[], float],
    ) -> None:
        server_class = _Server6 if ":" in host else _Server
        # Raises OSError when the port is taken; the store decides what that means.
        self._server = server_class((host, port), _Handler)
        self._server.root = root
        self._server.signer = signer
        self._server.clock = clock
        self._server.store_id = signer.store_id(root)
        # A short poll interval: stop() waits for the loop to notice the shutdown.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(0.05,),
            name=f"attachment-server-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
