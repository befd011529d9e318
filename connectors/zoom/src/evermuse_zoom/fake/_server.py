"""A fake of Zoom's API on 127.0.0.1, as strict as the real one where it matters.

It serves the Server-to-Server OAuth token endpoint, the recordings listings (per
user and per account, with Zoom's one-month range limit and expiring
``next_page_token``\\s), one meeting's recordings with a ``download_access_token``,
past-meeting participants, the user list, and file downloads that need a token and
redirect to signed storage URLs. Errors have Zoom's shape, ``{"code", "message"}``.
Tests can make it answer 429, expire tokens, and read what it was asked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from evermuse_zoom.fake._data import FakeMeeting
from evermuse_zoom.fake._protocol import (
    Reply,
    Seen,
    State,
    date_param,
    int_param,
    longer_than_a_month,
    meeting_id,
    one,
)

__all__ = ["FakeZoomServer"]

_MAX_TTL = 604800
_CONTENT_TYPES = {
    "MP4": "video/mp4",
    "M4A": "audio/mp4",
    "VTT": "text/vtt",
    "TXT": "text/plain",
    "JSON": "application/json",
}


class FakeZoomServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: State, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


# -- helpers shared by the routes ------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY a keep-alive
    # client waits out the delayed-ACK timer (~40 ms) on every response.
    disable_nagle_algorithm = True
    server: FakeZoomServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: pytest treats stray output as noise

    # -- dispatch ------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        state = self.server.state
        route, handler, label = self._route(method, split.path)
        with state.lock:
            state.calls[route] += 1
            fault = next(
                (f for f in state.faults if split.path.startswith(f.prefix)), None
            )
            if fault is not None:
                state.faults.remove(fault)
        try:
            if fault is not None:
                headers = (
                    {"Retry-After": fault.retry_after} if fault.retry_after else {}
                )
                raise Reply(
                    fault.status,
                    429 if fault.status == 429 else fault.status,
                    "You have reached the maximum per-second rate limit for this API. "
                    "Try again later.",
                    headers,
                )
            self._check_rate(label)
            if handler is None:
                raise Reply(404, 404, "Not found.")
            status = handler(self, split.path, query, method)
        except Reply as reply:
            status = reply.status
            self._json(reply.status, reply.body, reply.headers, head=method == "HEAD")
        except Exception as exc:  # a bug in the fake: answer as Zoom's 500 would
            status = 500
            self._json(500, {"code": 500, "message": f"fake error: {exc!r}"})
        # Download URLs carry tokens in the query: only API queries are kept.
        kept = (
            {k: v[0] for k, v in query.items()} if split.path.startswith("/v2/") else {}
        )
        with state.lock:
            state.seen.append(
                Seen(time.monotonic(), method, route, split.path, status, kept)
            )

    def _route(
        self, method: str, path: str
    ) -> tuple[str, Callable[..., int] | None, str | None]:
        for verb, pattern, name, label, handler in _ROUTES:
            if method in verb and re.fullmatch(pattern, path):
                return name, handler, label
        return "unknown", None, None

    def _check_rate(self, label: str | None) -> None:
        state = self.server.state
        limit = state.per_second.get(label or "")
        if not limit:
            return
        with state.lock:
            window = state.recent.setdefault(label or "", deque())
            now = time.monotonic()
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                raise Reply(
                    429,
                    429,
                    "You have reached the maximum per-second rate limit for this API. "
                    "Try again later.",
                    {"Retry-After": "1", "X-RateLimit-Category": label or ""},
                )
            window.append(now)

    # -- answering -----------------------------------------------------------------

    def _json(
        self,
        status: int,
        body: object,
        headers: dict[str, str] | None = None,
        *,
        head: bool = False,
    ) -> int:
        data = json.dumps(body, ensure_ascii=False).encode()
        return self._bytes(
            status, data, "application/json;charset=UTF-8", headers, head=head
        )

    def _bytes(
        self,
        status: int,
        data: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        *,
        head: bool = False,
    ) -> int:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(data)
        return status

    def _bearer(self) -> str | None:
        value = self.headers.get("Authorization") or ""
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def _require_token(self) -> None:
        state = self.server.state
        token = self._bearer()
        with state.lock:
            expiry = state.tokens.get(token or "")
        if expiry is None:
            raise Reply(401, 124, "Invalid access token.")
        if time.monotonic() >= expiry:
            raise Reply(401, 124, "Access token is expired.")

    # -- OAuth ---------------------------------------------------------------------

    def _token(self, path: str, query: dict[str, list[str]], method: str) -> int:
        state = self.server.state
        scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
        try:
            pair = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            pair = ""
        expected = f"{state.client_id}:{state.client_secret}"
        if scheme.lower() != "basic" or not hmac.compare_digest(pair, expected):
            return self._json(
                401,
                {
                    "reason": "Invalid client_id or client_secret",
                    "error": "invalid_client",
                },
            )
        if one(query, "grant_type") != "account_credentials":
            return self._json(
                400,
                {"reason": "Unsupported grant type", "error": "unsupported_grant_type"},
            )
        if one(query, "account_id") != state.account.id:
            return self._json(
                400, {"reason": "Invalid account_id", "error": "invalid_request"}
            )
        token = "eyJ" + secrets.token_urlsafe(48)
        with state.lock:
            state.tokens[token] = time.monotonic() + state.token_ttl
            state.issued.append(token)
        return self._json(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": int(state.token_ttl) if state.token_ttl >= 1 else 1,
                "scope": "recording:read:admin user:read:admin meeting:read:admin",
                "api_url": self.server.url,
            },
        )

    # -- listings ------------------------------------------------------------------

    def _page(
        self,
        query: dict[str, list[str]],
        listing: str,
        entries: list[dict[str, Any]],
        key: str,
        default_size: int = 30,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """One page of ``entries`` and the paging fields of the answer."""
        state = self.server.state
        size = int_param(query, "page_size", default_size, 1, 300)
        offset = 0
        token = one(query, "next_page_token")
        if token:
            with state.lock:
                held = state.page_tokens.get(token)
            if (
                held is None
                or held[0] != listing
                or time.monotonic() - held[2] > state.page_token_ttl
            ):
                raise Reply(400, 300, "The next page token is invalid or expired.")
            offset = held[1]
        page = entries[offset : offset + size]
        following = ""
        if offset + size < len(entries):
            following = secrets.token_urlsafe(24)
            if state.repeat_page_tokens and token:
                following = token  # a misbehaving server: clients must not loop
            with state.lock:
                state.page_tokens[following] = (
                    listing,
                    offset + size,
                    time.monotonic(),
                )
        return page, {
            "page_count": max(1, -(-len(entries) // size)),
            "page_size": size,
            "total_records": len(entries),
            "next_page_token": following,
            key: page,
        }

    def _recordings(
        self, query: dict[str, list[str]], listing: str, meetings: list[FakeMeeting]
    ) -> int:
        state = self.server.state
        today = state.now.astimezone(UTC).date()
        start = date_param(query, "from", today)
        end = date_param(query, "to", start + timedelta(days=1))
        if end < start:
            raise Reply(400, 300, "The to date must be on or after the from date.")
        if longer_than_a_month(start, end):
            raise Reply(400, 300, "The date range can not exceed one month.")
        if (one(query, "trash") or "false") == "true":
            meetings = []
        chosen = [
            m.to_json(self.server.url, state.account.id)
            for m in meetings
            if start <= m.start.astimezone(UTC).date() <= end
        ]
        listing += f"|{start}|{end}"
        _, body = self._page(query, listing, chosen, "meetings")
        return self._json(
            200, {"from": start.isoformat(), "to": end.isoformat(), **body}
        )

    def _user_recordings(
        self, path: str, query: dict[str, list[str]], method: str
    ) -> int:
        self._require_token()
        wanted = unquote(path.split("/")[3]).lower()
        user = next(
            (
                u
                for u in self.server.state.account.users
                if wanted in (u.id.lower(), u.email)
            ),
            None,
        )
        if user is None:
            raise Reply(404, 1001, f"User does not exist: {wanted}.")
        meetings = [m for m in self.server.state.account.meetings if m.host is user]
        return self._recordings(query, f"user:{user.id}", meetings)

    def _account_recordings(
        self, path: str, query: dict[str, list[str]], method: str
    ) -> int:
        self._require_token()
        account = unquote(path.split("/")[3])
        if account not in ("me", self.server.state.account.id):
            raise Reply(404, 2001, f"Account does not exist: {account}.")
        return self._recordings(query, "account", self.server.state.account.meetings)

    def _users(self, path: str, query: dict[str, list[str]], method: str) -> int:
        self._require_token()
        status = one(query, "status") or "active"
        if status not in ("active", "inactive", "pending"):
            raise Reply(400, 300, "Invalid field: status.")
        chosen = [
            u.to_json() for u in self.server.state.account.users if u.status == status
        ]
        _, body = self._page(query, f"users:{status}", chosen, "users")
        return self._json(200, body)

    # -- one meeting ---------------------------------------------------------------

    def _find(self, segment: str) -> FakeMeeting | None:
        wanted = meeting_id(segment)
        meetings = self.server.state.account.meetings
        by_uuid = next((m for m in meetings if m.uuid == wanted), None)
        if by_uuid is not None or not wanted.isdigit():
            return by_uuid
        # A meeting number names its latest instance.
        return next((m for m in meetings if m.number == int(wanted)), None)

    def _meeting_recordings(
        self, path: str, query: dict[str, list[str]], method: str
    ) -> int:
        self._require_token()
        state = self.server.state
        meeting = self._find(path.split("/")[3])
        if meeting is None:
            raise Reply(404, 3301, "There is no recording for this meeting.")
        body = meeting.to_json(self.server.url, state.account.id)
        fields = (one(query, "include_fields") or "").split(",")
        if "ttl" in query and "download_access_token" not in fields:
            raise Reply(400, 300, "Invalid field: ttl.")
        if "download_access_token" in fields:
            ttl = int_param(query, "ttl", 86400, 0, _MAX_TTL) or 86400
            token = self._download_token(meeting)
            with state.lock:
                state.download_tokens[token] = time.monotonic() + ttl
            body["download_access_token"] = token
        body["password"] = "fake-passcode"  # noqa: S105 (fake data)
        body["recording_play_passcode"] = "fake-play-passcode"
        return self._json(200, body)

    def _download_token(self, meeting: FakeMeeting) -> str:
        # Deterministic per meeting (so records from the same seed are equal, byte
        # for byte); Zoom's are JWTs, opaque to the client either way.
        digest = hmac.new(
            self.server.state.signing_key, meeting.uuid.encode(), hashlib.sha256
        ).digest()
        return "eyJkl." + base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def _participants(self, path: str, query: dict[str, list[str]], method: str) -> int:
        self._require_token()
        meeting = self._find(path.split("/")[3])
        if meeting is None or meeting.participants_gone:
            raise Reply(404, 3001, "Meeting does not exist.")
        _, body = self._page(
            query, f"participants:{meeting.uuid}", meeting.participants, "participants"
        )
        return self._json(200, body)

    # -- files ---------------------------------------------------------------------

    def _download(self, path: str, query: dict[str, list[str]], method: str) -> int:
        state = self.server.state
        key = path.rsplit("/", 1)[1]
        found = state.account.files.get(key)
        if found is None:
            raise Reply(404, 3301, "File does not exist.")
        meeting, _ = found
        if not self._may_download(meeting, one(query, "access_token")):
            raise Reply(401, 124, "Invalid access token.")
        if not state.redirect_downloads:
            return self._file(key, method)
        expires = int(time.time()) + 600
        signature = self._signature(key, expires)
        location = (
            f"{self.server.url}/rec/storage/{key}"
            f"?expires={expires}&signature={signature}"
        )
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return 302

    def _may_download(self, meeting: FakeMeeting, query_token: str | None) -> bool:
        state = self.server.state
        now = time.monotonic()
        with state.lock:
            for token in (query_token, self._bearer()):
                if not token:
                    continue
                if state.tokens.get(token, 0) > now:
                    return True  # the API's own access token works too
                if (
                    token == self._download_token(meeting)
                    and state.download_tokens.get(token, 0) > now
                ):
                    return True
        return False

    def _signature(self, key: str, expires: int) -> str:
        message = f"{key}:{expires}".encode()
        return hmac.new(
            self.server.state.signing_key, message, hashlib.sha256
        ).hexdigest()

    def _storage(self, path: str, query: dict[str, list[str]], method: str) -> int:
        key = path.rsplit("/", 1)[1]
        expires = one(query, "expires") or ""
        given = one(query, "signature") or ""
        if (
            not expires.isdigit()
            or int(expires) < time.time()
            or not hmac.compare_digest(given, self._signature(key, int(expires)))
        ):
            return self._bytes(
                403,
                b"<Error>AccessDenied</Error>",
                "application/xml",
                head=method == "HEAD",
            )
        return self._file(key, method)

    def _file(self, key: str, method: str) -> int:
        _, file = self.server.state.account.files[key]
        body = file.body()
        ext = file.file_extension.lower()
        return self._bytes(
            200,
            body,
            _CONTENT_TYPES.get(file.file_extension, "application/octet-stream"),
            {"Content-Disposition": f'attachment; filename="{file.id or key}.{ext}"'},
            head=method == "HEAD",
        )


_ROUTES: list[tuple[tuple[str, ...], str, str, str | None, Callable[..., int]]] = [
    (("POST",), r"/oauth/token", "oauth.token", None, _Handler._token),
    (("GET",), r"/v2/users", "users.list", "medium", _Handler._users),
    (
        ("GET",),
        r"/v2/users/[^/]+/recordings",
        "users.recordings",
        "medium",
        _Handler._user_recordings,
    ),
    (
        ("GET",),
        r"/v2/accounts/[^/]+/recordings",
        "accounts.recordings",
        "medium",
        _Handler._account_recordings,
    ),
    (
        ("GET",),
        r"/v2/meetings/[^/]+/recordings",
        "meetings.recordings",
        "light",
        _Handler._meeting_recordings,
    ),
    (
        ("GET",),
        r"/v2/past_meetings/[^/]+/participants",
        "past_meetings.participants",
        "medium",
        _Handler._participants,
    ),
    (
        ("GET", "HEAD"),
        r"/rec/download/[^/]+",
        "recording.download",
        None,
        _Handler._download,
    ),
    (
        ("GET", "HEAD"),
        r"/rec/storage/[^/]+",
        "recording.storage",
        None,
        _Handler._storage,
    ),
]
