"""End to end through the framework's pipeline: Slack files staged in a local store,
the records posted to the emulator, which downloads every staged file by itself;
and no staged URL, token or Slack file link in a log line or the metadata."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from evermuse_slack import SlackConnector
from evermuse_slack.fake import FakeSlack
from pydantic import SecretStr

from evermuse_connectors.attachments import (
    AttachmentPolicy,
    LocalStoreConfig,
    serve_local_store,
)
from evermuse_connectors.connector import Routing, Window
from evermuse_connectors.emulator import DEFAULT_WRITE_KEY, Emulator, EmulatorConfig
from evermuse_connectors.ingest import DeliveryPolicy, EvermuseClient, IngestSettings
from evermuse_connectors.pipeline import (
    DeliveryReport,
    deliver_window,
    extract_window,
    normalise_window,
    raw_items,
)
from evermuse_connectors.sources import Source, SourceSpec
from evermuse_connectors.store import Store
from evermuse_connectors.testing import day_window

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # the fake's, as in conftest
CONNECTOR = SlackConnector()
# Two days with files of every kind the sample holds (see the fake's files).
WINDOWS = [day_window(NOW.replace(day=d)) for d in (8, 5)]


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    config = EmulatorConfig(
        db_path=str(tmp_path / "emulator.sqlite3"), port=0, step_seconds=0.01
    )
    with Emulator(config) as started:
        yield started


@pytest.fixture
def served(tmp_path: Path) -> Iterator[LocalStoreConfig]:
    """A local store served for the whole test: the pipeline closes its own store
    after extract, and the links must outlive it."""
    with serve_local_store(tmp_path / "files") as config:
        yield config


def source_for(fake: FakeSlack, files: LocalStoreConfig, **policy: Any) -> Source:
    spec = SourceSpec(
        name="slack_acme",
        connector="slack",
        routing=Routing(product_id="prod-acme", project_ids=["proj-1"]),
        start=date(2026, 1, 1),
        attachment_policy=AttachmentPolicy(**policy),
        settings=fake.settings,
    )
    return Source(spec, CONNECTOR, CONNECTOR.parse_config(spec.settings), files)


def deliver(source: Source, window: Window, store: Store, emulator: Emulator) -> Any:
    settings = IngestSettings(
        api_key=SecretStr(DEFAULT_WRITE_KEY), base_url=emulator.url
    )
    fast = DeliveryPolicy(backoff_base=0.01, backoff_cap=0.05)
    with EvermuseClient(settings, policy=fast, seed=1) as client:
        return deliver_window(source, window, store, client, wait_for_attachments=30)


def run(
    source: Source, fake: FakeSlack, emulator: Emulator, root: Path
) -> tuple[Store, int, list[DeliveryReport], list[dict[str, Any]]]:
    store = Store(str(root / "store"))
    staged, reports, notes = 0, [], []
    for window in WINDOWS:
        extracted = extract_window(source, window, store, environ=fake.environ)
        assert extracted.completeness is not None
        assert extracted.completeness.passed
        notes.append(extracted.stats.to_json())
        normalised = normalise_window(source, window, store)
        assert normalised.failures == []
        staged += normalised.attachments
        reports.append(deliver(source, window, store, emulator))
    return store, staged, reports, notes


def test_the_emulator_downloads_every_staged_file(
    fake: FakeSlack,
    served: LocalStoreConfig,
    emulator: Emulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = source_for(fake, served)
    with caplog.at_level(logging.DEBUG):
        store, staged, reports, notes = run(source, fake, emulator, tmp_path)
    assert staged >= 4, "the two windows share several files"
    assert sum(r.attachments_total for r in reports) == staged
    assert sum(r.attachments_downloaded for r in reports) == staged
    assert sum(r.attachments_failed for r in reports) == 0

    entries = [
        e["staged"]
        for window in WINDOWS
        for item in raw_items(store, source.name, window)
        for e in (item.data.get("attachments") or {}).values()
        if "staged" in e
    ]
    downloads = emulator.downloads()
    assert sorted(d["sha256"] for d in downloads) == sorted(
        e["sha256"] for e in entries
    )
    assert {d["status"] for d in downloads} == {"COMPLETE"}

    # Canaries: what must never be written down outside the raw items.
    logged = "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    signatures = [parse_qs(urlsplit(e["url"]).query)["sig"][0] for e in entries]
    for secret in [*signatures, *(e["url"] for e in entries), fake.token]:
        assert secret not in logged
    assert "/download/" not in logged, "no Slack file link (it names the file)"
    shown = json.dumps(notes)
    assert all(s not in shown for s in signatures)
    assert fake.token not in shown
    assert "http" not in shown

    for record in emulator.records():
        text = json.dumps(record)
        assert f"{fake.url}files-pri" not in text
        assert fake.token not in text


def test_files_the_policy_refused_reach_evermuse_with_the_reason(
    fake: FakeSlack, served: LocalStoreConfig, emulator: Emulator, tmp_path: Path
) -> None:
    source = source_for(fake, served, exclude_mime_types=["video/*"], max_bytes=300_000)
    _, staged, reports, _ = run(source, fake, emulator, tmp_path)
    reasons = {
        x["reason"]
        for record in emulator.records()
        for x in record["data"].get("attachments_not_staged", [])
    }
    assert "type video/mp4 is excluded" in reasons
    assert "over the 0.2861 MB limit" in reasons
    assert "the file was deleted in Slack" in reasons
    assert sum(r.attachments_downloaded for r in reports) == staged
    assert all(d["status"] == "COMPLETE" for d in emulator.downloads())
