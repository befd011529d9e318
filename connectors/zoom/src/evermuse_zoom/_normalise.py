"""From one raw ``meeting`` item to a ``call`` record and its ``call_transcription``s.

The raw item (built by extract) holds::

    meeting                  the instance's recordings object from Zoom
    download_access_token    the token that makes its download URLs fetchable
    participants             Zoom's past-meeting participants, or None if unavailable
    transcripts              {transcript file id: the VTT text}
    listed_for               the user whose listing held it ({id, email}), or None

Identity: a ``call`` is ``{meeting_uuid}`` at the meeting's start; a transcript is
``{meeting_uuid, transcript_file_id}`` at the same start, tied to its call by
``_thread_id`` = the meeting UUID. The UUID names one instance of a meeting (a
recurring meeting's number repeats, its UUIDs do not), and the start never moves,
so re-sending a call whose recordings or participants changed overwrites it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx

from evermuse_connectors.connector import NormaliseContext, RawItem
from evermuse_connectors.envelope import (
    Attachment,
    AttachmentType,
    Participant,
    ParticipantType,
    Record,
    RecordType,
    Role,
)
from evermuse_connectors.errors import RecordError, shorten
from evermuse_zoom._client import parse_zoom_time
from evermuse_zoom._config import ZoomConfig, is_safe_url
from evermuse_zoom._pii import pii_of
from evermuse_zoom._vtt import parse_vtt

__all__ = ["MEETING_KIND", "normalise_meeting", "recording_files"]

logger = logging.getLogger(__name__)

MEETING_KIND = "meeting"
_MEDIA = {
    "M4A": (AttachmentType.AUDIO, "audio/mp4"),
    "MP4": (AttachmentType.VIDEO, "video/mp4"),
}
_MAX_ATTACHMENTS = 10  # the envelope's limit
_MAX_PARTICIPANTS = 5000
_MAX_URL = 2048
# File metadata that reaches the record; URLs (download, play, share) stay out.
_FILE_FIELDS = (
    "id",
    "file_type",
    "file_extension",
    "file_size",
    "recording_type",
    "recording_start",
    "recording_end",
    "status",
)
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
_UNSAFE_NAME = re.compile(r"[^\w.-]+")


def normalise_meeting(
    item: RawItem, config: ZoomConfig, ctx: NormaliseContext
) -> list[Record]:
    if item.kind != MEETING_KIND:
        raise RecordError(
            f"kind: expected {MEETING_KIND!r}, got {shorten(item.kind)}; this raw "
            "item was not written by the zoom connector"
        )
    meeting = _mapping(item.data.get("meeting"), "meeting")
    uuid = meeting.get("uuid")
    if not isinstance(uuid, str) or not uuid.strip():
        raise RecordError(
            f"meeting.uuid: expected the instance's UUID, got {shorten(uuid)}; "
            "re-extract the window so the item comes from Zoom's listing"
        )
    started = parse_zoom_time(meeting.get("start_time"))
    if started is None:
        raise RecordError(
            f"meeting.start_time: expected an ISO-8601 time such as "
            f"2026-03-09T14:00:00Z, got {shorten(meeting.get('start_time'))}; "
            "re-extract the window"
        )
    host = _host(meeting, item.data)
    people = _participants(host, item.data, config)
    call = _call(item, meeting, uuid, started, host, people, ctx)
    return [call, *_transcriptions(item, meeting, uuid, started, people, ctx)]


def _mapping(value: object, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(
            f"{field}: expected an object, got {shorten(value)}; re-extract the window"
        )
    return value


def recording_files(meeting: dict[str, Any]) -> list[dict[str, Any]]:
    """The meeting's file entries that are objects (Zoom's list, tolerantly read)."""
    files = meeting.get("recording_files")
    return [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []


def _tags(ctx: NormaliseContext) -> list[str]:
    return list(dict.fromkeys([*ctx.routing.tags, "zoom"]))


def _host(meeting: dict[str, Any], data: dict[str, Any]) -> dict[str, str]:
    host = {"id": str(meeting.get("host_id") or "")}
    email = meeting.get("host_email")
    listed_for = data.get("listed_for") or {}
    # A per-user listing belongs to the host: its email is the host's.
    if (
        not email
        and isinstance(listed_for, dict)
        and listed_for.get("id") in (None, host["id"])
    ):
        email = listed_for.get("email")
    if isinstance(email, str) and _EMAIL.match(email):
        host["email"] = email
    return {k: v for k, v in host.items() if v}


# -- the call record ---------------------------------------------------------------


def _call(
    item: RawItem,
    meeting: dict[str, Any],
    uuid: str,
    started: datetime,
    host: dict[str, str],
    people: list[Participant],
    ctx: NormaliseContext,
) -> Record:
    files = recording_files(meeting)
    topic = str(meeting.get("topic") or "")
    data = {
        "meeting_uuid": uuid,
        "meeting_id": meeting.get("id"),
        "topic": topic,
        "start_time": meeting.get("start_time"),
        "duration_minutes": meeting.get("duration"),
        "timezone": meeting.get("timezone"),
        "meeting_type": meeting.get("type"),
        "host": host,
        "total_size": meeting.get("total_size"),
        "recording_files": [
            {k: f[k] for k in _FILE_FIELDS if f.get(k) is not None} for f in files
        ],
        "participant_count": len(people),
        "participants_available": item.data.get("participants") is not None,
        "transcript_file_ids": sorted(item.data.get("transcripts") or {}),
    }
    texts = [
        topic,
        host.get("email"),
        *(p.name for p in people),
        *(p.email for p in people),
    ]
    return Record(
        type=RecordType.CALL,
        event_at=started,
        vendor_ids={"meeting_uuid": uuid},
        product_id=ctx.routing.product_id,
        project_ids=list(ctx.routing.project_ids),
        nature=ctx.routing.nature,
        data=data,
        thread_id=uuid,
        participants=people or None,
        attachments=_attachments(files, topic, item.data, uuid) or None,
        tags=_tags(ctx),
        pii=pii_of(texts),
    )


def _attachments(
    files: list[dict[str, Any]], topic: str, data: dict[str, Any], uuid: str
) -> list[Attachment]:
    token = data.get("download_access_token")
    media = [f for f in files if f.get("file_type") in _MEDIA]
    # Audio first (the smallest file that carries the whole call), then video, each
    # in recording order; beyond the envelope's ten the rest stay in data only.
    media.sort(key=lambda f: (f["file_type"] != "M4A", str(f.get("recording_start"))))
    out: list[Attachment] = []
    for file in media:
        url = file.get("download_url")
        if file.get("status", "completed") != "completed":
            continue
        if not isinstance(url, str) or not is_safe_url(url) or not token:
            logger.warning(
                "meeting %s: recording file %s has no usable https download URL or "
                "token; attached without it",
                uuid,
                file.get("id"),
            )
            url = None
        vendor_url = _with_token(url, str(token)) if url else None
        if vendor_url and len(vendor_url) > _MAX_URL:
            logger.warning(
                "meeting %s: the download URL of file %s is longer than the "
                "envelope's %d characters; attached without it",
                uuid,
                file.get("id"),
                _MAX_URL,
            )
            vendor_url = None
        kind, mime = _MEDIA[file["file_type"]]
        out.append(
            Attachment(
                type=kind,
                filename=_filename(topic, file),
                size=_size(file.get("file_size")),
                mime_type=mime,
                vendor_url=vendor_url,
            )
        )
    if len(out) > _MAX_ATTACHMENTS:
        logger.warning(
            "meeting %s has %d audio/video files; the first %d are attached",
            uuid,
            len(out),
            _MAX_ATTACHMENTS,
        )
    return out[:_MAX_ATTACHMENTS]


def _with_token(url: str, token: str) -> str:
    # The documented way to make a download URL work without the API's credentials.
    return str(httpx.URL(url).copy_set_param("access_token", token))


def _filename(topic: str, file: dict[str, Any]) -> str:
    stem = _UNSAFE_NAME.sub("-", topic).strip("-")[:80] or "zoom-call"
    kind = str(file.get("recording_type") or file.get("file_type") or "recording")
    moment = parse_zoom_time(file.get("recording_start"))
    when = moment.strftime("%Y%m%dT%H%M%SZ") if moment else "unknown-time"
    extension = str(file.get("file_extension") or file.get("file_type") or "bin")
    return f"{stem}_{_UNSAFE_NAME.sub('-', kind)}_{when}.{extension.lower()}"


def _size(value: object) -> int | None:
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0
        else None
    )


# -- participants ------------------------------------------------------------------


def _participants(
    host: dict[str, str], data: dict[str, Any], config: ZoomConfig
) -> list[Participant]:
    people: list[dict[str, Any]] = []
    index: dict[str, dict[str, Any]] = {}
    if host.get("id"):
        people.append({**host, "zoom_id": host["id"], "internal_user": True})
        index[host["id"]] = people[0]
        if host.get("email"):
            index[host["email"].lower()] = people[0]
    raw = data.get("participants")
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, dict):
            _merge(people, index, entry)
    found = (_participant(p, config) for p in people)
    return [p for p in found if p is not None][:_MAX_PARTICIPANTS]


def _merge(
    people: list[dict[str, Any]],
    index: dict[str, dict[str, Any]],
    entry: dict[str, Any],
) -> None:
    """Fold one join into the person it belongs to (people leave and rejoin)."""
    email = str(entry.get("user_email") or "").strip()
    email = email if _EMAIL.match(email) else ""
    zoom_id = str(entry.get("id") or "").strip()
    name = " ".join(str(entry.get("name") or "").split())
    # Email and Zoom user id identify a person; a bare display name only when
    # nothing else is known (guests), so two guests with one name become one.
    keys = [k for k in (email.lower(), zoom_id) if k] or (
        [f"name:{name.lower()}"] if name else []
    )
    if not keys:
        return  # a join with no name, email or id (a deleted user): nobody to name
    person = next((index[k] for k in keys if k in index), None)
    if person is None:
        person = {}
        people.append(person)
    for key in keys:
        index.setdefault(key, person)
    for field, value in (("email", email), ("name", name), ("zoom_id", zoom_id)):
        if value and not person.get(field):
            person[field] = value
    flag = entry.get("internal_user")
    if isinstance(flag, bool) and person.get("internal_user") is not True:
        person["internal_user"] = flag


def _participant(person: dict[str, Any], config: ZoomConfig) -> Participant | None:
    email = person.get("email") or None
    name = person.get("name") or None
    identifier = email or person.get("zoom_id") or (name and f"name:{name}")
    if not identifier:
        return None
    role = _role(person, email, config)
    return Participant(
        id=str(identifier)[:256],
        name=name[:256] if name else None,
        email=email if email and len(email) <= 320 else None,
        role=role,
        type=ParticipantType.WORKSPACE_MEMBER
        if role is Role.INTERNAL
        else ParticipantType.USER,
    )


def _role(person: dict[str, Any], email: str | None, config: ZoomConfig) -> Role:
    domain = email.rsplit("@", 1)[1].lower() if email else None
    flag = person.get("internal_user")
    if flag is True or (domain and domain in config.internal_domains):
        return Role.INTERNAL
    if flag is False or (domain and config.internal_domains):
        return Role.EXTERNAL
    return Role.UNKNOWN


# -- transcripts -------------------------------------------------------------------


def _transcriptions(
    item: RawItem,
    meeting: dict[str, Any],
    uuid: str,
    started: datetime,
    people: list[Participant],
    ctx: NormaliseContext,
) -> Iterator[Record]:
    texts = item.data.get("transcripts")
    if not isinstance(texts, dict):
        return
    by_id = {str(f.get("id")): f for f in recording_files(meeting) if f.get("id")}
    for file_id in sorted(texts):
        vtt = texts[file_id]
        if not isinstance(vtt, str):
            raise RecordError(
                f"transcripts.{shorten(file_id, 40)}: expected the VTT text, got "
                f"{shorten(vtt)}; re-extract the window"
            )
        transcript = parse_vtt(vtt)
        if not transcript.turns:
            logger.warning(
                "meeting %s: transcript %s has no speech; no record", uuid, file_id
            )
            continue
        turns = [t.to_json() for t in transcript.turns]
        file = by_id.get(file_id, {})
        yield Record(
            type=RecordType.CALL_TRANSCRIPTION,
            event_at=started,
            vendor_ids={"meeting_uuid": uuid, "transcript_file_id": file_id},
            product_id=ctx.routing.product_id,
            project_ids=list(ctx.routing.project_ids),
            nature=ctx.routing.nature,
            data={
                "meeting_uuid": uuid,
                "meeting_id": meeting.get("id"),
                "topic": str(meeting.get("topic") or ""),
                "transcript_file_id": file_id,
                "recording_start": file.get("recording_start"),
                "speakers": sorted({t.speaker for t in transcript.turns if t.speaker}),
                "turns": turns,
                "cues": transcript.cues,
                "unreadable_cues": transcript.skipped,
            },
            thread_id=uuid,
            participants=people or None,
            tags=_tags(ctx),
            pii=pii_of(
                [
                    *(t.text for t in transcript.turns),
                    *(p.email for p in people),
                    *(t.speaker for t in transcript.turns),
                ]
            ),
        )
