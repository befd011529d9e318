"""One Slack thread (a raw item) becomes one Evermuse ``conversation`` record.

Identity: ``_vendor_ids`` = team, channel and the parent's ts; ``_event_at`` = the
parent's time. Both are fixed when the thread starts, so a thread that grows keeps
its identity and the re-sent record overwrites the old one in Evermuse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any, NoReturn

from evermuse_connectors.connector import Routing
from evermuse_connectors.envelope import (
    Participant,
    ParticipantType,
    Pii,
    Record,
    RecordType,
    Role,
)
from evermuse_connectors.errors import RecordError, shorten
from evermuse_slack._config import SlackConfig
from evermuse_slack._files import ATTACHMENTS, record_attachments, thread_files
from evermuse_slack._text import contains_email, contains_phone, render
from evermuse_slack._threads import THREAD_KIND
from evermuse_slack._ts import is_ts, ts_datetime, ts_micros

__all__ = ["kept_messages", "normalise_thread"]

# Channel events, not conversation: dropped from the record.
_DROPPED = frozenset(
    {
        "channel_join",
        "channel_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
        "channel_convert_to_private",
        "channel_convert_to_public",
        "channel_posting_permissions",
        "group_join",
        "group_leave",
        "group_topic",
        "group_purpose",
        "group_name",
        "group_archive",
        "group_unarchive",
        "pinned_item",
        "unpinned_item",
        "bot_add",
        "bot_remove",
        "bot_enable",
        "bot_disable",
        "reminder_add",
        "app_conversation_join",
        "joiner_notification",
        "ekm_access_denied",
    }
)
_SLACKBOT = "USLACKBOT"
_EMAIL_SHAPE = re.compile(r"^[^\s@]+@[^\s@]+$")
_MAX_PARTICIPANTS = 5000


def normalise_thread(
    item_id: str,
    kind: str,
    data: Mapping[str, Any],
    config: SlackConfig,
    routing: Routing,
) -> list[Record]:
    if kind != THREAD_KIND:
        raise RecordError(
            f"raw item {item_id}: kind {shorten(kind, 30)} is not a Slack thread; "
            f"expected {THREAD_KIND!r} (was the item written by another connector?)"
        )
    thread = _Thread.parse(item_id, data)
    messages = [m for m in _current(thread.messages) if _keep(m, thread, config)]
    if not messages:
        return []
    return [_Builder(thread).record(messages, routing)]


def kept_messages(
    data: Mapping[str, Any], config: SlackConfig
) -> list[Mapping[str, Any]]:
    """The messages a thread's record shows, in time order: edits applied,
    deletions, channel events and (if so set) bots left out. Extract stages the
    files of exactly these. RecordError for a damaged item, as normalise."""
    thread = _Thread.parse(str(data.get("thread_ts")), data)
    return [m for m in _current(thread.messages) if _keep(m, thread, config)]


@dataclass(frozen=True)
class _Thread:
    team_id: str
    channel: dict[str, str]
    thread_ts: str
    messages: list[Mapping[str, Any]]
    users: Mapping[str, Mapping[str, Any]]
    channels: Mapping[str, str]
    workspace_url: str | None
    reported: list[Any]
    attachments: object

    @classmethod
    def parse(cls, item_id: str, data: Mapping[str, Any]) -> _Thread:
        team_id, channel = data.get("team_id"), data.get("channel")
        thread_ts, messages = data.get("thread_ts"), data.get("messages")
        if not isinstance(team_id, str) or not team_id:
            _bad(item_id, "team_id", team_id, "a Slack team id such as T0123ABCD")
        if not isinstance(channel, Mapping) or not isinstance(channel.get("id"), str):
            _bad(item_id, "channel", channel, "an object with the channel's id")
        if not is_ts(thread_ts):
            _bad(
                item_id, "thread_ts", thread_ts, "a Slack ts such as 1712345678.123456"
            )
        if not isinstance(messages, list) or not all(
            isinstance(m, Mapping) for m in messages
        ):
            _bad(item_id, "messages", messages, "a list of Slack message objects")
        for index, message in enumerate(messages):
            if not is_ts(message.get("ts")):
                _bad(item_id, f"messages[{index}].ts", message.get("ts"), "a Slack ts")
        users, names = data.get("users"), data.get("channels")
        url, reported = data.get("workspace_url"), data.get("reported")
        return cls(
            team_id=team_id,
            channel={
                "id": channel["id"],
                "name": str(channel.get("name") or channel["id"]),
                "type": str(channel.get("type") or "public_channel"),
            },
            thread_ts=str(thread_ts),
            messages=messages,
            users=users if isinstance(users, Mapping) else {},
            channels=names if isinstance(names, Mapping) else {},
            workspace_url=url
            if isinstance(url, str) and url.startswith("https://")
            else None,
            reported=reported if isinstance(reported, list) else [],
            attachments=data.get(ATTACHMENTS),
        )


def _bad(item_id: str, field: str, value: object, expected: str) -> NoReturn:
    raise RecordError(
        f"raw item {item_id}: {field} is {shorten(value, 60)}, expected {expected}; "
        "the stored raw item is damaged or not from this connector: re-extract the "
        "window"
    )


def _current(messages: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The thread as it is now: edits applied, deletions removed, one per ts.

    ``message_changed`` and ``message_deleted`` arrive as messages of their own
    (with their own, later, ts) pointing at the message they change.
    """
    current: dict[int, Mapping[str, Any]] = {}
    for message in sorted(messages, key=lambda m: ts_micros(m["ts"])):
        subtype = message.get("subtype")
        if subtype == "message_changed":
            new = message.get("message")
            if isinstance(new, Mapping) and is_ts(new.get("ts")):
                current[ts_micros(new["ts"])] = new
        elif subtype == "message_deleted":
            deleted = message.get("deleted_ts")
            if is_ts(deleted):
                current.pop(ts_micros(deleted), None)
        else:
            current.setdefault(ts_micros(message["ts"]), message)
    return [current[k] for k in sorted(current)]


def _is_bot(message: Mapping[str, Any], thread: _Thread) -> bool:
    if message.get("subtype") == "bot_message" or message.get("bot_id"):
        return True
    user = message.get("user")
    entry = thread.users.get(user) if isinstance(user, str) else None
    return user == _SLACKBOT or bool(
        entry and (entry.get("is_bot") or entry.get("is_app_user"))
    )


def _keep(message: Mapping[str, Any], thread: _Thread, config: SlackConfig) -> bool:
    subtype = message.get("subtype")
    if subtype in _DROPPED:
        return False
    if subtype == "tombstone":
        return True
    return config.include_bots or not _is_bot(message, thread)


def _iso(ts: str) -> str:
    return ts_datetime(ts).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Builder:
    def __init__(self, thread: _Thread) -> None:
        self.thread = thread
        self.participants: dict[str, Participant] = {}

    def user_name(self, user_id: str) -> str | None:
        entry = self.thread.users.get(user_id)
        if not entry:
            return "Slackbot" if user_id == _SLACKBOT else None
        for key in ("display_name", "real_name", "name"):
            value = entry.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:256]
        return None

    def record(self, messages: list[Mapping[str, Any]], routing: Routing) -> Record:
        thread = self.thread
        entries = [self.entry(m) for m in messages]
        texts = [e.get("text", "") for e in entries]
        participants = list(self.participants.values())[:_MAX_PARTICIPANTS]
        external = any(p.role == Role.EXTERNAL for p in participants)
        tags = list(
            dict.fromkeys([*routing.tags, "slack", *(["slack_connect"] * external)])
        )
        attachments, not_staged = record_attachments(
            thread.attachments, thread_files(messages)
        )
        data = self.data(entries)
        if not_staged:
            data["attachments_not_staged"] = not_staged
        return Record(
            type=RecordType.CONVERSATION,
            event_at=ts_datetime(thread.thread_ts),
            vendor_ids={
                "team_id": thread.team_id,
                "channel_id": thread.channel["id"],
                "thread_ts": thread.thread_ts,
            },
            product_id=routing.product_id,
            project_ids=list(routing.project_ids),
            nature=routing.nature,
            thread_id=f"{thread.team_id}:{thread.channel['id']}:{thread.thread_ts}",
            data=data,
            participants=participants,
            attachments=attachments or None,
            tags=tags[:200],
            pii=Pii(
                contains_email=any(contains_email(t) for t in texts),
                contains_phone=any(contains_phone(t) for t in texts),
            ),
        )

    def data(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        thread = self.thread
        replies = sum(1 for e in entries if e["ts"] != thread.thread_ts)
        reported = thread.reported[0] if thread.reported else replies
        data: dict[str, Any] = {
            "source": "slack",
            "team_id": thread.team_id,
            "channel": thread.channel,
            "thread_ts": thread.thread_ts,
        }
        if thread.workspace_url:
            # Slack's permalink form: the ts without its dot, after a "p".
            data["permalink"] = (
                f"{thread.workspace_url.rstrip('/')}/archives/{thread.channel['id']}"
                f"/p{thread.thread_ts.replace('.', '')}"
            )
        data.update(reply_count=reported, message_count=len(entries), messages=entries)
        return data

    def entry(self, message: Mapping[str, Any]) -> dict[str, Any]:
        ts = str(message["ts"])
        entry: dict[str, Any] = {"ts": ts, "at": _iso(ts)}
        subtype = message.get("subtype")
        if isinstance(subtype, str):
            entry["subtype"] = subtype
        if ts != self.thread.thread_ts:
            entry["reply"] = True
        if subtype == "tombstone":
            entry["deleted"] = True
            return entry
        entry["author"] = self.author(message)
        rendered = render(
            _message_text(message),
            user_name=self.user_name,
            channel_names=self.thread.channels,
        )
        entry["text"] = rendered.text
        for user_id in rendered.mentioned_users:
            self.add_user(user_id, None)
        edited = message.get("edited")
        if isinstance(edited, Mapping) and is_ts(edited.get("ts")):
            entry["edited_at"] = _iso(str(edited["ts"]))
        files = [_file(f) for f in message.get("files") or [] if isinstance(f, Mapping)]
        if files:
            entry["files"] = files
        return entry

    def author(self, message: Mapping[str, Any]) -> dict[str, Any]:
        user = message.get("user")
        if isinstance(user, str) and user:
            team = message.get("user_team")
            participant = self.add_user(
                user,
                team if isinstance(team, str) else None,
                bot=bool(message.get("bot_id")),
            )
        else:
            participant = self.add_bot(message)
        author: dict[str, Any] = {"id": participant.id}
        if participant.name:
            author["name"] = participant.name
        return author

    def add_user(
        self, user_id: str, message_team: str | None, *, bot: bool = False
    ) -> Participant:
        known = self.participants.get(user_id)
        if known is not None:
            return known
        entry = self.thread.users.get(user_id) or {}
        name = self.user_name(user_id)
        if user_id == _SLACKBOT:
            made = Participant(
                id=user_id, role=Role.INTERNAL, name=name, type=ParticipantType.SYSTEM
            )
        else:
            team = entry.get("team_id") or message_team
            role = self._role(team, bool(entry.get("is_stranger")))
            if bot or entry.get("is_bot") or entry.get("is_app_user"):
                kind = ParticipantType.BOT
            elif not entry and not message_team:
                kind = ParticipantType.UNKNOWN
            elif role == Role.INTERNAL:
                kind = ParticipantType.WORKSPACE_MEMBER
            else:
                kind = ParticipantType.USER
            made = Participant(
                id=user_id, role=role, name=name, email=_email(entry), type=kind
            )
        self.participants[user_id] = made
        return made

    def add_bot(self, message: Mapping[str, Any]) -> Participant:
        raw_profile = message.get("bot_profile")
        profile: Mapping[str, Any] = (
            raw_profile if isinstance(raw_profile, Mapping) else {}
        )
        bot_id = str(message.get("bot_id") or profile.get("id") or "")
        label = message.get("username") or profile.get("name")
        name = str(label)[:256] if label else None
        key = bot_id or f"bot:{name or 'unknown'}"
        known = self.participants.get(key)
        if known is not None:
            return known
        team = profile.get("team_id")
        role = self._role(team if isinstance(team, str) else None, False)
        made = Participant(id=key[:256], role=role, name=name, type=ParticipantType.BOT)
        self.participants[key] = made
        return made

    def _role(self, team: object, stranger: bool) -> Role:
        if stranger or (isinstance(team, str) and team and team != self.thread.team_id):
            return Role.EXTERNAL
        if team == self.thread.team_id:
            return Role.INTERNAL
        return Role.UNKNOWN


def _message_text(message: Mapping[str, Any]) -> str:
    text = message.get("text")
    if isinstance(text, str) and text.strip():
        return text
    # Legacy attachments (old integrations) carry their words in fallback/text.
    parts = []
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, Mapping):
            value = attachment.get("text") or attachment.get("fallback")
            if isinstance(value, str) and value.strip():
                parts.append(value)
    return "\n".join(parts)


def _email(entry: Mapping[str, Any]) -> str | None:
    value = entry.get("email")
    if isinstance(value, str) and len(value) <= 320 and _EMAIL_SHAPE.match(value):
        return value
    return None


def _file(meta: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("id", "name", "title", "mimetype", "filetype", "size")
    return {k: meta[k] for k in keys if meta.get(k) not in (None, "")}
