"""Fixtures: a running fake Slack and a harness that syncs windows through it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from evermuse_slack.fake import FakeSlack
from evermuse_slack.testing import Harness

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack.start(seed=11, now=NOW) as running:
        yield running


@pytest.fixture
def harness(fake: FakeSlack, tmp_path: Path) -> Harness:
    return Harness(fake, tmp_path)
