"""HTTP/1.1 plumbing: a threaded server, keep-alive, bodies read with a cap.

A body over the 5 MB limit is still read (and thrown away) up to a bound before the
413 goes out: a client that is still writing its body when the server closes the
socket sees a reset instead of the answer, and would retry forever.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from evermuse_connectors.emulator._api import Api, Request, Response
from evermuse_connectors.emulator._errors import ApiError
from evermuse_connectors.emulator._validation import MAX_BODY_BYTES

__all__ = ["EmulatorServer"]

logger = logging.getLogger(__name__)

_DRAIN_LIMIT = 64 * 1024 * 1024
_CHUNK = 1024 * 1024
_IDLE_SECONDS = 120


class _BadFraming(Exception):
    """The request's body framing is broken: answer 400 and close."""


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, api: Api) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.api = api
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._idle = threading.Condition(self._open_lock)
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def track(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._idle:
            self._open.discard(connection)
            self._idle.notify_all()

    def close_connections(self, timeout: float) -> None:
        """Shut every kept-alive connection and wait for its thread to finish."""
        with self._idle:
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._idle.wait_for(lambda: not self._open, timeout=timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.exception("the emulator failed a request from %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "EvermuseEmulator/1"
    timeout = _IDLE_SECONDS
    # A buffered writer sends the status line, headers and a small body in one
    # segment; unbuffered, the body trails the headers and Nagle's algorithm
    # meets the client's delayed ACK (40 ms per request).
    wbufsize = 64 * 1024
    server: EmulatorServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line holds nothing secret here (keys travel in a header),
        # but one line per request is too much for INFO.
        logger.debug("%s - " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        try:
            body, size = self._read_body()
        except _BadFraming as exc:
            self._send(_framing_error(str(exc)), close=True)
            return
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=unquote(split.path),
            query=parse_qs(split.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            body_size=size,
        )
        try:
            response = self.server.api.handle(request)
        except Exception:
            logger.exception("the emulator failed on %s %s", self.command, split.path)
            response = _internal_error()
        self._send(response, close=size > _DRAIN_LIMIT)

    def _read_body(self) -> tuple[bytes, int]:
        """The body and its size; past the limit the body is drained, not kept."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        text = self.headers.get("content-length")
        if text is None:
            return b"", 0  # RFC 9112 6.3: no length and no chunking means no body
        if not (text.strip().isascii() and text.strip().isdigit()):
            raise _BadFraming(f"Content-Length must be a number, got {text[:40]!r}")
        length = int(text)
        if length <= MAX_BODY_BYTES:
            body = self.rfile.read(length)
            if len(body) < length:
                raise ConnectionError("the client closed before sending its body")
            return body, length
        self._drain(min(length, _DRAIN_LIMIT))
        return b"", length

    def _drain(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(_CHUNK, length))
            if not chunk:
                raise ConnectionError("the client closed while sending its body")
            length -= len(chunk)

    def _read_chunked(self) -> tuple[bytes, int]:
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                chunk_size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadFraming("a chunk size line of the body is broken") from None
            if chunk_size == 0:
                self._skip_trailers()
                return (b"".join(parts) if size <= MAX_BODY_BYTES else b""), size
            size += chunk_size
            if size > _DRAIN_LIMIT:
                return b"", size
            data = self.rfile.read(chunk_size)
            if len(data) < chunk_size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise ConnectionError("the client closed inside a body chunk")
            if size <= MAX_BODY_BYTES:
                parts.append(data)
            else:
                parts.clear()

    def _skip_trailers(self) -> None:
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass

    def _send(self, response: Response, *, close: bool = False) -> None:
        if response.drop:
            # The ambiguous case: the work is done, the answer never arrives.
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(response.body)
            self.wfile.flush()
        except (ConnectionError, TimeoutError):
            self.close_connection = True


def _framing_error(message: str) -> Response:
    return Response(400, ApiError(400, "invalid_body", message).body())


def _internal_error() -> Response:
    error = ApiError(500, "internal_error", "the emulator failed: see its log")
    return Response(500, error.body())
