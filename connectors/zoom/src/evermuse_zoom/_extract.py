"""One window's extract: list the recordings, then fetch what each instance needs.

Per meeting instance that started in the window, extract asks Zoom for a download
token (its recordings object), its participants, and each finished transcript's
VTT text, and yields one raw ``meeting`` item holding all of it (normalise is pure,
so everything it needs is fetched here).

A re-run is cheap: an instance whose listing entry is unchanged since the previous
extract of the window, whose earlier fetch was complete, and whose download token
still has long enough to live is taken from the previous raw items instead of being
fetched again, so a refresh with nothing new costs only the listing calls.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from evermuse_connectors.connector import ExtractContext, RawItem
from evermuse_connectors.errors import SourceError
from evermuse_zoom._client import (
    ListedMeeting,
    ZoomApiError,
    ZoomClient,
    parse_zoom_time,
)
from evermuse_zoom._config import ZoomConfig
from evermuse_zoom._normalise import MEETING_KIND, recording_files

__all__ = ["extract_window", "item_id"]

logger = logging.getLogger(__name__)

_MEDIA_TYPES = frozenset({"MP4", "M4A"})
# Passcodes have no use downstream: they are dropped before the item is stored.
_DROPPED = ("download_access_token", "password", "recording_play_passcode")


def item_id(uuid: str) -> str:
    return f"{MEETING_KIND}:{uuid}"


def fingerprint(meeting: dict[str, Any]) -> str:
    """A digest of a listing entry: equal digests, nothing changed in Zoom."""
    body = json.dumps(meeting, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _transcript_files(meeting: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        f
        for f in recording_files(meeting)
        if f.get("file_type") == "TRANSCRIPT"
        and f.get("id")
        and f.get("status", "completed") == "completed"
    ]


def _has_media(meeting: dict[str, Any]) -> bool:
    return any(f.get("file_type") in _MEDIA_TYPES for f in recording_files(meeting))


@dataclass(frozen=True)
class _Previous:
    fingerprint: str
    token_expires_at: datetime | None
    complete: bool
    transcripts: frozenset[str]


def _index_previous(ctx: ExtractContext) -> dict[str, _Previous]:
    """What the window's previous extract fetched, by UUID (small: no content)."""
    index: dict[str, _Previous] = {}
    for item in ctx.previous_items():
        meeting = item.data.get("meeting")
        uuid = meeting.get("uuid") if isinstance(meeting, dict) else None
        if item.kind != MEETING_KIND or not isinstance(uuid, str):
            continue
        index[uuid] = _Previous(
            fingerprint=str(item.data.get("fingerprint")),
            token_expires_at=parse_zoom_time(
                item.data.get("download_token_expires_at")
            ),
            complete=item.data.get("complete") is True,
            transcripts=frozenset(item.data.get("transcripts") or ()),
        )
    return index


class _WindowExtract:
    def __init__(self, config: ZoomConfig, ctx: ExtractContext) -> None:
        self.config = config
        self.ctx = ctx
        self.client = ZoomClient(config, ctx)
        self.now = datetime.now(UTC)
        self.counts = {"fetched": 0, "reused": 0, "participants_unavailable": 0}

    def run(self) -> Iterator[RawItem]:
        previous = _index_previous(self.ctx)
        reuse: set[str] = set()
        for listed in self.client.recordings(self.ctx.window):
            meeting = listed.meeting
            uuid = str(meeting["uuid"])
            self.ctx.expect("meetings", 1)
            self.ctx.expect("transcripts", len(self._wanted_transcripts(meeting)))
            if self._reusable(previous.get(uuid), meeting):
                reuse.add(uuid)
                continue
            item = self._fetch(listed)
            if item is not None:
                self.counts["fetched"] += 1
                yield item
        if reuse:
            yield from self._reused(reuse)
        self.ctx.stats.notes.update(self.counts)
        self.ctx.stats.notes["http"] = self.client.http_stats()
        logger.info(
            "window %s: %d meeting(s) fetched, %d re-used",
            self.ctx.window.key,
            self.counts["fetched"],
            self.counts["reused"],
        )

    def _wanted_transcripts(self, meeting: dict[str, Any]) -> list[dict[str, Any]]:
        return _transcript_files(meeting) if self.config.fetch_transcripts else []

    def _reusable(self, before: _Previous | None, meeting: dict[str, Any]) -> bool:
        if before is None or not before.complete:
            return False
        if before.fingerprint != fingerprint(meeting):
            return False  # Zoom's entry changed: new files, a finished transcript
        wanted = {str(f["id"]) for f in self._wanted_transcripts(meeting)}
        if not wanted <= before.transcripts:
            return False  # fetched before with fetch_transcripts off
        if before.token_expires_at is None:
            return True  # nothing to download: no token was needed
        left = before.token_expires_at - self.now
        return left >= timedelta(seconds=self.config.reuse_min_token_seconds)

    def _reused(self, uuids: set[str]) -> Iterator[RawItem]:
        for item in self.ctx.previous_items():
            meeting = item.data.get("meeting")
            if isinstance(meeting, dict) and meeting.get("uuid") in uuids:
                uuids.discard(str(meeting["uuid"]))
                self.counts["reused"] += 1
                yield item

    def _fetch(self, listed: ListedMeeting) -> RawItem | None:
        meeting = dict(listed.meeting)
        uuid = str(meeting["uuid"])
        digest = fingerprint(listed.meeting)
        token: str | None = None
        expires: str | None = None
        if _has_media(meeting):
            try:
                detail = self.client.meeting_recordings(uuid)
            except ZoomApiError as exc:
                if exc.status != 404:
                    raise
                # Deleted between the listing and now: nothing left to sync.
                self.ctx.skip(item_id(uuid), f"its recordings are gone ({exc})")
                return None
            meeting.update(detail)
            raw_token = detail.get("download_access_token")
            token = raw_token if isinstance(raw_token, str) and raw_token else None
            ttl = timedelta(seconds=self.config.download_token_ttl)
            expires = (self.now + ttl).strftime("%Y-%m-%dT%H:%M:%SZ") if token else None
        for key in _DROPPED:
            meeting.pop(key, None)
        participants = self._participants(uuid)
        transcripts, transcripts_ok = self._transcripts(uuid, meeting)
        return RawItem(
            id=item_id(uuid),
            kind=MEETING_KIND,
            data={
                "meeting": meeting,
                "download_access_token": token,
                "download_token_expires_at": expires,
                "participants": participants,
                "transcripts": transcripts,
                "listed_for": listed.listed_for,
                "fingerprint": digest,
                # Participants Zoom refused (400/404) stay refused: not a reason to
                # fetch the meeting again on a re-run, unlike a failed download.
                "complete": transcripts_ok
                and (token is not None or not _has_media(meeting)),
            },
        )

    def _participants(self, uuid: str) -> list[dict[str, Any]] | None:
        try:
            return self.client.participants(uuid)
        except ZoomApiError as exc:
            if exc.status not in (400, 404):
                raise
            # Zoom keeps participant lists for a limited time and not for every
            # meeting type; the call is still worth sending without them.
            self.counts["participants_unavailable"] += 1
            logger.warning("meeting %s: participants unavailable (%s)", uuid, exc)
            return None

    def _transcripts(
        self, uuid: str, meeting: dict[str, Any]
    ) -> tuple[dict[str, str], bool]:
        texts: dict[str, str] = {}
        complete = True
        for file in self._wanted_transcripts(meeting):
            file_id = str(file["id"])
            url = file.get("download_url")
            try:
                if not isinstance(url, str):
                    raise SourceError("the transcript file has no download_url")
                texts[file_id] = self.client.download_text(url)
            except SourceError as exc:
                complete = False
                self.ctx.skip(f"{item_id(uuid)}/transcript/{file_id}", str(exc))
        return texts, complete


def extract_window(config: ZoomConfig, ctx: ExtractContext) -> Iterator[RawItem]:
    """The raw ``meeting`` items of ``ctx.window``, one at a time."""
    yield from _WindowExtract(config, ctx).run()
