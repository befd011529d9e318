from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

SPEC_PATH = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "evermuse"
    / "ingest-v1.openapi.yml"
)


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    """Evermuse's published OpenAPI spec, read from ../shared (skipped if absent)."""
    if not SPEC_PATH.exists():
        pytest.skip(
            f"Evermuse's spec is not at {SPEC_PATH}; the schema tests need the "
            "published ingest-v1.openapi.yml beside the checkout"
        )
    return yaml.safe_load(SPEC_PATH.read_text())


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Any]:
    from evermuse_connectors.emulator import Emulator, EmulatorConfig

    emu = Emulator(
        EmulatorConfig(
            db_path=str(tmp_path / "emulator.sqlite3"), port=0, step_seconds=0.01
        )
    )
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def example_fake() -> Iterator[Any]:
    from datetime import UTC, datetime

    from evermuse_example import ExampleConnector

    with ExampleConnector().fake_source(
        seed=3, now=datetime(2026, 3, 10, tzinfo=UTC)
    ) as fake:
        yield fake


@pytest.fixture
def example_project(
    tmp_path: Path, example_fake: Any, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A sources file with one example source pointing at its fake and the emulator."""
    for name, value in example_fake.environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EVERMUSE_API_KEY", "em_sk_emulator_write")
    monkeypatch.setenv("EVERMUSE_BASE_URL", emulator.url)
    config = {
        "store": str(tmp_path / "store"),
        "sources": [
            {
                "name": "example_acme",
                "connector": "example",
                "routing": {"product_id": "prod-acme", "project_ids": ["proj-1"]},
                "start": "2026-02-01",
                "refresh_windows": 2,
                "settings": example_fake.settings,
            }
        ],
    }
    file = tmp_path / "evermuse.yaml"
    file.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("EVERMUSE_CONFIG", str(file))
    return file
