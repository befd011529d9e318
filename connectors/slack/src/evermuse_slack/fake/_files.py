"""The fake workspace's files: Slack's file objects, and bytes made from their id.

Messages hold file objects as Slack shapes them, with links on
``https://files.slack.com/``; the server rewrites that prefix to its own address
when it answers, so a client downloads from the fake. The bytes are generated from
the file's id (the same id, the same bytes) and streamed, never held whole.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from evermuse_slack.fake._workspace import FakeChannel, Workspace

__all__ = [
    "FILES_HOST",
    "connect_stub",
    "external_file",
    "file_bytes",
    "hosted_file",
    "rebased",
    "tombstone_file",
    "vary_files",
]

FILES_HOST = "https://files.slack.com/"
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_PIECE = 64 * 1024
_HEADS = {
    "image/png": b"\x89PNG\r\n\x1a\n",
    "application/pdf": b"%PDF-1.7\n",
    "video/mp4": b"\x00\x00\x00\x18ftypmp42",
}
_FILETYPES = {
    "image/png": ("png", "PNG"),
    "application/pdf": ("pdf", "PDF"),
    "text/csv": ("csv", "CSV"),
    "video/mp4": ("mp4", "MPEG 4 Video"),
    "text/plain": ("text", "Plain Text"),
    "text/html": ("html", "HTML"),
}


def hosted_file(
    ws: Workspace,
    fid: str,
    *,
    name: str,
    mimetype: str,
    size: int,
    user: str,
    created: datetime | int,
    title: str | None = None,
) -> dict[str, Any]:
    """A file uploaded to Slack, as messages and files.info carry it."""
    stamp = created if isinstance(created, int) else int(created.timestamp())
    filetype, pretty = _FILETYPES.get(mimetype, ("binary", "Binary"))
    slug = quote(name.replace(" ", "_"), safe="._-")
    base = f"{FILES_HOST}files-pri/{ws.team_id}-{fid}"
    return {
        "id": fid,
        "created": stamp,
        "timestamp": stamp,
        "name": name,
        "title": title or name.rsplit(".", 1)[0],
        "mimetype": mimetype,
        "filetype": filetype,
        "pretty_type": pretty,
        "user": user,
        "user_team": ws.team_id,
        "editable": False,
        "size": size,
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": True,
        "public_url_shared": False,
        "url_private": f"{base}/{slug}",
        "url_private_download": f"{base}/download/{slug}",
        "permalink": f"{ws.url}files/{user}/{fid}/{slug}",
        "file_access": "visible",
    }


def external_file(
    ws: Workspace, fid: str, *, user: str, created: int
) -> dict[str, Any]:
    """A Google Drive document shared in a message: Slack holds only its link."""
    doc = "".join(random.Random(fid).choice(_ALNUM) for _ in range(24))  # noqa: S311
    return {
        "id": fid,
        "created": created,
        "timestamp": created,
        "name": "Roadmap 2026",
        "title": "Roadmap 2026",
        "mimetype": "application/vnd.google-apps.document",
        "filetype": "gdoc",
        "pretty_type": "Google Docs",
        "user": user,
        "size": 0,
        "mode": "external",
        "is_external": True,
        "external_type": "gdrive",
        "url_private": f"https://docs.google.com/document/d/{doc}/edit",
        "permalink": f"{ws.url}files/{user}/{fid}/roadmap_2026",
        "file_access": "visible",
    }


def tombstone_file(fid: str) -> dict[str, Any]:
    """What a message keeps of a file deleted after it was shared."""
    return {"id": fid, "mode": "tombstone"}


def connect_stub(fid: str) -> dict[str, Any]:
    """What a Slack Connect channel shows of another organisation's file: no name,
    no type, no links; files.info says whether this app may read it."""
    return {
        "id": fid,
        "mode": "file_access",
        "file_access": "check_file_info",
        "created": 0,
        "timestamp": 0,
        "user": "",
    }


def file_bytes(fid: str, size: int, mimetype: str = "") -> Iterator[bytes]:
    """The file's content in pieces: the same id and size, the same bytes."""
    rng = random.Random(f"file-bytes-{fid}")  # noqa: S311 (sample data)
    head = _HEADS.get(mimetype, b"")
    line = f"{fid},Northwind,42.00\n".encode()
    sent = 0
    while sent < size:
        count = min(_PIECE, size - sent)
        if mimetype.startswith("text/"):
            start = sent % len(line)
            piece = (line * (count // len(line) + 2))[start : start + count]
        else:
            piece = rng.randbytes(count)
        if sent == 0 and head:
            piece = (head + piece[len(head) :])[:count]
        yield piece
        sent += count


def rebased(value: dict[str, Any], base: str) -> dict[str, Any]:
    """A copy of a file object whose Slack file links point at ``base``."""
    return {
        key: base + item[len(FILES_HOST) :]
        if isinstance(item, str) and item.startswith(FILES_HOST)
        else item
        for key, item in value.items()
    }


def _id(rng: random.Random) -> str:
    return "F" + "".join(rng.choice(_ALNUM) for _ in range(10))


def vary_files(ws: Workspace, seed: int) -> None:
    """Give the sample files of the kinds real workspaces hold: screenshots, PDFs,
    two files in one message, videos, a Google Drive link, a deleted file, files
    in replies, and Slack Connect files of the other team (every second one
    unreadable to the app).

    A random stream of its own, so that the rest of the sample stays as it was.
    """
    rng = random.Random(f"files-{seed}")  # noqa: S311 (sample data)
    external = {u["id"] for u in ws.external_users}
    humans = {u["id"] for u in ws.users if not u.get("is_bot") and not u["deleted"]}
    picked = sorted(
        _picked(ws, rng, humans, external), key=lambda p: (p[1]["ts"], p[0].id)
    )
    connect = 0
    for index, (channel, message) in enumerate(picked):
        user = str(message.get("user") or "")
        first = (message.get("files") or [None])[0]
        created = int(float(message["ts"]))
        if channel.ext_shared and user in external:
            message["files"] = [_connect_file(ws, rng, user, created, connect)]
            connect += 1
            continue
        if first is None:
            first = hosted_file(
                ws,
                _id(rng),
                name=f"screenshot {index}.png",
                mimetype="image/png",
                size=rng.randint(2_000, 400_000),
                user=user,
                created=created,
            )
            message["upload"] = True
        message["files"] = _variant(ws, rng, index, first, user, created)


def _picked(
    ws: Workspace, rng: random.Random, humans: set[str], external: set[str]
) -> Iterator[tuple[FakeChannel, dict[str, Any]]]:
    """The messages that share files: those the sample gave one, and a few more
    plain messages and replies by people (often the other team's, in a shared
    channel)."""
    for channel in ws.channels:
        for message in _with_files(channel):
            yield channel, message
        replies = [r for group in channel.replies.values() for r in group]
        for message in [*channel.messages, *replies]:
            if message.get("subtype") or message.get("files"):
                continue
            user = message.get("user")
            share = 0.35 if user in external else 0.06 if user in humans else 0.0
            if rng.random() < share:
                yield channel, message


def _connect_file(
    ws: Workspace, rng: random.Random, user: str, created: int, number: int
) -> dict[str, Any]:
    fid = _id(rng)
    full = hosted_file(
        ws,
        fid,
        name="contract draft v2.pdf",
        mimetype="application/pdf",
        size=rng.randint(20_000, 300_000),
        user=user,
        created=created,
    )
    full["user_team"] = ws.external_team_id
    ws.connect_files[fid] = full
    if number % 2:
        ws.unreadable_files.add(fid)
    return connect_stub(fid)


def _with_files(channel: FakeChannel) -> Iterator[dict[str, Any]]:
    for message in channel.messages:
        if message.get("files"):
            yield message
    for replies in channel.replies.values():
        for reply in replies:
            if reply.get("files"):
                yield reply


def _variant(
    ws: Workspace,
    rng: random.Random,
    index: int,
    first: dict[str, Any],
    user: str,
    created: int,
) -> list[dict[str, Any]]:
    kind = index % 6
    if kind == 1:
        return [
            hosted_file(
                ws,
                _id(rng),
                name="Q3 report – Überblick.pdf",
                mimetype="application/pdf",
                size=rng.randint(40_000, 600_000),
                user=user,
                created=created,
            )
        ]
    if kind == 2:
        csv = hosted_file(
            ws,
            _id(rng),
            name="export (3).csv",
            mimetype="text/csv",
            size=rng.randint(500, 20_000),
            user=user,
            created=created,
        )
        return [first, csv]
    if kind == 3:
        return [external_file(ws, _id(rng), user=user, created=created)]
    if kind == 4:
        return [tombstone_file(str(first["id"]))]
    if kind == 5:
        return [
            hosted_file(
                ws,
                _id(rng),
                name="screen recording.mp4",
                mimetype="video/mp4",
                size=rng.randint(400_000, 1_200_000),
                user=user,
                created=created,
            )
        ]
    return [first]
