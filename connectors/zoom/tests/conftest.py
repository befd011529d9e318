from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from evermuse_zoom import ZoomConfig, ZoomConnector
from evermuse_zoom.fake import FakeZoom

from evermuse_connectors.connector import (
    ExtractContext,
    NormaliseContext,
    RawItem,
    Routing,
    Window,
)
from evermuse_connectors.envelope import Record
from evermuse_connectors.store import Store
from evermuse_connectors.testing import CONTRACT_NOW

NOW = CONTRACT_NOW
ROUTING = Routing(product_id="prod-zoom", project_ids=["proj-zoom"], tags=["calls"])


def _day(back: int) -> Window:
    start = (NOW - timedelta(days=back)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return Window(start, start + timedelta(days=1), start.strftime("%Y-%m-%d"))


@pytest.fixture
def day() -> Callable[[int], Window]:
    """The daily window ``back`` days before the fake's now."""
    return _day


class Run:
    """One extract (and optionally normalise) against a fake, as the framework would."""

    def __init__(self, tmp_path: Path) -> None:
        self.store = Store(str(tmp_path / "store"))
        self.connector = ZoomConnector()

    def config(self, fake: FakeZoom, **settings: Any) -> ZoomConfig:
        return self.connector.parse_config({**fake.settings, **settings})

    def extract(
        self,
        fake: FakeZoom,
        window: Window,
        *,
        source: str = "zoom-test",
        **settings: Any,
    ) -> tuple[list[RawItem], ExtractContext]:
        config = self.config(fake, **settings)
        ctx = ExtractContext(
            source=source, window=window, store=self.store, environ=fake.environ
        )
        try:
            items = list(self.connector.extract(config, ctx))
        finally:
            ctx.close()
        return items, ctx

    def keep(
        self, items: list[RawItem], window: Window, source: str = "zoom-test"
    ) -> None:
        """Store raw items as the framework's raw stage does (for re-runs)."""
        self.store.write(source, "raw", window.key, (i.to_json() for i in items))

    def normalise(
        self, fake: FakeZoom, items: list[RawItem], **settings: Any
    ) -> list[Record]:
        config = self.config(fake, **settings)
        ctx = NormaliseContext("zoom-test", ROUTING)
        return [
            r for item in items for r in self.connector.normalise(item, config, ctx)
        ]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return Run(tmp_path)


@pytest.fixture
def start_fake() -> Iterator[Callable[..., FakeZoom]]:
    started: list[FakeZoom] = []

    def start(**options: Any) -> FakeZoom:
        options.setdefault("seed", 7)
        options.setdefault("now", NOW)
        # Any free port: the token cache is keyed by URL, so each test's fake gets
        # its own tokens instead of a previous fake's.
        options.setdefault("port", 0)
        fake = FakeZoom.start(**options)
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


@pytest.fixture
def fake(start_fake: Callable[..., FakeZoom]) -> FakeZoom:
    return start_fake()
