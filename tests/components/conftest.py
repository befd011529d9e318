from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest

FIXTURE_PROJECT = Path(__file__).resolve().parent / "fixture_project"
_copies = count()


def _forget(module: str) -> None:
    for name in [n for n in sys.modules if n == module or n.startswith(module + ".")]:
        del sys.modules[name]


@pytest.fixture
def components_env(
    tmp_path: Path, example_fake: Any, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """What the fixture project's templates read: the fake's URL, the store, the keys.

    Returns the store folder.
    """
    for name, value in example_fake.environ.items():
        monkeypatch.setenv(name, value)
    store = tmp_path / "store"
    monkeypatch.setenv("EXAMPLE_FAKE_URL", example_fake.url)
    monkeypatch.setenv("EVERMUSE_FIXTURE_STORE", str(store))
    monkeypatch.setenv("EVERMUSE_API_KEY", "em_sk_emulator_write")
    monkeypatch.setenv("EVERMUSE_BASE_URL", emulator.url)
    return store


@pytest.fixture
def fixture_project(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The checked-in project, importable (its root module is found on sys.path)."""
    monkeypatch.syspath_prepend(str(FIXTURE_PROJECT))
    yield FIXTURE_PROJECT
    _forget("evermuse_fixture")


@pytest.fixture
def project_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], Path]]:
    """Makes a copy of the fixture project to edit, under a fresh module name.

    Python caches modules by name, so each copy's root module is renamed; otherwise
    loading a second project would import the first one's defs folder.
    """
    made: list[str] = []

    def copy() -> Path:
        module = f"evermuse_fixture_copy{next(_copies)}"
        root = tmp_path / module
        shutil.copytree(FIXTURE_PROJECT, root)
        (root / "evermuse_fixture").rename(root / module)
        for name in ("pyproject.toml", "workspace.yaml"):
            file = root / name
            file.write_text(file.read_text().replace("evermuse_fixture", module))
        monkeypatch.syspath_prepend(str(root))
        made.append(module)
        return root / module / "defs"

    yield copy
    for module in made:
        _forget(module)
