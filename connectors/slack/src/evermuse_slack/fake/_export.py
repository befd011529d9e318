"""Write the fake workspace as Slack's export zip, for the export path's tests.

The layout follows Slack's help article on export contents: ``users.json``,
``channels.json`` (public), ``groups.json`` (private), ``mpims.json``, ``dms.json``,
``integration_logs.json``, ``canvases.json``, then a folder per conversation (the
channel's name, or the id of a DM) with a ``YYYY-MM-DD.json`` array of that day's
messages, parents and replies alike. Messages carry ``user_profile``, as exports do.
"""

from __future__ import annotations

import json
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from evermuse_slack._ts import ts_datetime, ts_micros
from evermuse_slack.fake._workspace import SLACKBOT, FakeChannel, Workspace

__all__ = ["write_export"]

_FILES = {
    "public_channel": "channels.json",
    "private_channel": "groups.json",
    "mpim": "mpims.json",
    "im": "dms.json",
}
_STAMP = (2026, 1, 1, 0, 0, 0)  # fixed member dates: the same workspace, the same bytes


def _channel_object(channel: FakeChannel) -> dict[str, Any]:
    if channel.kind == "im":
        return {
            "id": channel.id,
            "created": channel.created,
            "members": channel.members,
        }
    return {
        "id": channel.id,
        "name": channel.name,
        "created": channel.created,
        "creator": channel.members[0] if channel.members else "",
        "is_archived": channel.is_archived,
        "is_general": channel.is_general,
        "members": channel.members,
        "topic": {"value": channel.topic, "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
    }


def _with_profile(workspace: Workspace, message: dict[str, Any]) -> dict[str, Any]:
    user = workspace.user(str(message.get("user") or ""))
    if user is None or user.get("is_bot") or user["id"] == SLACKBOT:
        return message
    profile = user.get("profile") or {}
    return {
        **message,
        "user_profile": {
            "avatar_hash": "",
            "image_72": profile.get("image_72", ""),
            "first_name": str(profile.get("real_name", "")).split(" ")[0],
            "real_name": profile.get("real_name", ""),
            "display_name": profile.get("display_name", ""),
            "team": user.get("team_id", ""),
            "name": user.get("name", ""),
            "is_restricted": False,
            "is_ultra_restricted": False,
        },
    }


def _write(archive: zipfile.ZipFile, name: str, value: object) -> None:
    info = zipfile.ZipInfo(name, date_time=_STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, json.dumps(value, ensure_ascii=False, indent=1))


def write_export(workspace: Workspace, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        _write(archive, "users.json", workspace.users)
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for channel in sorted(workspace.channels, key=lambda c: c.id):
            grouped[_FILES[channel.kind]].append(_channel_object(channel))
        for name in _FILES.values():
            _write(archive, name, grouped.get(name, []))
        _write(archive, "integration_logs.json", [])
        _write(archive, "canvases.json", [])
        for channel in workspace.channels:
            folder = channel.id if channel.kind == "im" else channel.name
            days: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for message in workspace.all_messages(channel):
                day = ts_datetime(message["ts"]).date().isoformat()
                days[day].append(_with_profile(workspace, message))
            for day in sorted(days):
                messages = sorted(days[day], key=lambda m: ts_micros(m["ts"]))
                _write(archive, f"{folder}/{day}.json", messages)
    return path
