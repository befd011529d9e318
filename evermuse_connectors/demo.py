"""The demo: every installed connector against its fake, into the emulator, via Dagster.

Nothing here needs an account anywhere. Each installed connector starts its fake
source API with a generated sample workspace (the same seed gives the same data), the
emulator plays Evermuse, and the last few windows of every demo source are
materialised through Dagster on an ephemeral instance, exactly as a scheduled run
would do them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from evermuse_connectors.attachments import serve_local_store
from evermuse_connectors.connector import discover_connectors
from evermuse_connectors.dagster import build_definitions
from evermuse_connectors.dagster._assets import build_source_definitions
from evermuse_connectors.dagster._resources import EvermuseResource, StoreResource
from evermuse_connectors.emulator import Emulator, EmulatorConfig
from evermuse_connectors.sources import (
    CONFIG_ENV,
    Source,
    load_project,
    resolve_sources,
)

__all__ = ["DemoRow", "DemoSetup", "demo_setup", "run_demo_windows"]

DEMO_ROUTING = {
    "product_id": "prod-demo",
    "project_ids": ["proj-demo"],
    "nature": "evidence",
    "tags": ["demo"],
}


# Dagster's console logger speaks at DEBUG; the demo prints its own summary.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class DemoSetup:
    """Running fakes and emulator, and the sources file that points at them."""

    workdir: Path
    config_file: Path
    emulator: Emulator
    environ: dict[str, str]
    today: datetime
    failures: dict[str, str] = field(default_factory=dict)


@dataclass
class DemoRow:
    source: str
    window: str
    raw_items: int = 0
    records: int = 0
    batches: int = 0
    accepted: int = 0
    rejected: int = 0
    attachments: str = "-"
    checks_failed: list[str] = field(default_factory=list)


@contextmanager
def demo_setup(
    *, workdir: Path | None = None, seed: int = 42, now: datetime | None = None
) -> Iterator[DemoSetup]:
    """Start the emulator and every installed connector's fake; write evermuse.yaml."""
    folder = workdir or Path(tempfile.mkdtemp(prefix="evermuse-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    today = (now or datetime.now(UTC)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    discovered = discover_connectors()
    with ExitStack() as stack:
        emulator = Emulator(
            EmulatorConfig(
                db_path=str(folder / "emulator.sqlite3"), port=0, step_seconds=0.02
            )
        )
        emulator.start()
        stack.callback(emulator.stop)
        environ = {
            "EVERMUSE_API_KEY": emulator.config.write_keys[0].get_secret_value(),
            "EVERMUSE_BASE_URL": emulator.url,
        }
        specs: list[dict[str, Any]] = []
        failures = dict(discovered.failures)
        for name, connector in sorted(discovered.connectors.items()):
            try:
                fake = stack.enter_context(connector.fake_source(seed=seed, now=today))
            except Exception as exc:  # one broken plugin must not stop the demo
                failures[name] = f"its fake source did not start: {exc}"
                continue
            environ.update(fake.environ)
            specs.append(
                {
                    "name": f"{name}_demo",
                    "connector": name,
                    "routing": DEMO_ROUTING,
                    "start": (today - timedelta(days=30)).date().isoformat(),
                    "settings": fake.settings,
                }
            )
        # One file server for the whole demo: extract steps stage Gmail and Slack
        # files through it, and it keeps serving them until the emulator has
        # downloaded every one.
        files = stack.enter_context(serve_local_store(folder / "attachments"))
        config_file = folder / "evermuse.yaml"
        config_file.write_text(
            yaml.safe_dump(
                {
                    "store": str(folder / "store"),
                    "attachments": files.model_dump(),
                    "sources": specs,
                },
                sort_keys=False,
            )
        )
        yield DemoSetup(folder, config_file, emulator, environ, today, failures)


@contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def demo_sources(setup: DemoSetup) -> tuple[list[Source], str]:
    project = load_project(setup.config_file)
    return resolve_sources(
        project.sources, discover_connectors(), attachments=project.attachments
    ), project.store


def _values(metadata: Mapping[str, Any]) -> dict[str, int]:
    out = {}
    for key, value in metadata.items():
        raw = value.value if isinstance(value, dg.MetadataValue) else value
        if isinstance(raw, int | float):
            out[key] = int(raw)
    return out


def _row(source: str, key: str, result: dg.ExecuteInProcessResult) -> DemoRow:
    row = DemoRow(source, key)
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        stage = materialization.asset_key.path[-1]
        meta = _values(materialization.metadata)
        if stage == "raw":
            row.raw_items = int(meta.get("dagster/row_count", 0))
        elif stage == "records":
            row.records = int(meta.get("dagster/row_count", 0))
        elif stage == "delivery":
            row.batches = int(meta.get("batches", 0))
            row.accepted = int(meta.get("accepted", 0))
            row.rejected = int(meta.get("rejected", 0))
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.check_name == "attachments_downloaded":
            meta = _values(evaluation.metadata)
            total = int(meta.get("total", 0))
            if total:
                row.attachments = f"{meta.get('downloaded', 0)}/{total}"
        if not evaluation.passed:
            row.checks_failed.append(evaluation.check_name)
    return row


def run_demo_windows(setup: DemoSetup, *, days: int = 7) -> list[DemoRow]:
    """Materialise the last ``days`` windows of every demo source through Dagster."""
    sources, store_root = demo_sources(setup)
    keys = [
        (setup.today - timedelta(days=back)).strftime("%Y-%m-%d")
        for back in range(days, 0, -1)
    ]
    rows: list[DemoRow] = []
    with _environ(setup.environ), dg.DagsterInstance.ephemeral() as instance:
        resources = {
            "evermuse_store": StoreResource(root=store_root),
            "evermuse": EvermuseResource(
                api_key=dg.EnvVar("EVERMUSE_API_KEY"),
                base_url=setup.emulator.url,
                wait_for_attachments_seconds=30,
            ),
        }
        for source in sources:
            assets = [
                a
                for a in build_source_definitions(source).assets or []
                if isinstance(a, dg.AssetsDefinition)
            ]
            for key in keys:
                result = dg.materialize(
                    assets,
                    partition_key=key,
                    instance=instance,
                    resources=resources,
                    raise_on_error=False,
                    run_config=_QUIET,
                )
                rows.append(_row(source.name, key, result))
    return rows


def run_ui(setup: DemoSetup) -> int:
    """``dagster dev`` on the demo's sources file, until the person presses Ctrl-C."""
    env = {**os.environ, **setup.environ, CONFIG_ENV: str(setup.config_file)}
    env["DAGSTER_HOME"] = str(setup.workdir / "dagster_home")
    Path(env["DAGSTER_HOME"]).mkdir(exist_ok=True)
    # The same code location as the repository's workspace.yaml, written beside the
    # demo's files so that it works from an installed package too.
    workspace = setup.workdir / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: "
        "evermuse_connectors.definitions\n      attribute: defs\n"
        "      location_name: evermuse\n"
    )
    command = [sys.executable, "-m", "dagster", "dev", "-w", str(workspace)]
    try:
        return subprocess.call(command, env=env)  # noqa: S603 (our own interpreter)
    except KeyboardInterrupt:
        return 0


def build_demo_definitions(setup: DemoSetup) -> dg.Definitions:
    sources, store_root = demo_sources(setup)
    return build_definitions(sources, store_root=store_root)
