"""The fake's HTTP server: stdlib ThreadingHTTPServer on 127.0.0.1, port 0."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from evermuse_gmail.fake._api import FakeGmailApi

__all__ = ["FakeServer"]

logger = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Google's front ends allow
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = self.server.api.handle(self.command, self.path, headers, body)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_PATCH = _serve

    def log_message(self, format: str, *args: object) -> None:
        # The request line holds no token (tokens travel in headers), but the
        # default handler writes to stderr; keep it in logging at DEBUG instead.
        logger.debug("fake gmail: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FakeGmailApi


class FakeServer:
    def __init__(self, api: FakeGmailApi) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = api
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-gmail",
            daemon=True,
        )

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
