"""A test kit for the Slack connector: run windows against the fake like the
framework does (raw items stored per window, so a re-run sees them as
``previous_items``). Used by the connector's tests and ``benchmarks/slack.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from evermuse_connectors.attachments import AttachmentPolicy, AttachmentStore
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
from evermuse_slack._files import ATTACHMENTS
from evermuse_slack._ts import ts_micros
from evermuse_slack.fake import FakeChannel, FakeSlack, file_bytes

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

    def entries(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(file id, entry) of every file entry extract wrote, item by item."""
        for item in self.items:
            yield from (item.data.get(ATTACHMENTS) or {}).items()

    def staged(self) -> dict[str, dict[str, Any]]:
        """The staged files by file id."""
        return {fid: e["staged"] for fid, e in self.entries() if "staged" in e}

    def reasons(self) -> dict[str, str]:
        """Why each file of the records stayed metadata only, by file id."""
        return {
            str(x["file_id"]): str(x["reason"])
            for record in self.records
            for x in record.data.get("attachments_not_staged", [])
        }

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
        attachments: AttachmentStore | None = None,
        policy: AttachmentPolicy | None = None,
    ) -> SyncResult:
        store = store or self.store
        config = config or self.config()
        ctx = ExtractContext(
            source=source,
            window=window,
            store=store,
            environ=self.fake.environ,
            attachments=attachments,
            attachment_policy=policy,
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

    def post_files(
        self,
        *files: dict[str, Any],
        days_back: int = 1,
        channel: str = "support",
        user: str | None = None,
        text: str = "files attached 📎",
        **extra: Any,
    ) -> tuple[Window, dict[str, Any]]:
        """Post a message sharing ``files`` an hour into the window ``days_back``
        days before now; the window and the message."""
        window = self.window(days_back)
        where = self.channel(channel)
        message = self.fake.workspace.post(
            where.id,
            user or where.members[0],
            text,
            at=window.start + timedelta(hours=1),
            files=list(files),
            upload=True,
            **extra,
        )
        return window, message

    def sha256_of(self, file_id: str) -> str:
        """The sha-256 of the bytes the fake serves for ``file_id``."""
        file = self.fake.workspace.file(file_id)
        if file is None:
            raise KeyError(f"the fake holds no readable file {file_id}")
        digest = hashlib.sha256()
        for piece in file_bytes(file_id, int(file["size"]), str(file["mimetype"])):
            digest.update(piece)
        return digest.hexdigest()

    def calls_of(self, method: str) -> list[dict[str, str]]:
        return [params for _, name, params in self.fake.requests if name == method]
