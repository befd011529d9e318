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
