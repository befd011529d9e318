"""Sources: configured instances of connectors, declared in one YAML file.

A file looks like this (every field is described in the README)::

    store: .evermuse/store            # a folder, or any fsspec URL (s3://...)
    sources:
      - name: slack_acme
        connector: slack
        routing: {product_id: prod-abc, project_ids: [proj-1]}
        start: 2026-01-01
        window: day                   # or hour
        refresh_windows: 30           # re-run the last N windows on every tick
        settings: {token_env: ACME_SLACK_TOKEN}

Loading validates everything, the connector's own ``settings`` included, so that a
typo or a missing field fails when Dagster loads the definitions, with the file, the
source and the field named.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evermuse_connectors.attachments import AttachmentPolicy, AttachmentStoreConfig
from evermuse_connectors.connector import Connector, Discovered, Routing, Window
from evermuse_connectors.errors import ConfigError, shorten

__all__ = [
    "CONFIG_ENV",
    "ProjectConfig",
    "Source",
    "SourceSpec",
    "load_project",
    "resolve_sources",
]

CONFIG_ENV = "EVERMUSE_CONFIG"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class SourceSpec(BaseModel):
    """One source as written in the file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    connector: str
    routing: Routing
    start: date
    window: Literal["day", "hour"] = "day"
    schedule: str | None = Field(
        default=None,
        description="cron for the sync schedule; default: 15 minutes past each window",
    )
    schedule_running: bool = False
    refresh_windows: int | None = Field(default=None, ge=0, le=400)
    timezone: str = "UTC"
    owners: list[str] = Field(default_factory=list)
    attachments: AttachmentStoreConfig | None = Field(
        default=None, description="where files are staged; default: the file's"
    )
    attachment_policy: AttachmentPolicy = Field(default_factory=AttachmentPolicy)
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name_is_a_key(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"{value[:70]!r} cannot name a source: use lower-case letters, digits "
                "and _ (starting with a letter, at most 63), e.g. slack_acme; it "
                "becomes part of Dagster asset keys and store paths"
            )
        return value


class ProjectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: str = ".evermuse/store"
    attachments: AttachmentStoreConfig | None = None
    sources: list[SourceSpec] = Field(default_factory=list)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, value: list[SourceSpec]) -> list[SourceSpec]:
        names = [s.name for s in value]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"source names must be unique; repeated: {duplicated}")
        return value


@dataclass(frozen=True)
class Source:
    """A source ready to run: its spec, its connector, its validated settings."""

    spec: SourceSpec
    connector: Connector[Any]
    config: BaseModel
    attachments: AttachmentStoreConfig | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def refresh_windows(self) -> int:
        if self.spec.refresh_windows is not None:
            return self.spec.refresh_windows
        return self.connector.default_refresh_windows

    def window_length(self) -> timedelta:
        return timedelta(days=1) if self.spec.window == "day" else timedelta(hours=1)

    def window_for_key(self, key: str) -> Window:
        """The window a partition key names (``2026-03-09`` or ``2026-03-09-05:00``)."""
        fmt = "%Y-%m-%d" if self.spec.window == "day" else "%Y-%m-%d-%H:%M"
        try:
            start = datetime.strptime(key, fmt).replace(tzinfo=UTC)
        except ValueError as exc:
            raise ConfigError(
                f"{key[:40]!r} is not a window of source {self.name} (expected "
                f"{fmt.replace('%', '')})"
            ) from exc
        return Window(start, start + self.window_length(), key)

    def window_keys(self, first: date, last: date) -> list[str]:
        """Every window key from the start of ``first`` to the end of ``last``."""
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
        step = self.window_length()
        fmt = "%Y-%m-%d" if self.spec.window == "day" else "%Y-%m-%d-%H:%M"
        keys = []
        while start < end:
            keys.append(start.strftime(fmt))
            start += step
        return keys


def _explain(exc: ValidationError, where: str) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(p) for p in error["loc"]) or "(top level)"
        shown = (
            ""
            if path.endswith(("_env", "token", "secret", "key"))
            else f" (got {shorten(error.get('input'), 60)})"
        )
        lines.append(f"  {where}{path}: {error['msg']}{shown}")
    return "\n".join(lines)


def load_project(path: str | os.PathLike[str]) -> ProjectConfig:
    """Read and validate the file's own fields (not yet the connectors' settings)."""
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the sources file {file}: {exc.strerror}; set {CONFIG_ENV} "
            "to the path of your evermuse.yaml"
        ) from exc
    try:
        loaded = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file} is not valid YAML: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{file}: expected a mapping with 'sources:', got {type(loaded).__name__}"
        )
    try:
        return ProjectConfig.model_validate(loaded)
    except ValidationError as exc:
        raise ConfigError(
            f"{file} is not a valid sources file:\n{_explain(exc, '')}"
        ) from exc


def resolve_sources(
    specs: Sequence[SourceSpec],
    discovered: Discovered,
    *,
    file: str = "the sources file",
    attachments: AttachmentStoreConfig | None = None,
) -> list[Source]:
    """Each spec with its connector and validated settings; every problem at once."""
    sources: list[Source] = []
    problems: list[str] = []
    for spec in specs:
        try:
            connector = discovered.get(spec.connector)
        except ConfigError as exc:
            problems.append(f"  source {spec.name}: {exc}")
            continue
        try:
            config = connector.parse_config(spec.settings)
        except ValidationError as exc:
            problems.append(
                f"  source {spec.name} ({spec.connector}):\n"
                + _explain(exc, "  settings.")
            )
            continue
        sources.append(Source(spec, connector, config, spec.attachments or attachments))
    if problems:
        raise ConfigError(f"{file} has problems:\n" + "\n".join(problems))
    return sources


def parse_specs(raw: Mapping[str, Any]) -> ProjectConfig:
    """A ProjectConfig from an already-loaded mapping (used by the demo)."""
    return ProjectConfig.model_validate(dict(raw))
