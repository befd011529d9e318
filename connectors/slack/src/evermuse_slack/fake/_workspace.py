"""The fake workspace's data: team, users, conversations and their messages.

Messages are stored as Slack's API returns them. A parent's thread fields
(``reply_count``, ``latest_reply``, ``reply_users``…) are computed from its replies
when it is served, so adding a reply later (a "late reply") changes what history
says about the parent, exactly as Slack does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from evermuse_slack._config import ChannelType
from evermuse_slack._ts import format_ts, ts_micros

__all__ = ["FakeChannel", "Workspace"]

SLACKBOT = "USLACKBOT"
_THREADLESS = frozenset({"channel_join", "channel_leave"})


@dataclass
class FakeChannel:
    id: str
    name: str
    kind: ChannelType
    created: int
    members: list[str]
    bot_member: bool = True
    is_archived: bool = False
    is_general: bool = False
    ext_shared: bool = False
    im_user: str | None = None
    topic: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    replies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Lookups rebuilt when the messages change, so a 50,000-message channel is
    # served without scanning it for every request.
    _by_ts: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)
    _indexed: int = field(default=-1, repr=False)
    _history: tuple[int, list[dict[str, Any]], list[int]] | None = field(
        default=None, repr=False
    )

    def parent(self, ts: str) -> dict[str, Any] | None:
        """The top-level message with this ts, if any."""
        if self._indexed != len(self.messages):
            self._by_ts = {ts_micros(m["ts"]): m for m in self.messages}
            self._indexed = len(self.messages)
        return self._by_ts.get(ts_micros(ts))

    def api_object(self, team_id: str, *, bot_user: str) -> dict[str, Any]:
        """The conversation as conversations.list answers it."""
        if self.kind == "im":
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": self.kind == "public_channel",
            "is_group": self.kind == "private_channel",
            "is_im": False,
            "is_mpim": self.kind == "mpim",
            "is_private": self.kind != "public_channel",
            "created": self.created,
            "is_archived": self.is_archived,
            "is_general": self.is_general,
            "unlinked": 0,
            "name_normalized": self.name,
            "is_shared": self.ext_shared,
            "is_ext_shared": self.ext_shared,
            "is_org_shared": False,
            "context_team_id": team_id,
            "is_member": self.bot_member and bot_user in self.members,
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "num_members": len(self.members),
        }


@dataclass
class Workspace:
    team_id: str
    team_name: str
    domain: str
    now: datetime
    bot_user_id: str
    bot_id: str
    users: list[dict[str, Any]]
    external_users: list[dict[str, Any]]
    channels: list[FakeChannel]
    external_team_id: str = ""
    # Bumped by every change made while serving: cached views are then stale.
    version: int = 0
    # Slack Connect files of the other team: messages show only a stub; these are
    # the full objects files.info answers, except for the unreadable ones.
    connect_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    unreadable_files: set[str] = field(default_factory=set)
    _files: tuple[int, dict[str, dict[str, Any]]] | None = field(
        default=None, repr=False
    )

    @property
    def url(self) -> str:
        return f"https://{self.domain}.slack.com/"

    def channel(self, channel_id: str) -> FakeChannel | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    def user(self, user_id: str) -> dict[str, Any] | None:
        for user in (*self.users, *self.external_users):
            if user["id"] == user_id:
                return user
        return None

    def file(self, file_id: str) -> dict[str, Any] | None:
        """The full object of a file Slack holds and this app may read, or None
        (unknown, deleted, an external link, or another team's unreadable file)."""
        cached = self._files
        if cached is None or cached[0] != self.version:
            found: dict[str, dict[str, Any]] = {}
            for channel in self.channels:
                stored = [channel.messages, *channel.replies.values()]
                for message in (m for group in stored for m in group):
                    for meta in message.get("files") or []:
                        if meta.get("url_private_download"):
                            found.setdefault(str(meta["id"]), meta)
            for fid, meta in self.connect_files.items():
                if fid not in self.unreadable_files:
                    found.setdefault(fid, meta)
            cached = self._files = (self.version, found)
        return cached[1].get(file_id)

    def view(self, channel: FakeChannel, message: dict[str, Any]) -> dict[str, Any]:
        """A top-level message with its thread fields, as history shows it."""
        out = dict(message)
        replies = channel.replies.get(message["ts"])
        if replies:
            users = list(
                dict.fromkeys(r.get("user", "") for r in replies if r.get("user"))
            )
            out.update(
                thread_ts=message["ts"],
                reply_count=len(replies),
                reply_users_count=len(users),
                reply_users=users[:5],
                latest_reply=replies[-1]["ts"],
                is_locked=False,
                subscribed=False,
            )
        return out

    def history(self, channel: FakeChannel) -> list[dict[str, Any]]:
        """Top-level messages and broadcast replies, newest first."""
        return self.history_index(channel)[0]

    def history_index(
        self, channel: FakeChannel
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """:meth:`history` and its negated ts in micros (ascending, for bisect)."""
        cached = channel._history
        if cached is not None and cached[0] == self.version:
            return cached[1], cached[2]
        shown = [self.view(channel, m) for m in channel.messages]
        for replies in channel.replies.values():
            shown.extend(
                dict(r) for r in replies if r.get("subtype") == "thread_broadcast"
            )
        shown.sort(key=lambda m: -ts_micros(m["ts"]))
        keys = [-ts_micros(m["ts"]) for m in shown]
        channel._history = (self.version, shown, keys)
        return shown, keys

    def thread(self, channel: FakeChannel, ts: str) -> list[dict[str, Any]] | None:
        """The parent and its replies, oldest first; None if ``ts`` is no message."""
        key = ts_micros(ts)
        message = channel.parent(ts)
        if message is not None:
            if message.get("subtype") in _THREADLESS:
                return None
            return [
                self.view(channel, message),
                *channel.replies.get(message["ts"], []),
            ]
        for parent_ts, replies in channel.replies.items():
            if any(ts_micros(r["ts"]) == key for r in replies):
                return self.thread(channel, parent_ts)
        return None

    def all_messages(self, channel: FakeChannel) -> Iterator[dict[str, Any]]:
        """Every stored message of a channel, parents with their thread fields."""
        for message in channel.messages:
            yield self.view(channel, message)
        for replies in channel.replies.values():
            yield from replies

    # Changes made while the fake runs: what happens in a workspace between syncs.

    def post(
        self,
        channel_id: str,
        user: str,
        text: str,
        *,
        at: datetime | None = None,
        thread_ts: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Post a message (or a reply when ``thread_ts`` is given); returns it."""
        channel = self._channel(channel_id)
        self.version += 1
        ts = self._free_ts(channel, at or self.now, thread_ts)
        message = self.message(user, text, ts, **extra)
        if thread_ts is None:
            channel.messages.append(message)
            channel.messages.sort(key=lambda m: ts_micros(m["ts"]))
            return message
        parent = channel.parent(thread_ts)
        if parent is None:
            raise KeyError(f"no parent {thread_ts} in #{channel.name}")
        message.update(thread_ts=thread_ts, parent_user_id=parent.get("user", ""))
        channel.replies.setdefault(thread_ts, []).append(message)
        channel.replies[thread_ts].sort(key=lambda m: ts_micros(m["ts"]))
        return message

    def edit(self, channel_id: str, ts: str, text: str, *, at: datetime) -> None:
        self.version += 1
        message = self._find(self._channel(channel_id), ts)
        message["text"] = text
        message["edited"] = {"user": message.get("user", ""), "ts": format_ts(at)}

    def delete(self, channel_id: str, ts: str) -> None:
        """Delete a message; a parent with replies becomes a tombstone, as in Slack."""
        channel = self._channel(channel_id)
        self.version += 1
        for thread_ts, replies in channel.replies.items():
            if any(r["ts"] == ts for r in replies):
                channel.replies[thread_ts] = [r for r in replies if r["ts"] != ts]
                if not channel.replies[thread_ts]:
                    del channel.replies[thread_ts]
                return
        message = self._find(channel, ts)
        if channel.replies.get(ts):
            message.clear()
            message.update(
                type="message",
                subtype="tombstone",
                text="This message was deleted.",
                user=SLACKBOT,
                hidden=True,
                ts=ts,
            )
        else:
            channel.messages.remove(message)

    def message(self, user: str, text: str, ts: str, **extra: Any) -> dict[str, Any]:
        """A message object by ``user`` in Slack's shape (team fields included)."""
        author = self.user(user) or {}
        team = author.get("team_id") or self.team_id
        message: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
        }
        if author and not author.get("is_bot") and user != SLACKBOT:
            message.update(team=team, user_team=team, source_team=team)
        message.update(extra)
        return message

    def _channel(self, channel_id: str) -> FakeChannel:
        channel = self.channel(channel_id)
        if channel is None:
            raise KeyError(f"no channel {channel_id} in the fake workspace")
        return channel

    @staticmethod
    def _find(channel: FakeChannel, ts: str) -> dict[str, Any]:
        message = channel.parent(ts)
        if message is not None:
            return message
        for replies in channel.replies.values():
            for reply in replies:
                if reply["ts"] == ts:
                    return reply
        raise KeyError(f"no message {ts} in #{channel.name}")

    @staticmethod
    def _free_ts(channel: FakeChannel, at: datetime, thread_ts: str | None) -> str:
        # Unique among the channel's parents and the thread's replies (a clash
        # with another thread's reply, to the microsecond, is left to chance).
        siblings = channel.replies.get(thread_ts, []) if thread_ts else []
        taken = {ts_micros(r["ts"]) for r in siblings}
        micros = ts_micros(format_ts(at))
        while micros in taken or channel.parent(format_ts(micros)) is not None:
            micros += 1
        return format_ts(micros)
