"""A test kit for the Slack connector: run windows against the fake like the
framework does (raw items stored per window, so a re-run sees them as
``previous_items``). Used by the connector's tests and ``benchmarks/slack.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from evermuse_connectors.connector import (
    ExtractContext,
    ExtractStats,
    NormaliseContext,
    RawItem,
    Routing,
    Window,
)
from evermuse_connectors.connector._normalise import NormaliseFailure, normalise_items
from evermuse_connectors.envelope import Record
from evermuse_connectors.store import Store
from evermuse_connectors.testing import day_window
from evermuse_slack._config import SlackConfig
from evermuse_slack._connector import SlackConnector
from evermuse_slack._ts import ts_micros
from evermuse_slack.fake import FakeChannel, FakeSlack

__all__ = ["ROUTING", "Harness", "SyncResult"]

ROUTING = Routing(product_id="prod-slack", project_ids=["proj-slack"], tags=["team-a"])


@dataclass
class SyncResult:
    """What one window gave: raw items, records, normalise failures, stats."""

    items: list[RawItem]
    records: list[Record]
    failures: list[NormaliseFailure]
    stats: ExtractStats

    def item(self, item_id: str) -> RawItem:
        return next(i for i in self.items if i.id == item_id)

    def record_bytes(self) -> list[bytes]:
        return [r.to_bytes() for r in self.records]


class Harness:
    """Runs windows of one source against a fake Slack, as the framework would."""

    def __init__(
        self, fake: FakeSlack, root: Path, *, routing: Routing = ROUTING
    ) -> None:
        self.fake = fake
        self.now = fake.workspace.now
        self.routing = routing
        self.store = Store(str(root / "store"))
        self.connector = SlackConnector()

    def config(self, **overrides: Any) -> SlackConfig:
        return self.connector.parse_config({**self.fake.settings, **overrides})

    def window(self, days_back: int) -> Window:
        """The UTC day ``days_back`` days before the fake's ``now``."""
        return day_window(self.now - timedelta(days=days_back))

    def sync(
        self,
        window: Window,
        config: SlackConfig | None = None,
        *,
        source: str = "slack_test",
        store: Store | None = None,
    ) -> SyncResult:
        store = store or self.store
        config = config or self.config()
        ctx = ExtractContext(
            source=source, window=window, store=store, environ=self.fake.environ
        )
        try:
            items = list(self.connector.extract(config, ctx))
        finally:
            ctx.close()
        # What the framework's raw stage does: the next run's previous_items.
        store.write(source, "raw", window.key, (i.to_json() for i in items))
        records: list[Record] = []
        failures: list[NormaliseFailure] = []
        for out in normalise_items(
            self.connector, config, items, NormaliseContext(source, self.routing)
        ):
            if isinstance(out, NormaliseFailure):
                failures.append(out)
            else:
                records.append(out)
        return SyncResult(items, records, failures, ctx.stats)

    def channel(self, name: str) -> FakeChannel:
        return next(c for c in self.fake.workspace.channels if c.name == name)

    def threads_in(self, window: Window, name: str = "support") -> list[dict[str, Any]]:
        """Parents with replies posted inside ``window`` in channel ``name``."""
        channel = self.channel(name)
        start = ts_micros(f"{window.start_epoch}.000000")
        end = ts_micros(f"{window.end_epoch}.000000")
        return [
            m
            for m in channel.messages
            if start <= ts_micros(m["ts"]) < end
            and channel.replies.get(m["ts"])
            and m.get("subtype") is None
        ]

    def calls_of(self, method: str) -> list[dict[str, str]]:
        return [params for _, name, params in self.fake.requests if name == method]
