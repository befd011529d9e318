"""The contract test every connector package runs against itself.

Subclass :class:`ConnectorContract` in a connector's tests and set ``connector``::

    from evermuse_connectors.testing import ConnectorContract

    class TestContract(ConnectorContract):
        connector = SlackConnector()

pytest then runs each ``test_*`` method below against that connector and its fake
source: extract from the fake, normalise, the records are valid envelopes of the
declared types, the output is deterministic, an empty window gives nothing, and one
malformed raw item is reported while the rest go through.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from evermuse_connectors.attachments import AttachmentPolicy, AttachmentStore
from evermuse_connectors.connector._contract import (
    Connector,
    ExtractContext,
    NormaliseContext,
    RawItem,
    Routing,
    Window,
)
from evermuse_connectors.connector._discovery import ENTRY_POINT_GROUP
from evermuse_connectors.connector._normalise import NormaliseFailure, normalise_items
from evermuse_connectors.envelope import Record
from evermuse_connectors.store import Store

__all__ = [
    "CONTRACT_NOW",
    "ConnectorContract",
    "day_window",
    "install_fake_distribution",
    "materialization_metadata",
    "run_window",
]

# Fixed so that every run of the contract sees the same generated data.
CONTRACT_NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CONTRACT_ROUTING = Routing(product_id="prod-contract", project_ids=["proj-contract"])


def install_fake_distribution(
    site: Path, dist: str, module: str, code: str, entry: str
) -> None:
    """Lay a one-module package out in ``site`` as an installer would: the module and
    a dist-info with an ``evermuse_connectors.connectors`` entry point ``entry``.
    With ``site`` on ``PYTHONPATH`` a fresh interpreter sees it as installed."""
    (site / f"{module}.py").write_text(textwrap.dedent(code))
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry}\n")


def materialization_metadata(result: Any, stage: str) -> dict[str, Any]:
    """The metadata values of the ``stage`` asset (``raw``, ``records``, ``delivery``)
    in a Dagster ``ExecuteInProcessResult``."""
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key.path[-1] == stage:
            return {k: v.value for k, v in materialization.metadata.items()}
    raise AssertionError(f"no materialization of {stage} in this run")


def day_window(day: datetime) -> Window:
    start = day.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return Window(start, start + timedelta(days=1), start.strftime("%Y-%m-%d"))


def run_window(
    connector: Connector[Any],
    config: BaseModel,
    window: Window,
    store: Store,
    *,
    environ: dict[str, str],
    source: str = "contract",
    routing: Routing = CONTRACT_ROUTING,
    attachments: AttachmentStore | None = None,
    attachment_policy: AttachmentPolicy | None = None,
) -> tuple[list[RawItem], list[Record], list[NormaliseFailure]]:
    """Extract and normalise one window in memory, as the framework would."""
    ctx = ExtractContext(
        source=source,
        window=window,
        store=store,
        environ=environ,
        attachments=attachments,
        attachment_policy=attachment_policy,
    )
    try:
        items = list(connector.extract(config, ctx))
    finally:
        ctx.close()
    records: list[Record] = []
    failures: list[NormaliseFailure] = []
    for out in normalise_items(
        connector, config, items, NormaliseContext(source, routing)
    ):
        (failures if isinstance(out, NormaliseFailure) else records).append(out)  # type: ignore[arg-type]
    return items, records, failures


class ConnectorContract:
    """Shared tests for a connector plugin; set ``connector`` in a subclass."""

    connector: ClassVar[Connector[Any]]
    seed: ClassVar[int] = 7
    days_with_data: ClassVar[int] = 3

    def _windows(self) -> Iterator[Window]:
        for back in range(1, self.days_with_data + 1):
            yield day_window(CONTRACT_NOW - timedelta(days=back))

    def _sync(self, tmp_path: Path) -> tuple[list[RawItem], list[Record]]:
        items: list[RawItem] = []
        records: list[Record] = []
        with self.connector.fake_source(seed=self.seed, now=CONTRACT_NOW) as fake:
            config = self.connector.parse_config(fake.settings)
            for window in self._windows():
                got, recs, failures = run_window(
                    self.connector,
                    config,
                    window,
                    Store(str(tmp_path)),
                    environ=fake.environ,
                )
                assert failures == [], (
                    f"the fake's own data failed to normalise: {failures}"
                )
                items += got
                records += recs
        return items, records

    def test_declares_itself(self) -> None:
        c = self.connector
        assert c.name.isidentifier(), "name must be a Python identifier"
        assert issubclass(c.config_model, BaseModel)
        assert c.record_types, "a connector must declare the record types it emits"

    def test_extracts_and_normalises_valid_records(self, tmp_path: Path) -> None:
        items, records = self._sync(tmp_path)
        assert items, "the fake source should hold raw items in the recent windows"
        assert records, "the recent windows should give records"
        for record in records:
            assert record.type in self.connector.record_types, record
            assert record.product_id == CONTRACT_ROUTING.product_id
            # Round trip through JSON: what Evermuse receives validates again.
            assert Record.from_json(record.to_json()) == record

    def test_output_is_deterministic(self, tmp_path: Path) -> None:
        _, first = self._sync(tmp_path / "a")
        _, second = self._sync(tmp_path / "b")
        assert [r.to_bytes() for r in first] == [r.to_bytes() for r in second]

    def test_normalise_is_pure(self, tmp_path: Path) -> None:
        items, _ = self._sync(tmp_path)
        ctx = NormaliseContext("contract", CONTRACT_ROUTING)
        with self.connector.fake_source(seed=self.seed, now=CONTRACT_NOW) as fake:
            config = self.connector.parse_config(fake.settings)
        for item in items[:50]:
            once = [r.to_bytes() for r in self.connector.normalise(item, config, ctx)]
            again = [r.to_bytes() for r in self.connector.normalise(item, config, ctx)]
            assert once == again

    def test_empty_window_gives_nothing(self, tmp_path: Path) -> None:
        long_ago = day_window(CONTRACT_NOW - timedelta(days=800))
        with self.connector.fake_source(seed=self.seed, now=CONTRACT_NOW) as fake:
            config = self.connector.parse_config(fake.settings)
            items, records, failures = run_window(
                self.connector,
                config,
                long_ago,
                Store(str(tmp_path)),
                environ=fake.environ,
            )
        assert (items, records, failures) == ([], [], [])

    def test_one_malformed_item_is_reported_and_the_rest_go_through(
        self, tmp_path: Path, caplog: Any
    ) -> None:
        items, records = self._sync(tmp_path)
        bad = self.connector.malformed_item()
        mixed = [*items[:1], bad, *items[1:]]
        with self.connector.fake_source(seed=self.seed, now=CONTRACT_NOW) as fake:
            config = self.connector.parse_config(fake.settings)
        ctx = NormaliseContext("contract", CONTRACT_ROUTING)
        with caplog.at_level(logging.WARNING):
            out = list(normalise_items(self.connector, config, mixed, ctx))
        failures = [o for o in out if isinstance(o, NormaliseFailure)]
        good = [o for o in out if isinstance(o, Record)]
        assert [f.item_id for f in failures] == [bad.id]
        assert failures[0].error, "the failure must say what was wrong"
        assert [r.to_bytes() for r in good] == [r.to_bytes() for r in records]
        assert bad.id in caplog.text
