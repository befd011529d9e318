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
        shown = [self.view(channel, m) for m in channel.messages]
        for replies in channel.replies.values():
            shown.extend(
                dict(r) for r in replies if r.get("subtype") == "thread_broadcast"
            )
        return sorted(shown, key=lambda m: -ts_micros(m["ts"]))

    def thread(self, channel: FakeChannel, ts: str) -> list[dict[str, Any]] | None:
        """The parent and its replies, oldest first; None if ``ts`` is no message."""
        key = ts_micros(ts)
        for message in channel.messages:
            if ts_micros(message["ts"]) == key:
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
        ts = self._free_ts(channel, at or self.now)
        message = self.message(user, text, ts, **extra)
        if thread_ts is None:
            channel.messages.append(message)
            channel.messages.sort(key=lambda m: ts_micros(m["ts"]))
            return message
        parent = next(m for m in channel.messages if m["ts"] == thread_ts)
        message.update(thread_ts=thread_ts, parent_user_id=parent.get("user", ""))
        channel.replies.setdefault(thread_ts, []).append(message)
        channel.replies[thread_ts].sort(key=lambda m: ts_micros(m["ts"]))
        return message

    def edit(self, channel_id: str, ts: str, text: str, *, at: datetime) -> None:
        message = self._find(self._channel(channel_id), ts)
        message["text"] = text
        message["edited"] = {"user": message.get("user", ""), "ts": format_ts(at)}

    def delete(self, channel_id: str, ts: str) -> None:
        """Delete a message; a parent with replies becomes a tombstone, as in Slack."""
        channel = self._channel(channel_id)
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
        for message in channel.messages:
            if message["ts"] == ts:
                return message
        for replies in channel.replies.values():
            for reply in replies:
                if reply["ts"] == ts:
                    return reply
        raise KeyError(f"no message {ts} in #{channel.name}")

    @staticmethod
    def _free_ts(channel: FakeChannel, at: datetime) -> str:
        taken = {ts_micros(m["ts"]) for m in channel.messages}
        for replies in channel.replies.values():
            taken.update(ts_micros(r["ts"]) for r in replies)
        micros = ts_micros(format_ts(at))
        while micros in taken:
            micros += 1
        return format_ts(micros)
