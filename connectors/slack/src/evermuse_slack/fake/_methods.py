"""The Web API methods the fake serves, with Slack's arguments, errors and paging.

Each method takes the request's arguments (strings, as a form or query string
carries them) and returns the JSON body; :class:`SlackFail` becomes
``{"ok": false, "error": ...}``. What a real workspace refuses is refused here:
unknown channels, channels the bot is not in, bad cursors, limits out of range,
``users.list`` without a limit.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evermuse_slack._ts import is_ts, ts_micros
from evermuse_slack.fake._workspace import FakeChannel, Workspace

__all__ = ["Faults", "SlackFail", "SlackMethods"]

_TYPES = {"public_channel", "private_channel", "mpim", "im"}
_TRUE = {"1", "true", "True"}


class SlackFail(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class Faults:
    """Misbehaviour to switch on in tests (all off by default)."""

    # Methods whose later pages hand back the very cursor they were given.
    repeat_cursor: set[str] = field(default_factory=set)
    # Methods that answer an empty page, with a cursor, before every real page.
    empty_pages: set[str] = field(default_factory=set)
    # Method -> how many 500s to answer before serving it again.
    server_errors: dict[str, int] = field(default_factory=dict)
    # Method -> how many 429s to answer (besides any rate limit), and their wait.
    rate_limited: dict[str, int] = field(default_factory=dict)
    retry_after: int = 1
    # Method -> how many requests to drop: the connection closes with no answer.
    dropped: dict[str, int] = field(default_factory=dict)
    # Channel id -> the error history and replies answer for it.
    channel_errors: dict[str, str] = field(default_factory=dict)
    # conversations.replies repeats the parent at the top of every page.
    parent_on_every_page: bool = False
    # File id -> HTTP statuses its download answers, in turn, before the file
    # (429 carries Retry-After: retry_after; 500, 503...).
    download_statuses: dict[str, list[int]] = field(default_factory=dict)
    # File id -> how many downloads send half the body, then hang up.
    cut_downloads: dict[str, int] = field(default_factory=dict)
    # File id -> the bytes its download really sends (more than Slack announced).
    served_sizes: dict[str, int] = field(default_factory=dict)
    # File id -> where its download redirects (302 Location), once.
    redirects: dict[str, str] = field(default_factory=dict)


def _cursor(kind: str, value: str) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def _uncursor(cursor: str) -> tuple[str, str]:
    try:
        kind, _, value = base64.b64decode(cursor, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise SlackFail("invalid_cursor") from exc
    if kind not in {"next_ts", "next_id", "empty"}:
        raise SlackFail("invalid_cursor")
    return kind, value


def _limit(
    params: Mapping[str, str], *, default: int, maximum: int, cap: int = 0
) -> int:
    raw = params.get("limit", "")
    if raw == "":
        value = default
    else:
        try:
            value = int(raw)
        except ValueError as exc:
            raise SlackFail("invalid_limit") from exc
        if not 1 <= value <= maximum:
            raise SlackFail("invalid_limit")
    return min(value, cap) if cap else value


class SlackMethods:
    def __init__(
        self,
        workspace: Workspace,
        faults: Faults,
        *,
        email_scope: bool,
        limited: bool,
        files_scope: bool = True,
    ) -> None:
        self.ws = workspace
        self.faults = faults
        self.email_scope = email_scope
        self.files_scope = files_scope
        self.limited = limited
        self.table: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
            "auth.test": self.auth_test,
            "conversations.list": self.conversations_list,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
            "conversations.join": self.conversations_join,
            "conversations.info": self.conversations_info,
            "users.list": self.users_list,
            "users.info": self.users_info,
            "files.info": self.files_info,
        }

    def _page(
        self,
        method: str,
        items: list[dict[str, Any]],
        keys: list[Any],
        kind: str,
        params: Mapping[str, str],
        limit: int,
        *,
        to_key: Callable[[str], Any] = str,
    ) -> tuple[list[dict[str, Any]], str]:
        """One page of ``items`` and the next cursor or "". ``keys`` are the items'
        sort keys, ascending; ``to_key`` maps a cursor's value onto them."""
        cursor = params.get("cursor", "")
        if method in self.faults.empty_pages:
            if not cursor or _uncursor(cursor)[0] != "empty":
                # An empty page that still has a cursor, before the real one.
                return [], _cursor("empty", cursor)
            cursor = _uncursor(cursor)[1]
        start = 0
        if cursor:
            got_kind, value = _uncursor(cursor)
            if (
                got_kind != kind
                or not value
                or (kind == "next_ts" and not is_ts(value))
            ):
                raise SlackFail("invalid_cursor")
            start = bisect.bisect_left(keys, to_key(value))
        page = items[start : start + limit]
        rest = items[start + limit :]
        if not rest:
            return page, ""
        if method in self.faults.repeat_cursor and cursor:
            return page, cursor
        following = rest[0]["ts"] if kind == "next_ts" else str(rest[0]["id"])
        return page, _cursor(kind, following)

    def _readable(self, params: Mapping[str, str]) -> FakeChannel:
        channel = self.ws.channel(params.get("channel", ""))
        if channel is None:
            raise SlackFail("channel_not_found")
        if channel.id in self.faults.channel_errors:
            raise SlackFail(self.faults.channel_errors[channel.id])
        member = channel.bot_member and self.ws.bot_user_id in channel.members
        if not member:
            raise SlackFail(
                "not_in_channel"
                if channel.kind == "public_channel"
                else "channel_not_found"
            )
        return channel

    def auth_test(self, params: dict[str, str]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": self.ws.url,
            "team": self.ws.team_name,
            "user": "evermuse",
            "team_id": self.ws.team_id,
            "user_id": self.ws.bot_user_id,
            "bot_id": self.ws.bot_id,
            "is_enterprise_install": False,
        }

    def conversations_list(self, params: dict[str, str]) -> dict[str, Any]:
        types = [
            t.strip() for t in (params.get("types") or "public_channel").split(",")
        ]
        if not set(types) <= _TYPES:
            raise SlackFail("invalid_types")
        exclude_archived = params.get("exclude_archived", "") in _TRUE
        limit = _limit(params, default=100, maximum=1000)
        bot = self.ws.bot_user_id
        shown = [
            c.api_object(self.ws.team_id, bot_user=bot)
            for c in sorted(self.ws.channels, key=lambda c: c.id)
            if c.kind in types
            and not (exclude_archived and c.is_archived)
            and (c.kind == "public_channel" or (c.bot_member and bot in c.members))
        ]
        page, following = self._page(
            "conversations.list",
            shown,
            [c["id"] for c in shown],
            "next_id",
            params,
            limit,
        )
        return {
            "ok": True,
            "channels": page,
            "response_metadata": {"next_cursor": following},
        }

    @staticmethod
    def _bounds(params: Mapping[str, str]) -> tuple[int | None, int | None, bool]:
        """``oldest``, ``latest`` (epoch micros or None) and ``inclusive``."""
        bounds = []
        for name, error in (
            ("oldest", "invalid_ts_oldest"),
            ("latest", "invalid_ts_latest"),
        ):
            raw = params.get(name, "")
            if raw and not is_ts(raw):
                raise SlackFail(error)
            bounds.append(ts_micros(raw) if raw else None)
        return bounds[0], bounds[1], params.get("inclusive", "") in _TRUE

    def conversations_history(self, params: dict[str, str]) -> dict[str, Any]:
        channel = self._readable(params)
        oldest, latest, inclusive = self._bounds(params)
        # The 2025 limit for non-Marketplace apps: default and maximum both 15.
        cap = 15 if self.limited else 0
        limit = _limit(
            params, default=15 if self.limited else 100, maximum=999, cap=cap
        )
        messages, keys = self.ws.history_index(channel)
        # Newest first, so the keys are negated micros: [-latest, -oldest].
        side = bisect.bisect_left if inclusive else bisect.bisect_right
        other = bisect.bisect_right if inclusive else bisect.bisect_left
        low = 0 if latest is None else side(keys, -latest)
        high = len(keys) if oldest is None else other(keys, -oldest)
        page, following = self._page(
            "conversations.history",
            messages[low:high],
            keys[low:high],
            "next_ts",
            params,
            limit,
            to_key=lambda v: -ts_micros(v),
        )
        body: dict[str, Any] = {
            "ok": True,
            "messages": page,
            "has_more": bool(following),
            "pin_count": 0,
        }
        if following:
            body["response_metadata"] = {"next_cursor": following}
        return body

    def conversations_replies(self, params: dict[str, str]) -> dict[str, Any]:
        channel = self._readable(params)
        ts = params.get("ts", "")
        if not ts:
            raise SlackFail(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] missing required field: ts"]},
            )
        thread = self.ws.thread(channel, ts) if is_ts(ts) else None
        if thread is None:
            raise SlackFail("thread_not_found")
        oldest, latest, inclusive = self._bounds(params)

        def inside(message: dict[str, Any]) -> bool:
            ts = ts_micros(message["ts"])
            above = oldest is None or ts > oldest or (inclusive and ts == oldest)
            below = latest is None or ts < latest or (inclusive and ts == latest)
            return above and below

        parent, replies = thread[0], [m for m in thread[1:] if inside(m)]
        cap = 15 if self.limited else 0
        limit = _limit(
            params, default=15 if self.limited else 1000, maximum=1000, cap=cap
        )
        items = [parent, *replies]
        page, following = self._page(
            "conversations.replies",
            items,
            [ts_micros(m["ts"]) for m in items],
            "next_ts",
            params,
            limit,
            to_key=ts_micros,
        )
        if self.faults.parent_on_every_page and page and page[0]["ts"] != parent["ts"]:
            page = [parent, *page]
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(following),
            "response_metadata": {"next_cursor": following},
        }

    def conversations_join(self, params: dict[str, str]) -> dict[str, Any]:
        channel = self.ws.channel(params.get("channel", ""))
        if channel is None:
            raise SlackFail("channel_not_found")
        if channel.kind != "public_channel":
            raise SlackFail("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise SlackFail("is_archived")
        body: dict[str, Any] = {"ok": True}
        if channel.bot_member and self.ws.bot_user_id in channel.members:
            body.update(
                warning="already_in_channel",
                response_metadata={"warnings": ["already_in_channel"]},
            )
        channel.bot_member = True
        if self.ws.bot_user_id not in channel.members:
            channel.members.append(self.ws.bot_user_id)
        body["channel"] = channel.api_object(
            self.ws.team_id, bot_user=self.ws.bot_user_id
        )
        return body

    def conversations_info(self, params: dict[str, str]) -> dict[str, Any]:
        channel = self.ws.channel(params.get("channel", ""))
        if channel is None:
            raise SlackFail("channel_not_found")
        return {
            "ok": True,
            "channel": channel.api_object(
                self.ws.team_id, bot_user=self.ws.bot_user_id
            ),
        }

    def _user(self, user: dict[str, Any]) -> dict[str, Any]:
        out = dict(user)
        out["profile"] = dict(user.get("profile") or {})
        if not self.email_scope:
            out["profile"].pop("email", None)
        return out

    def users_list(self, params: dict[str, str]) -> dict[str, Any]:
        if not params.get("limit"):
            raise SlackFail("limit_required")
        limit = _limit(params, default=0, maximum=1000)
        members = sorted((self._user(u) for u in self.ws.users), key=lambda u: u["id"])
        page, following = self._page(
            "users.list", members, [u["id"] for u in members], "next_id", params, limit
        )
        return {
            "ok": True,
            "members": page,
            "cache_ts": int(self.ws.now.timestamp()),
            "response_metadata": {"next_cursor": following},
        }

    def users_info(self, params: dict[str, str]) -> dict[str, Any]:
        user = self.ws.user(params.get("user", ""))
        if user is None:
            raise SlackFail("user_not_found")
        return {"ok": True, "user": self._user(user)}

    def files_info(self, params: dict[str, str]) -> dict[str, Any]:
        if not self.files_scope:
            raise SlackFail("missing_scope", needed="files:read", provided="")
        fid = params.get("file", "")
        if not fid:
            raise SlackFail(
                "invalid_arguments",
                response_metadata={
                    "messages": ["[ERROR] missing required field: file"]
                },
            )
        file = self.ws.file(fid)
        if file is None:
            # Another team's file this app may not read is, to it, not there.
            raise SlackFail("file_not_found")
        return {
            "ok": True,
            "file": dict(file),
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }
