"""The Zoom REST calls the connector makes, with Zoom's quirks handled here.

- The recordings listings take ``from``/``to`` dates (UTC) spanning at most one
  month, so a long window is read in steps of at most a calendar month.
- Lists page with ``next_page_token``, which expires 15 minutes after it was issued;
  an expired token restarts that listing from page one, skipping what was seen.
- A meeting UUID that starts with ``/`` or contains ``//`` must be URL-encoded twice
  in a path, or Zoom looks up the wrong meeting.
- A 401 means the access token expired or was revoked: fetch a new one, try again.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from evermuse_connectors.connector import (
    ExtractContext,
    HttpSession,
    Window,
    redact_url,
)
from evermuse_connectors.errors import SourceAuthError, SourceError, shorten
from evermuse_zoom._auth import TokenProvider
from evermuse_zoom._config import ZoomConfig, is_safe_url

__all__ = [
    "ListedMeeting",
    "ZoomApiError",
    "ZoomClient",
    "date_steps",
    "encode_uuid",
    "parse_zoom_time",
]

logger = logging.getLogger(__name__)

# Zoom's error code for an invalid or expired next_page_token (and other bad fields).
_INVALID_FIELD = 300
_MAX_RESTARTS = 2
# The listings filter by date; widening the query by a day on each side and then
# keeping the meetings that started inside the window makes the result independent
# of which time of day (meeting start or recording start, UTC or the account's zone)
# Zoom applies the date filter to.
_QUERY_MARGIN = timedelta(days=1)


class ZoomApiError(SourceError):
    """Zoom answered with an error status; ``code`` is Zoom's own error code."""

    def __init__(self, message: str, *, status: int, code: int | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class _PageTokenExpired(Exception):
    """Zoom refused a next_page_token: the listing has to start again."""


@dataclass(frozen=True)
class ListedMeeting:
    """One meeting instance from a recordings listing, and whose listing it was."""

    meeting: dict[str, Any]
    listed_for: dict[str, str] | None


def encode_uuid(uuid: str) -> str:
    """``uuid`` ready for a URL path, encoded twice where Zoom requires it."""
    once = quote(uuid, safe="")
    if uuid.startswith("/") or "//" in uuid:
        return quote(once, safe="")
    return once


def _add_month(day: date) -> date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def date_steps(first: date, last: date) -> Iterator[tuple[date, date]]:
    """Inclusive ``(from, to)`` date ranges covering ``first..last``, each at most
    one calendar month long (``to`` is the day before the same date next month)."""
    start = first
    while start <= last:
        end = min(last, _add_month(start) - timedelta(days=1))
        yield start, end
        start = end + timedelta(days=1)


def parse_zoom_time(value: object) -> datetime | None:
    """A Zoom timestamp (``2026-03-09T14:00:00Z``) as an aware datetime, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class ZoomClient:
    """Zoom's REST API for one source and one extract, paced and authenticated."""

    def __init__(self, config: ZoomConfig, ctx: ExtractContext) -> None:
        self._config = config
        self._ctx = ctx
        timeout = config.timeout_seconds
        self._medium = ctx.http(
            base_url=config.api_base_url,
            rate_limit=config.rate_limit("medium"),
            limiter_name="zoom-medium",
            timeout=timeout,
        )
        self._light = ctx.http(
            base_url=config.api_base_url,
            rate_limit=config.rate_limit("light"),
            limiter_name="zoom-light",
            timeout=timeout,
        )
        # Downloads are not API calls, but they hit Zoom too: paced like Light ones.
        self._files = ctx.http(
            base_url="",
            rate_limit=config.rate_limit("light"),
            limiter_name="zoom-download",
            timeout=timeout,
        )
        account_id = ctx.secret(config.account_id_env, purpose="the Zoom account ID")
        # The account ID names the account in paths; it is no credential (the
        # client secret is), so it may appear in URLs and httpx's request logs.
        self._account = account_id.get_secret_value()
        self._auth = TokenProvider(
            ctx.http(base_url="", timeout=timeout),
            token_url=config.token_url,
            account_id=account_id,
            client_id=ctx.secret(config.client_id_env, purpose="the Zoom client ID"),
            client_secret=ctx.secret(
                config.client_secret_env, purpose="the Zoom client secret"
            ),
            on_fetch=lambda: ctx.count_call("oauth.token"),
        )

    def __repr__(self) -> str:
        return f"ZoomClient(api={self._config.api_base_url!r})"

    def http_stats(self) -> dict[str, int]:
        """Requests, retries and 429s over this client's sessions (no URLs)."""
        sessions = (self._medium, self._light, self._files)
        return {
            "requests": sum(s.stats.requests for s in sessions),
            "retries": sum(s.stats.retries for s in sessions),
            "rate_limited": sum(s.stats.rate_limited for s in sessions),
        }

    # -- recordings listings -------------------------------------------------------

    def recordings(self, window: Window) -> Iterator[ListedMeeting]:
        """Every meeting instance with a cloud recording that started in ``window``."""
        first = (window.start - _QUERY_MARGIN).date()
        last = (window.end - timedelta(microseconds=1) + _QUERY_MARGIN).date()
        seen: set[str] = set()
        for owner, path, method in self._listings():
            for start, end in date_steps(first, last):
                for meeting in self._list_step(path, method, start, end):
                    uuid = meeting.get("uuid")
                    if not isinstance(uuid, str) or not uuid or uuid in seen:
                        continue
                    seen.add(uuid)
                    self._ctx.stats.notes["listed"] = len(seen)
                    began = parse_zoom_time(meeting.get("start_time"))
                    if began is None:
                        self._ctx.skip(
                            f"meeting:{uuid}",
                            "start_time missing or unreadable "
                            f"({shorten(meeting.get('start_time'))}); the meeting "
                            "cannot be placed in a window",
                        )
                    elif window.contains(began):
                        yield ListedMeeting(meeting, owner)

    def _listings(self) -> Iterator[tuple[dict[str, str] | None, str, str]]:
        """``(owner, path, method)`` of each recordings listing the source reads."""
        if self._config.users:
            for user in self._config.users:
                owner = {"email": user} if "@" in user else {"id": user}
                yield (
                    owner,
                    f"/users/{quote(user, safe='@')}/recordings",
                    "users.recordings",
                )
        elif self._config.every_user_via == "account_recordings":
            path = f"/accounts/{quote(self._account, safe='')}/recordings"
            yield None, path, "accounts.recordings"
        else:
            for entry in self.users():
                owner = {k: str(entry[k]) for k in ("id", "email") if entry.get(k)}
                if "id" in owner:
                    path = f"/users/{quote(owner['id'], safe='')}/recordings"
                    yield owner, path, "users.recordings"

    def _list_step(
        self, path: str, method: str, start: date, end: date
    ) -> Iterator[dict[str, Any]]:
        params = {"from": start.isoformat(), "to": end.isoformat()}
        try:
            yield from self._paged(
                self._medium,
                path,
                params,
                method=method,
                items="meetings",
                key=lambda m: str(m.get("uuid")),
                on_total=lambda n: self._ctx.expect("listed", n),
            )
        except ZoomApiError as exc:
            if exc.status not in (400, 404) or method != "users.recordings":
                raise
            # A user that was deleted, or one Zoom will not list (no cloud
            # recording on their plan): the other users still sync.
            self._ctx.skip(path, f"Zoom would not list this user's recordings: {exc}")

    def users(self) -> Iterator[dict[str, Any]]:
        """Every active and deactivated user (deactivated users keep recordings)."""
        for status in ("active", "inactive"):
            yield from self._paged(
                self._medium,
                "/users",
                {"status": status},
                method="users.list",
                items="users",
                key=lambda u: str(u.get("id")),
            )

    # -- one meeting instance ------------------------------------------------------

    def meeting_recordings(self, uuid: str) -> dict[str, Any]:
        """The instance's recordings, with a ``download_access_token`` for its files."""
        return self._get_json(
            self._light,
            f"/meetings/{encode_uuid(uuid)}/recordings",
            {
                "include_fields": "download_access_token",
                "ttl": self._config.download_token_ttl,
            },
            method="meetings.recordings",
        )

    def participants(self, uuid: str) -> list[dict[str, Any]]:
        """Everyone who joined the instance; one entry per join, as Zoom lists them."""
        return list(
            self._paged(
                self._medium,
                f"/past_meetings/{encode_uuid(uuid)}/participants",
                {},
                method="past_meetings.participants",
                items="participants",
                key=lambda p: "|".join(
                    str(p.get(k, "")) for k in ("id", "user_id", "name", "join_time")
                ),
            )
        )

    def download_text(self, url: str) -> str:
        """A small recording file (a transcript) as text, fetched with the API token.

        Zoom recommends the token as a Bearer header over ``?access_token=``; it
        answers with a redirect to a signed storage URL, which httpx follows without
        forwarding the header to another host.
        """
        if not is_safe_url(url):
            raise SourceError(
                f"a download URL is not https ({redact_url(url)}); refusing to send "
                "the access token over it"
            )
        response = self._send(
            self._files, url, {}, method="recording.download", follow_redirects=True
        )
        if response.status_code != 200:
            raise ZoomApiError(
                f"GET {redact_url(url)} answered {response.status_code}: expected the "
                "file; it may have been deleted since it was listed",
                status=response.status_code,
                code=None,
            )
        head = response.content[:200].lstrip().lower()
        if head.startswith((b"<!doctype", b"<html")):
            raise SourceError(
                f"GET {redact_url(url)} returned an HTML page instead of the file; "
                "the recording may be passcode-protected or the token lacks the "
                "recording:read scope"
            )
        return response.content.decode("utf-8-sig", errors="replace")

    # -- plumbing ------------------------------------------------------------------

    def _paged(
        self,
        session: HttpSession,
        path: str,
        params: dict[str, Any],
        *,
        method: str,
        items: str,
        key: Callable[[dict[str, Any]], str],
        on_total: Callable[[int], None] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The items of every page, restarting once more if a page token expires."""
        seen: set[str] = set()
        for attempt in range(_MAX_RESTARTS + 1):
            try:
                for item in self._pages(
                    session,
                    path,
                    params,
                    method,
                    items,
                    on_total if not attempt else None,
                ):
                    if key(item) not in seen:
                        seen.add(key(item))
                        yield item
                return
            except _PageTokenExpired:
                logger.warning(
                    "%s: Zoom refused a next_page_token after %d item(s); starting "
                    "the listing again (attempt %d)",
                    path,
                    len(seen),
                    attempt + 2,
                )
        raise SourceError(
            f"{path}: Zoom kept refusing next_page_token ({_MAX_RESTARTS + 1} tries); "
            "its tokens live 15 minutes, so lower the work per page or raise the rate "
            "budget"
        )

    def _pages(
        self,
        session: HttpSession,
        path: str,
        params: dict[str, Any],
        method: str,
        items: str,
        on_total: Callable[[int], None] | None,
    ) -> Iterator[dict[str, Any]]:
        token = ""
        used: set[str] = set()
        while True:
            query = {**params, "page_size": self._config.page_size}
            if token:
                query["next_page_token"] = token
            page = self._get_json(session, path, query, method=method, paging=True)
            if on_total is not None and not token:
                total = page.get("total_records")
                on_total(total if isinstance(total, int) else 0)
            entries = page.get(items)
            entries = entries if isinstance(entries, list) else []
            logger.info("%s: page of %d %s", path, len(entries), items)
            yield from (e for e in entries if isinstance(e, dict))
            token = page.get("next_page_token") or ""
            if not isinstance(token, str) or not token:
                return
            if token in used:
                raise SourceError(
                    f"{path}: Zoom returned the same next_page_token twice; "
                    "stopping instead of looping. Try the sync again later."
                )
            used.add(token)

    def _get_json(
        self,
        session: HttpSession,
        path: str,
        params: dict[str, Any],
        *,
        method: str,
        paging: bool = False,
    ) -> dict[str, Any]:
        response = self._send(session, path, params, method=method)
        try:
            body = response.json()
        except ValueError as exc:
            raise SourceError(
                f"{method} {redact_url(response.request.url)}: expected JSON, got "
                f"{shorten(response.text[:60])}; check api_base_url points at Zoom's "
                "API (https://api.zoom.us/v2)"
            ) from exc
        if response.status_code == 200 and isinstance(body, dict):
            return body
        status = response.status_code
        code = body.get("code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        if (
            paging
            and status == 400
            and code == _INVALID_FIELD
            and _is_page_token(params, message)
        ):
            raise _PageTokenExpired()
        raise ZoomApiError(
            f"{method} {redact_url(response.request.url)} answered {status} "
            f"(Zoom code {code}: {shorten(message, 120)})",
            status=status,
            code=code if isinstance(code, int) else None,
        )

    def _send(
        self,
        session: HttpSession,
        url: str,
        params: dict[str, Any],
        *,
        method: str,
        **kwargs: Any,
    ) -> httpx.Response:
        """GET with a bearer token; on 401/403 once more with a fresh token."""
        for attempt in (1, 2):
            token = self._auth.token()
            self._ctx.count_call(method)
            try:
                return session.get(
                    url,
                    params=params,
                    headers={"Authorization": f"Bearer {token}"},
                    **kwargs,
                )
            except SourceAuthError:
                # The framework's session turns 401 and 403 into SourceAuthError
                # without the status; an expired or revoked token is the usual
                # cause, and one retry with a new token settles which it was.
                self._auth.invalidate(token)
                if attempt == 2:
                    raise
                logger.info("%s: token refused; fetching a new one", method)
        raise AssertionError("unreachable")


def _is_page_token(params: dict[str, Any], message: object) -> bool:
    return "next_page_token" in params or "page token" in str(message).lower()
