"""The fake Slack Web API: real HTTP on 127.0.0.1, ``/api/<method>``.

It answers as Slack does: GET or POST, arguments in the query string or the body
(form-encoded, as slack_sdk sends them, or JSON), the token as ``Authorization:
Bearer`` or a ``token`` argument, ``{"ok": false, "error": ...}`` with HTTP 200 for
refusals, and 429 with ``Retry-After`` (whole seconds) and ``ratelimited`` when a
method's rate limit is exceeded. Every request is counted per method.

Files are served where their ``url_private``/``url_private_download`` say
(``/files-pri/<team>-<file>/...``, the server's own address in place of
files.slack.com): the bytes with the Bearer token of an app holding
``files:read``, otherwise 200 with an HTML sign-in page, as Slack does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from evermuse_connectors.connector import FakeSource
from evermuse_slack.fake._export import write_export
from evermuse_slack.fake._files import file_bytes, rebased
from evermuse_slack.fake._generate import generate_workspace
from evermuse_slack.fake._methods import Faults, SlackFail, SlackMethods
from evermuse_slack.fake._workspace import Workspace

__all__ = ["FAST_RATES", "TOKEN_ENV", "FakeSlack"]

FAST_RATES = {
    "tier2_per_minute": 60_000.0,
    "tier3_per_minute": 60_000.0,
    "tier4_per_minute": 60_000.0,
    "limited_per_minute": 60_000.0,
    "file_downloads_per_minute": 60_000.0,
}
_SIGN_IN = (
    b'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    b"<title>Sign in | Slack</title></head><body><h1>Sign in to your workspace"
    b'</h1><form action="/signin" method="post"></form></body></html>'
)
TOKEN_ENV = "EVERMUSE_FAKE_SLACK_TOKEN"  # noqa: S105 (the variable's name)


class _Bucket:
    """A token bucket: ``requests`` per ``per_seconds``, ``burst`` at once."""

    def __init__(self, requests: float, per_seconds: float, burst: int) -> None:
        self.rate = requests / per_seconds
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.at = time.monotonic()

    def take(self) -> float:
        """0 if a request may pass now, else the seconds until one may."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class FakeSlack(FakeSource):
    """A running fake Slack workspace; see the module docstring for the rules."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        token: str,
        email_scope: bool = True,
        limited: bool = False,
        files_scope: bool = True,
    ) -> None:
        self.workspace = workspace
        self.token = token
        self.files_scope = files_scope
        self.faults = Faults()
        # File ids of every download request, in arrival order.
        self.downloads: list[str] = []
        self.calls: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()
        # (monotonic time, method, arguments without the token), in arrival order.
        self.requests: list[tuple[float, str, dict[str, str]]] = []
        self.methods = SlackMethods(
            workspace,
            self.faults,
            email_scope=email_scope,
            limited=limited,
            files_scope=files_scope,
        )
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}/"
        self.settings: dict[str, Any] = {
            "base_url": f"{self.url}api/",
            "token_env": TOKEN_ENV,
            # The fake enforces no limits unless set_rate_limit is called, so a
            # source pointed at it need not wait the way Slack's tiers require.
            "rates": dict(FAST_RATES),
        }
        self.environ = {TOKEN_ENV: token}
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # so that stop() returns at once
            name="fake-slack",
            daemon=True,
        )

    def __repr__(self) -> str:
        return f"FakeSlack(url={self.url!r}, team={self.workspace.team_id!r})"

    @classmethod
    def start(
        cls,
        *,
        seed: int,
        now: datetime,
        days: int = 14,
        threads_per_day: int = 20,
        big_channel_messages: int = 0,
        email_scope: bool = True,
        limited: bool = False,
        files_scope: bool = True,
    ) -> FakeSlack:
        """Generate a workspace and serve it; ``stop()`` (or ``with``) ends it."""
        workspace = generate_workspace(
            seed,
            now,
            days=days,
            threads_per_day=threads_per_day,
            big_channel_messages=big_channel_messages,
        )
        digest = hashlib.sha256(f"fake-slack-{seed}".encode()).hexdigest()
        token = f"xoxb-{seed}-{digest[:12]}-{digest[12:36]}"
        fake = cls(
            workspace,
            token=token,
            email_scope=email_scope,
            limited=limited,
            files_scope=files_scope,
        )
        fake._thread.start()
        return fake

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def set_rate_limit(
        self, method: str, requests: float, per_seconds: float = 60.0, *, burst: int = 2
    ) -> None:
        """Answer 429 once ``method`` goes over this rate (per the whole fake)."""
        with self._lock:
            self._buckets[method] = _Bucket(requests, per_seconds, burst)

    def set_files_scope(self, granted: bool) -> None:
        """Grant or withdraw the app's ``files:read`` (downloads and files.info)."""
        with self._lock:
            self.files_scope = granted
            self.methods.files_scope = granted

    def write_export(self, path: str | Path) -> Path:
        """Write the workspace as Slack's export zip (for the export path)."""
        with self._lock:
            return write_export(self.workspace, Path(path))

    def reset_counts(self) -> None:
        with self._lock:
            self.calls.clear()
            self.rate_limited.clear()
            self.requests.clear()
            self.downloads.clear()

    def drop(self, method: str) -> bool:
        """Whether to hang up on this request without answering (a fault)."""
        with self._lock:
            if self.faults.dropped.get(method, 0) > 0:
                self.faults.dropped[method] -= 1
                self.calls[method] += 1
                return True
            return False

    def handle(
        self, method: str, params: dict[str, str], authorization: str
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """The status, extra headers and JSON body for one request."""
        with self._lock:
            self.calls[method] += 1
            shown = {k: v for k, v in params.items() if k != "token"}
            self.requests.append((time.monotonic(), method, shown))
            serve = self.methods.table.get(method)
            if serve is None:
                return (
                    200,
                    {},
                    {"ok": False, "error": "unknown_method", "req_method": method},
                )
            refusal = self._auth(authorization, params)
            if refusal:
                return 200, {}, {"ok": False, "error": refusal}
            wait = self._throttle(method)
            if wait:
                self.rate_limited[method] += 1
                return (
                    429,
                    {"Retry-After": str(wait)},
                    {"ok": False, "error": "ratelimited"},
                )
            if self.faults.server_errors.get(method, 0) > 0:
                self.faults.server_errors[method] -= 1
                return 500, {}, {"ok": False, "error": "internal_error"}
            try:
                return 200, {}, self._rebased(serve(params))
            except SlackFail as fail:
                return 200, {}, {"ok": False, "error": fail.error, **fail.extra}

    def _rebased(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body with file links on this server instead of files.slack.com."""
        messages = body.get("messages")
        if isinstance(messages, list) and any("files" in m for m in messages):
            body = {**body, "messages": [self._rebased_message(m) for m in messages]}
        if isinstance(body.get("file"), dict):
            body = {**body, "file": rebased(body["file"], self.url)}
        return body

    def _rebased_message(self, message: dict[str, Any]) -> dict[str, Any]:
        files = message.get("files")
        if not isinstance(files, list):
            return message
        return {**message, "files": [rebased(f, self.url) for f in files]}

    def download(self, path: str, authorization: str) -> _Download:
        """What to answer a request for a file's URL."""
        fid = path.split("/")[2].rpartition("-")[2] if path.count("/") >= 3 else ""
        with self._lock:
            self.calls["files.download"] += 1
            self.downloads.append(fid)
            target = self.faults.redirects.pop(fid, None)
            if target is not None:
                return _Download(302, "text/html", b"", {"Location": target})
            if self._auth(authorization, {}) or not self.files_scope:
                # Slack's answer to a missing, wrong or under-scoped token.
                return _Download(200, "text/html; charset=utf-8", _SIGN_IN)
            statuses = self.faults.download_statuses.get(fid)
            if statuses:
                status = statuses.pop(0)
                headers = {"Retry-After": str(self.faults.retry_after)}
                return _Download(status, "text/plain", b"try again", headers)
            file = self.workspace.file(fid)
            if file is None:
                return _Download(404, "text/html; charset=utf-8", b"<p>Not found</p>")
            size = self.faults.served_sizes.get(fid, int(file.get("size") or 0))
            cut = self.faults.cut_downloads.get(fid, 0) > 0
            if cut:
                self.faults.cut_downloads[fid] -= 1
        name = str(file.get("name") or fid)
        return _Download(
            200,
            str(file.get("mimetype") or "application/octet-stream"),
            file_bytes(fid, size, str(file.get("mimetype") or "")),
            {"Content-Disposition": _disposition(name)},
            length=size,
            cut=cut,
        )

    def _auth(self, authorization: str, params: dict[str, str]) -> str | None:
        scheme, _, value = authorization.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else params.get("token", "")
        if not token:
            return "not_authed"
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return "invalid_auth"
        return None

    def _throttle(self, method: str) -> int:
        if self.faults.rate_limited.get(method, 0) > 0:
            self.faults.rate_limited[method] -= 1
            return max(1, self.faults.retry_after)
        bucket = self._buckets.get(method)
        if bucket is None:
            return 0
        wait = bucket.take()
        return max(1, math.ceil(wait)) if wait > 0 else 0


def _handler_for(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "FakeSlack/1.0"

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test output is no place for an access log."""

        def _serve(self) -> None:
            url = urlsplit(self.path)
            if url.path.startswith("/files-pri/"):
                self._send_file(
                    fake.download(url.path, self.headers.get("Authorization", ""))
                )
                return
            if not url.path.startswith("/api/"):
                self._send(404, {}, {"ok": False, "error": "unknown_method"})
                return
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            params.update(self._body())
            if fake.drop(url.path[len("/api/") :]):
                self.close_connection = True
                return
            status, headers, body = fake.handle(
                url.path[len("/api/") :], params, self.headers.get("Authorization", "")
            )
            self._send(status, headers, body)

        def _send_file(self, answer: _Download) -> None:
            body = answer.body
            length = len(body) if isinstance(body, bytes) else answer.length or 0
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(length))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if isinstance(body, bytes):
                self.wfile.write(body)
                return
            sent = 0
            try:
                for piece in body:
                    if answer.cut and sent + len(piece) > length // 2:
                        self.wfile.write(piece[: length // 2 - sent])
                        self.close_connection = True
                        return
                    self.wfile.write(piece)
                    sent += len(piece)
            except (BrokenPipeError, ConnectionResetError):
                # The client stopped reading (a file over its limit): as Slack,
                # the server just ends the connection.
                self.close_connection = True

        def _body(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if kind == "application/json" and raw:
                try:
                    loaded = json.loads(raw)
                except ValueError:
                    return {}
                return {str(k): _as_form(v) for k, v in dict(loaded).items()}
            return dict(
                parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
            )

        def _send(
            self, status: int, headers: dict[str, str], body: dict[str, Any]
        ) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


@dataclass
class _Download:
    """The answer to a file request: bytes whole, or pieces of ``length`` bytes."""

    status: int
    content_type: str
    body: bytes | Iterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None
    cut: bool = False  # send half the body, then hang up


def _disposition(name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "'")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def _as_form(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
