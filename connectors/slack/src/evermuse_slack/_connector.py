"""The Slack connector: one ``conversation`` record per thread."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from evermuse_connectors.connector import (
    Completeness,
    Connector,
    ExtractContext,
    ExtractStats,
    NormaliseContext,
    RawItem,
)
from evermuse_connectors.envelope import Record, RecordType
from evermuse_slack._completeness import thread_completeness
from evermuse_slack._config import SlackConfig
from evermuse_slack._export import extract_from_export
from evermuse_slack._extract import extract_from_api
from evermuse_slack._normalise import normalise_thread
from evermuse_slack._threads import THREAD_KIND
from evermuse_slack.fake import FakeSlack

__all__ = ["SlackConnector"]


class SlackConnector(Connector[SlackConfig]):
    name = "slack"
    config_model = SlackConfig
    record_types = (RecordType.CONVERSATION,)
    description = (
        "Slack conversations (a parent message and its replies) from the Web API "
        "or a workspace export."
    )
    api_pool = "slack_api"
    # Late replies land on old parents: each tick re-runs this many windows (30
    # days of daily windows), which costs history pages only when nothing changed.
    default_refresh_windows = 30

    def extract(self, config: SlackConfig, ctx: ExtractContext) -> Iterator[RawItem]:
        if config.uses_export(ctx.window.end):
            return extract_from_export(config, ctx)
        return extract_from_api(config, ctx)

    def normalise(
        self, item: RawItem, config: SlackConfig, ctx: NormaliseContext
    ) -> list[Record]:
        return normalise_thread(item.id, item.kind, item.data, config, ctx.routing)

    def fake_source(self, *, seed: int, now: datetime) -> FakeSlack:
        return FakeSlack.start(seed=seed, now=now)

    def malformed_item(self) -> RawItem:
        # A real thread item whose parent ts was mangled (say, by a hand edit).
        return RawItem(
            id="C0MALFORMED:not-a-ts",
            kind=THREAD_KIND,
            data={
                "team_id": "T0FAKE",
                "channel": {"id": "C0MALFORMED", "name": "x", "type": "public_channel"},
                "thread_ts": "not-a-ts",
                "messages": [{"type": "message", "user": "U0X", "text": "hi"}],
                "users": {},
                "channels": {},
                "reported": [0, ""],
                "fetch": {"via": "api"},
            },
        )

    def completeness(
        self, items: Iterable[RawItem], stats: ExtractStats
    ) -> Completeness | None:
        return thread_completeness(items, stats)
