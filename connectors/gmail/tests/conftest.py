"""Shared helpers: a fake Gmail per test and a way to run one window against it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from evermuse_gmail import GmailConnector
from evermuse_gmail.fake import FakeGmail

from evermuse_connectors.connector import (
    ExtractContext,
    NormaliseContext,
    RawItem,
    Routing,
    Window,
)
from evermuse_connectors.connector._normalise import NormaliseFailure, normalise_items
from evermuse_connectors.envelope import Record
from evermuse_connectors.store import Store
from evermuse_connectors.testing import CONTRACT_NOW, day_window

NOW = CONTRACT_NOW
ROUTING = Routing(product_id="prod-test", project_ids=["proj-test"], tags=["support"])
CONNECTOR = GmailConnector()


def window(days_back: int) -> Window:
    return day_window(NOW - timedelta(days=days_back))


@dataclass
class Sync:
    items: list[RawItem]
    ctx: ExtractContext
    records: list[Record] = field(default_factory=list)
    failures: list[NormaliseFailure] = field(default_factory=list)

    @property
    def notes(self) -> dict[str, Any]:
        return self.ctx.stats.notes


def _run(
    settings: dict[str, Any],
    environ: dict[str, str],
    store: Store,
    days_back: int = 1,
    *,
    source: str = "gmail-test",
    keep: bool = False,
    **overrides: Any,
) -> Sync:
    """Extract and normalise one window; ``keep`` stores the raw items afterwards
    (as the framework does), so that a later run sees them as previous items."""
    config = CONNECTOR.parse_config({**settings, **overrides})
    win = window(days_back)
    ctx = ExtractContext(source=source, window=win, store=store, environ=environ)
    try:
        items = list(CONNECTOR.extract(config, ctx))
    finally:
        ctx.close()
    if keep:
        store.write(source, "raw", win.key, (i.to_json() for i in items))
    sync = Sync(items, ctx)
    for out in normalise_items(
        CONNECTOR, config, items, NormaliseContext(source, ROUTING)
    ):
        if isinstance(out, NormaliseFailure):
            sync.failures.append(out)
        else:
            sync.records.append(out)
    return sync


@pytest.fixture
def fake() -> Iterator[FakeGmail]:
    with FakeGmail(seed=11, now=NOW).start() as started:
        yield started


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(str(tmp_path / "store"))


@pytest.fixture
def run() -> Any:
    """``run(settings, environ, store, days_back=1, **overrides) -> Sync``."""
    return _run
