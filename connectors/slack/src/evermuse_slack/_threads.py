"""The raw item of one thread, shared by the API path and the export path.

A raw item is self-contained so that normalise stays a pure function: besides the
messages it carries the entries of the users they name and the names of the
channels they mention, as the directory knew them when the item was made.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from evermuse_connectors.connector import RawItem
from evermuse_slack._text import mentioned_user_ids
from evermuse_slack._ts import is_ts, ts_micros

__all__ = [
    "THREAD_KIND",
    "PreviousThreads",
    "clean_message",
    "item_order",
    "referenced_channels",
    "referenced_users",
    "signature",
    "thread_item",
]

logger = logging.getLogger(__name__)

THREAD_KIND = "thread"

# File metadata worth keeping. Every URL is left out: url_private and its kin need
# the bot token to fetch, and permalink_public carries a secret of its own.
_FILE_FIELDS = (
    "id",
    "name",
    "title",
    "mimetype",
    "filetype",
    "pretty_type",
    "size",
    "created",
    "mode",
    "file_access",
    "is_external",
    "external_type",
    "user",
)
_CHANNEL_MENTION = re.compile(r"<#([CGD][A-Z0-9]{2,})(?:\|[^<>]*)?>")


def _clean_file(value: object) -> object:
    if not isinstance(value, Mapping):
        return value
    return {key: value[key] for key in _FILE_FIELDS if key in value}


def clean_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """A message without its token-bound file URLs; everything else as Slack sent."""
    out = dict(message)
    files = out.get("files")
    if isinstance(files, list):
        out["files"] = [_clean_file(f) for f in files]
    if "file" in out:
        out["file"] = _clean_file(out["file"])
    for nested in ("message", "previous_message", "root"):
        if isinstance(out.get(nested), Mapping):
            out[nested] = clean_message(out[nested])
    return out


def signature(parent: Mapping[str, Any]) -> list[Any]:
    """What says a thread changed: ``[reply_count, latest_reply]`` of its parent."""
    count = parent.get("reply_count")
    latest = parent.get("latest_reply")
    return [
        count if isinstance(count, int) else 0,
        latest if isinstance(latest, str) else "",
    ]


def _texts(message: Mapping[str, Any]) -> Iterator[str]:
    text = message.get("text")
    if isinstance(text, str):
        yield text
    nested = message.get("message")
    if isinstance(nested, Mapping):
        yield from _texts(nested)


def referenced_users(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    """Authors and mentioned users, in order of first appearance."""
    seen: dict[str, None] = {}
    for message in messages:
        for holder in (message, message.get("message")):
            if isinstance(holder, Mapping) and isinstance(holder.get("user"), str):
                seen.setdefault(holder["user"], None)
        for text in _texts(message):
            for user_id in mentioned_user_ids(text):
                seen.setdefault(user_id, None)
    return list(seen)


def referenced_channels(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for message in messages:
        for text in _texts(message):
            for match in _CHANNEL_MENTION.finditer(text):
                seen.setdefault(match.group(1), None)
    return list(seen)


def thread_item(
    *,
    team_id: str,
    workspace_url: str | None,
    channel: Mapping[str, Any],
    thread_ts: str,
    messages: list[dict[str, Any]],
    users: dict[str, dict[str, Any]],
    channel_names: Mapping[str, str],
    reported: list[Any],
    fetch: dict[str, Any],
) -> RawItem:
    mentioned = {
        cid: channel_names[cid]
        for cid in referenced_channels(messages)
        if cid in channel_names
    }
    data: dict[str, Any] = {
        "team_id": team_id,
        "workspace_url": workspace_url,
        "channel": {k: channel[k] for k in ("id", "name", "type")},
        "thread_ts": thread_ts,
        "messages": messages,
        "users": users,
        "channels": mentioned,
        "reported": reported,
        "fetch": fetch,
    }
    return RawItem(id=f"{channel['id']}:{thread_ts}", kind=THREAD_KIND, data=data)


def item_order(channel_id: str, thread_ts: str) -> tuple[str, int]:
    """The order extract yields threads in: channel id, then newest parent first
    (the order conversations.history pages arrive in)."""
    return (channel_id, -ts_micros(thread_ts))


def _key_of(item: RawItem) -> tuple[str, int] | None:
    channel = item.data.get("channel")
    thread_ts = item.data.get("thread_ts")
    if (
        item.kind != THREAD_KIND
        or not isinstance(channel, Mapping)
        or not is_ts(thread_ts)
    ):
        return None
    return item_order(str(channel.get("id")), str(thread_ts))


class PreviousThreads:
    """The window's previous raw items, matched to this run's parents as they come.

    Both runs yield threads in :func:`item_order`, so one pass over the stored
    file (a merge) finds each previous thread without holding the window in
    memory. A first, cheap pass checks that order; a file in another order is
    indexed in a dictionary instead.
    """

    def __init__(self, items: Callable[[], Iterable[RawItem]]) -> None:
        self._head: tuple[tuple[str, int], RawItem] | None = None
        self._fallback: dict[tuple[str, int], RawItem] | None = None
        self._last_asked: tuple[str, int] | None = None
        if _in_order(items()):
            self._items = iter(items())
            self._advance()
        else:
            logger.warning("previous raw items are not in extract order; indexing them")
            self._items = iter(())
            self._fallback = {}
            for item in items():
                key = _key_of(item)
                if key is not None:
                    self._fallback[key] = item

    def _advance(self) -> None:
        self._head = None
        for item in self._items:
            key = _key_of(item)
            if key is not None:
                self._head = (key, item)
                return

    def take(self, channel_id: str, thread_ts: str) -> RawItem | None:
        """The previous item of this thread, if the last run had it."""
        key = item_order(channel_id, thread_ts)
        if self._fallback is not None:
            return self._fallback.pop(key, None)
        if self._last_asked is not None and key < self._last_asked:
            # History answered out of order: the merge cannot look back, so this
            # thread is treated as changed (one extra replies call, still correct).
            return None
        self._last_asked = key
        while self._head is not None and self._head[0] < key:
            self._advance()
        if self._head is not None and self._head[0] == key:
            item = self._head[1]
            self._advance()
            return item
        return None


def _in_order(items: Iterable[RawItem]) -> bool:
    last: tuple[str, int] | None = None
    for item in items:
        key = _key_of(item)
        if key is None:
            continue
        if last is not None and key <= last:
            return False
        last = key
    return True
