"""Fixtures: a running fake Slack, a harness that syncs windows through it, and a
local attachment store for the files it stages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from evermuse_slack.fake import FakeSlack
from evermuse_slack.testing import Harness

from evermuse_connectors.attachments import LocalAttachmentStore, build_store

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack.start(seed=11, now=NOW) as running:
        yield running


@pytest.fixture
def harness(fake: FakeSlack, tmp_path: Path) -> Harness:
    return Harness(fake, tmp_path)


@pytest.fixture
def files(tmp_path: Path) -> Iterator[LocalAttachmentStore]:
    """A local store on loopback (port 0), serving until the test ends."""
    store = build_store(
        {"kind": "local", "folder": str(tmp_path / "files"), "secret_env": None}
    )
    assert isinstance(store, LocalAttachmentStore)
    try:
        yield store
    finally:
        store.close()
