"""The Zoom connector: recordings as ``call`` and ``call_transcription`` records."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import ClassVar

from evermuse_connectors.connector import (
    Completeness,
    Connector,
    ExtractContext,
    ExtractStats,
    FakeSource,
    NormaliseContext,
    RawItem,
)
from evermuse_connectors.envelope import Record, RecordType
from evermuse_zoom._config import ZoomConfig
from evermuse_zoom._extract import extract_window
from evermuse_zoom._normalise import MEETING_KIND, normalise_meeting

__all__ = ["ZoomConnector"]


class ZoomConnector(Connector[ZoomConfig]):
    """Zoom cloud recordings of one account, read with a Server-to-Server OAuth app."""

    name: ClassVar[str] = "zoom"
    config_model: ClassVar[type[ZoomConfig]] = ZoomConfig
    record_types: ClassVar[tuple[RecordType, ...]] = (
        RecordType.CALL,
        RecordType.CALL_TRANSCRIPTION,
    )
    description: ClassVar[str] = (
        "Zoom cloud recordings: one call per meeting instance with its audio and "
        "video files, and its transcript where Zoom made one"
    )
    api_pool: ClassVar[str] = "zoom_api"

    def extract(self, config: ZoomConfig, ctx: ExtractContext) -> Iterator[RawItem]:
        return extract_window(config, ctx)

    def normalise(
        self, item: RawItem, config: ZoomConfig, ctx: NormaliseContext
    ) -> list[Record]:
        return normalise_meeting(item, config, ctx)

    def fake_source(self, *, seed: int, now: datetime) -> FakeSource:
        from evermuse_zoom.fake import FakeZoom

        return FakeZoom.start(seed=seed, now=now)

    def malformed_item(self) -> RawItem:
        # A real listing entry whose start time Zoom garbled: no identity possible.
        return RawItem(
            id=f"{MEETING_KIND}:malformed",
            kind=MEETING_KIND,
            data={
                "meeting": {"uuid": "bWFsZm9ybWVkLW1lZXRpbmc=", "start_time": "soon"},
                "participants": None,
                "transcripts": {},
            },
        )

    def completeness(
        self, items: Iterable[RawItem], stats: ExtractStats
    ) -> Completeness | None:
        meetings = transcripts = 0
        for item in items:
            meetings += 1
            transcripts += len(item.data.get("transcripts") or {})
        expected = stats.expected
        listed = int(stats.notes.get("listed", 0))
        checks = {
            "meetings": (meetings, expected.get("meetings", 0)),
            "transcripts": (transcripts, expected.get("transcripts", 0)),
            "listed": (listed, expected.get("listed", listed)),
        }
        short = {k: want - got for k, (got, want) in checks.items() if got < want}
        passed = not short and not stats.skipped
        if passed:
            description = (
                f"all {meetings} meeting(s) and {transcripts} transcript(s) Zoom "
                "listed for the window were fetched"
            )
        else:
            missing = ", ".join(f"{n} {what}" for what, n in short.items())
            description = (
                f"short of what Zoom listed: {missing or 'nothing'}; "
                f"{len(stats.skipped)} item(s) could not be fetched"
            )
        return Completeness(
            passed=passed,
            description=description,
            metadata={
                "meetings": meetings,
                "transcripts": transcripts,
                "expected": dict(sorted(expected.items())),
                "skipped": [s.item_id for s in stats.skipped][:50],
            },
        )
