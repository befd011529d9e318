"""Where each stage keeps its output: gzip NDJSON per source, stage and window.

The layout is ``{root}/{source}/{stage}/{window}.ndjson.gz`` plus small JSON state
documents under ``{root}/{source}/state/``. ``root`` is a local folder by default; any
URL that fsspec understands (``s3://bucket/prefix``, ``gcs://...``, ``memory://``)
works the same way. Writes go to a temporary name and are renamed into place, so a
reader never sees half a file on a local disk. (Object stores have no atomic rename:
there fsspec copies, and a crash mid-write can leave the temporary object behind.)
"""

from __future__ import annotations

import gzip
import io
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import fsspec
import orjson

__all__ = ["Store"]

_SAFE = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _check_part(kind: str, value: str) -> str:
    if not _SAFE.match(value) or value in {".", ".."}:
        raise ValueError(
            f"{kind} {value[:60]!r} cannot be part of a store path: use letters, "
            "digits, '_', '-' and '.'"
        )
    return value


def _window_part(window: str) -> str:
    # Hourly window keys carry a colon (2026-03-09-05:00), which some filesystems
    # refuse in names; the stored name leaves it out.
    return _check_part("window", window.replace(":", ""))


class Store:
    """Stage output and sync state for every source, under one root."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        self.fs, self._base = fsspec.core.url_to_fs(self.root)

    def __repr__(self) -> str:
        return f"Store({self.root!r})"

    def path(self, source: str, stage: str, window: str) -> str:
        parts = (
            _check_part("source", source),
            _check_part("stage", stage),
            _window_part(window) + ".ndjson.gz",
        )
        return "/".join((self._base, *parts))

    def exists(self, source: str, stage: str, window: str) -> bool:
        return bool(self.fs.exists(self.path(source, stage, window)))

    def write(
        self, source: str, stage: str, window: str, rows: Iterable[dict[str, Any]]
    ) -> int:
        """Stream ``rows`` into the window's file; returns how many were written."""
        return self.write_bytes(
            source, stage, window, (orjson.dumps(row) for row in rows)
        )

    def write_bytes(
        self, source: str, stage: str, window: str, lines: Iterable[bytes]
    ) -> int:
        """Like :meth:`write` for rows already encoded as one JSON object each."""
        final = self.path(source, stage, window)
        temporary = f"{final}.{uuid.uuid4().hex}.tmp"
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        count = 0
        try:
            with (
                self.fs.open(temporary, "wb") as raw,
                gzip.GzipFile(
                    filename="", fileobj=raw, mode="wb", mtime=0, compresslevel=5
                ) as out,
            ):
                for line in lines:
                    out.write(line)
                    out.write(b"\n")
                    count += 1
            self.fs.mv(temporary, final)
        except BaseException:
            if self.fs.exists(temporary):
                self.fs.rm(temporary)
            raise
        return count

    def read(self, source: str, stage: str, window: str) -> Iterator[dict[str, Any]]:
        """The rows of a window's file, one at a time; none if never written."""
        for line in self.read_bytes(source, stage, window):
            yield orjson.loads(line)

    def read_bytes(self, source: str, stage: str, window: str) -> Iterator[bytes]:
        path = self.path(source, stage, window)
        if not self.fs.exists(path):
            return
        with (
            self.fs.open(path, "rb") as raw,
            gzip.GzipFile(fileobj=raw, mode="rb") as data,
        ):
            for line in io.BufferedReader(data):
                if line.strip():
                    yield line.rstrip(b"\n")

    def windows(self, source: str, stage: str) -> list[str]:
        """Window keys that have a file for this stage, sorted."""
        folder = "/".join((self._base, _check_part("source", source), stage))
        if not self.fs.exists(folder):
            return []
        names = [p.rsplit("/", 1)[-1] for p in self.fs.ls(folder, detail=False)]
        return sorted(
            n[: -len(".ndjson.gz")] for n in names if n.endswith(".ndjson.gz")
        )

    def get_state(self, source: str, name: str) -> dict[str, Any]:
        """A small JSON document of sync state (cursors); empty if never saved."""
        path = self._state_path(source, name)
        if not self.fs.exists(path):
            return {}
        with self.fs.open(path, "rb") as handle:
            loaded = json.loads(handle.read())
        return loaded if isinstance(loaded, dict) else {}

    def put_state(self, source: str, name: str, state: dict[str, Any]) -> None:
        path = self._state_path(source, name)
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        temporary = f"{path}.{uuid.uuid4().hex}.tmp"
        with self.fs.open(temporary, "wb") as handle:
            handle.write(json.dumps(state, sort_keys=True, indent=1).encode())
        self.fs.mv(temporary, path)

    def _state_path(self, source: str, name: str) -> str:
        return "/".join(
            (
                self._base,
                _check_part("source", source),
                "state",
                _check_part("state", name) + ".json",
            )
        )
