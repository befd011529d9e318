"""Extract one window from a Slack workspace export, the zip an admin downloads.

The export has ``users.json``, ``channels.json`` (public), and in a full export
``groups.json``, ``mpims.json`` and ``dms.json``; then one folder per conversation
(named after the channel, or its id for a DM) holding one ``YYYY-MM-DD.json`` array
of messages per day with activity. Parents and replies sit in the day they were
posted, so a thread's late replies are in later files: each parent's
``latest_reply`` says how far to read. The items are the same shape as the API
path's, so the normaliser, the records and their identities are the same too.
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from evermuse_connectors.connector import ExtractContext, RawItem
from evermuse_connectors.errors import ConfigError
from evermuse_slack._config import ChannelType, SlackConfig
from evermuse_slack._directory import (
    Directory,
    channel_entry,
    select_channels,
    user_entry,
)
from evermuse_slack._staging import with_export_reasons
from evermuse_slack._threads import (
    clean_message,
    referenced_users,
    signature,
    thread_item,
)
from evermuse_slack._ts import format_ts, is_ts, ts_datetime, ts_micros

__all__ = ["extract_from_export"]

logger = logging.getLogger(__name__)

_DAY_FILE = re.compile(r"^(?P<folder>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})\.json$")
_CHANNEL_FILES: tuple[tuple[str, ChannelType], ...] = (
    ("channels.json", "public_channel"),
    ("groups.json", "private_channel"),
    ("mpims.json", "mpim"),
    ("dms.json", "im"),
)


def extract_from_export(config: SlackConfig, ctx: ExtractContext) -> Iterator[RawItem]:
    path = Path(str(config.export_path)).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"export_path {str(path)[:120]!r} is not a file; point it at the zip "
            "downloaded from Slack's workspace settings (Import/Export Data)"
        )
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ConfigError(
            f"export_path {path.name!r} is not a zip file; expected Slack's export"
        ) from exc
    with archive:
        yield from _ExportWindow(archive, config, ctx).run()


class _ExportWindow:
    def __init__(
        self, archive: zipfile.ZipFile, config: SlackConfig, ctx: ExtractContext
    ) -> None:
        self.archive = archive
        self.config = config
        self.ctx = ctx
        self.days: dict[str, list[str]] = defaultdict(list)
        for name in archive.namelist():
            match = _DAY_FILE.match(name)
            if match:
                self.days[match["folder"]].append(match["day"])
        for days in self.days.values():
            days.sort()
        self.folders: dict[str, str] = {}

    def run(self) -> Iterator[RawItem]:
        directory = Directory(
            team_id=str(self.config.team_id),
            workspace_url=self.config.workspace_url,
            users=self._users(),
            channels=self._channels(),
            source="export",
        )
        selected, missing = select_channels(directory.channels, self.config)
        for ref, reason in missing:
            self.ctx.skip(f"channel:{ref}", reason)
        threads = 0
        for channel in selected:
            for item in self._threads(directory, channel):
                threads += 1
                yield item
        self.ctx.stats.notes.update(
            {"directory": "export", "channels_read": len(selected), "threads": threads}
        )
        logger.info(
            "%s: window %s from the export: %d threads in %d channels",
            self.ctx.source,
            self.ctx.window.key,
            threads,
            len(selected),
        )

    def _load(self, name: str) -> Any:
        try:
            raw = self.archive.read(name)
        except KeyError:
            return None
        try:
            return json.loads(raw.decode("utf-8-sig", errors="replace"))
        except ValueError:
            logger.warning("export file %s is not JSON; skipped", name)
            return None

    def _users(self) -> dict[str, dict[str, Any]]:
        users: dict[str, dict[str, Any]] = {}
        # Enterprise Grid exports call the file org_users.json.
        for name in ("users.json", "org_users.json"):
            for user in self._load(name) or []:
                if isinstance(user, Mapping) and user.get("id"):
                    users[str(user["id"])] = user_entry(user)
        return users

    def _channels(self) -> list[dict[str, Any]]:
        channels = []
        for name, kind in _CHANNEL_FILES:
            for channel in self._load(name) or []:
                if not isinstance(channel, Mapping) or not channel.get("id"):
                    continue
                entry = channel_entry(channel, kind=kind)
                # Channel folders carry the name; DM folders carry the id.
                folder = str(channel.get("name") or channel["id"])
                self.folders[entry["id"]] = entry["id"] if kind == "im" else folder
                channels.append(entry)
        return channels

    def _messages(
        self, folder: str, first: date, last: date
    ) -> Iterator[dict[str, Any]]:
        for day in self.days.get(folder, []):
            if first.isoformat() <= day <= last.isoformat():
                for message in self._load(f"{folder}/{day}.json") or []:
                    if isinstance(message, dict) and is_ts(message.get("ts")):
                        yield message

    def _threads(
        self, directory: Directory, channel: dict[str, Any]
    ) -> Iterator[RawItem]:
        folder = self.folders.get(channel["id"], channel["name"])
        start, end = (
            ts_micros(format_ts(self.ctx.window.start)),
            ts_micros(format_ts(self.ctx.window.end)),
        )
        # Day files follow the workspace's calendar, not UTC: read a day either side.
        first = self.ctx.window.start.date() - timedelta(days=1)
        last = self.ctx.window.end.date() + timedelta(days=1)
        parents = [
            m
            for m in self._messages(folder, first, last)
            if start <= ts_micros(m["ts"]) < end and _is_top_level(m)
        ]
        parents.sort(key=lambda m: -ts_micros(m["ts"]))
        replies = self._replies(folder, parents, first)
        for parent in parents:
            thread_ts = str(parent["ts"])
            found = replies.get(ts_micros(thread_ts), {})
            messages = [clean_message(parent)] + [
                clean_message(found[k]) for k in sorted(found)
            ]
            fetch: dict[str, Any] = {"via": "export", "replies": "export"}
            reported = signature(parent)
            last_day = (self.days.get(folder) or [""])[-1]
            if len(found) < reported[0] and _day_of(reported[1]) > last_day:
                fetch["note"] = "the export ends before the thread's latest reply"
            users = directory.users_for(referenced_users(messages), messages, None)
            item = thread_item(
                team_id=directory.team_id,
                workspace_url=directory.workspace_url,
                channel=channel,
                thread_ts=thread_ts,
                messages=messages,
                users=users,
                channel_names=directory.channel_names,
                reported=reported,
                fetch=fetch,
            )
            yield with_export_reasons(item, self.config, self.ctx)

    def _replies(
        self, folder: str, parents: list[dict[str, Any]], first: date
    ) -> dict[int, dict[int, dict[str, Any]]]:
        wanted = {ts_micros(p["ts"]) for p in parents if signature(p)[0] > 0}
        if not wanted:
            return {}
        latest = max(
            (
                ts_micros(p["latest_reply"])
                for p in parents
                if is_ts(p.get("latest_reply"))
            ),
            default=max(wanted),
        )
        last = ts_datetime(format_ts(latest)).date() + timedelta(days=1)
        found: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        for message in self._messages(folder, first, last):
            thread_ts = message.get("thread_ts")
            if not is_ts(thread_ts) or ts_micros(thread_ts) not in wanted:
                continue
            ts = ts_micros(message["ts"])
            if ts != ts_micros(thread_ts):
                found[ts_micros(thread_ts)].setdefault(ts, message)
        return found


def _is_top_level(message: Mapping[str, Any]) -> bool:
    thread_ts = message.get("thread_ts")
    return not is_ts(thread_ts) or ts_micros(thread_ts) == ts_micros(message["ts"])


def _day_of(ts: object) -> str:
    if not is_ts(ts):
        return ""
    return ts_datetime(str(ts)).date().isoformat()
