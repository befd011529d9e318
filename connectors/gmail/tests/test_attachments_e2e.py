"""End to end through the framework's pipeline: Gmail's files staged in a local
store, the records posted to the emulator, which downloads every staged file by
itself; and no staged URL in a log line, a repr or the extract's metadata."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from evermuse_gmail import GmailConnector
from evermuse_gmail.fake import FakeGmail
from evermuse_gmail.fake._content import SUPPORT
from pydantic import SecretStr

from evermuse_connectors.attachments import (
    AttachmentPolicy,
    LocalStoreConfig,
    serve_local_store,
)
from evermuse_connectors.connector import Routing
from evermuse_connectors.emulator import DEFAULT_WRITE_KEY, Emulator, EmulatorConfig
from evermuse_connectors.ingest import DeliveryPolicy, EvermuseClient, IngestSettings
from evermuse_connectors.pipeline import (
    deliver_window,
    extract_window,
    normalise_window,
    raw_items,
)
from evermuse_connectors.sources import Source, SourceSpec
from evermuse_connectors.store import Store
from evermuse_connectors.testing import CONTRACT_NOW as NOW
from evermuse_connectors.testing import day_window

WINDOW = day_window(NOW - timedelta(days=1))
CONNECTOR = GmailConnector()


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


def source_for(fake: FakeGmail, files: LocalStoreConfig, **policy: Any) -> Source:
    spec = SourceSpec(
        name="gmail_acme",
        connector="gmail",
        routing=Routing(product_id="prod-acme", project_ids=["proj-1"]),
        start=date(2026, 1, 1),
        attachment_policy=AttachmentPolicy(**policy),
        settings={**fake.settings, "mailboxes": [SUPPORT.email]},
    )
    config = CONNECTOR.parse_config(spec.settings)
    return Source(spec, CONNECTOR, config, files)


def test_the_emulator_downloads_every_staged_attachment(
    fake: FakeGmail, served: LocalStoreConfig, emulator: Emulator, tmp_path: Path
) -> None:
    store = Store(str(tmp_path / "store"))
    source = source_for(fake, served)
    extracted = extract_window(source, WINDOW, store, environ=fake.environ)
    assert extracted.completeness is not None
    assert extracted.completeness.passed
    normalised = normalise_window(source, WINDOW, store)
    assert normalised.failures == []
    staged = normalised.attachments
    assert staged > 0

    settings = IngestSettings(
        api_key=SecretStr(DEFAULT_WRITE_KEY), base_url=emulator.url
    )
    fast = DeliveryPolicy(backoff_base=0.01, backoff_cap=0.05)
    with EvermuseClient(settings, policy=fast, seed=1) as client:
        report = deliver_window(source, WINDOW, store, client, wait_for_attachments=30)
    assert report.attachments_total == staged
    assert report.attachments_downloaded == staged
    assert report.attachments_failed == 0

    held = {
        hashlib.sha256(data).hexdigest()
        for message in fake.mailboxes[SUPPORT.email].messages.values()
        for data in message.attachments.values()
    }
    downloads = emulator.downloads()
    assert len(downloads) == staged
    assert {d["sha256"] for d in downloads} <= held
    staged_hashes = sorted(
        e["staged"]["sha256"]
        for item in raw_items(store, source.name, WINDOW)
        for e in item.data["files"].values()
        if "staged" in e
    )
    assert sorted(d["sha256"] for d in downloads) == staged_hashes


def test_files_the_policy_refused_reach_evermuse_with_the_reason(
    fake: FakeGmail, served: LocalStoreConfig, emulator: Emulator, tmp_path: Path
) -> None:
    store = Store(str(tmp_path / "store"))
    source = source_for(fake, served, inline_images=False)
    extract_window(source, WINDOW, store, environ=fake.environ)
    normalise_window(source, WINDOW, store)
    settings = IngestSettings(
        api_key=SecretStr(DEFAULT_WRITE_KEY), base_url=emulator.url
    )
    with EvermuseClient(settings, seed=1) as client:
        deliver_window(source, WINDOW, store, client, wait_for_attachments=30)
    reasons = [
        x["reason"]
        for record in emulator.records()
        for x in record["data"].get("attachments_not_staged", [])
    ]
    assert "inline images are off" in reasons
    assert all(d["status"] == "COMPLETE" for d in emulator.downloads())


def test_no_staged_url_in_logs_reprs_or_metadata(
    fake: FakeGmail,
    served: LocalStoreConfig,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store(str(tmp_path / "store"))
    source = source_for(fake, served)
    with caplog.at_level(logging.DEBUG):
        extracted = extract_window(source, WINDOW, store, environ=fake.environ)
        normalised = normalise_window(source, WINDOW, store)
    urls = [
        e["staged"]["url"]
        for item in raw_items(store, source.name, WINDOW)
        for e in item.data["files"].values()
        if "staged" in e
    ]
    assert urls
    secrets = set(urls) | {url.rsplit("sig=", 1)[1] for url in urls}
    shown = [
        caplog.text,
        json.dumps(extracted.stats.to_json()),
        repr(extracted),
        repr(normalised),
        repr(normalised.preview),
        json.dumps(extracted.completeness.metadata if extracted.completeness else {}),
    ]
    for text in shown:
        for secret in secrets:
            assert secret not in text
    # The canary works: the records do carry the URLs, just not in their repr.
    assert any(
        str(a.vendor_url) in urls
        for r in normalised.preview
        for a in r.attachments or []
    )
