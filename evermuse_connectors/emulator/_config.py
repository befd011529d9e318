"""How the emulator is set up, and the misbehaviour it can be told to show."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

__all__ = ["DEFAULT_READ_KEY", "DEFAULT_WRITE_KEY", "EmulatorConfig", "Faults"]

DEFAULT_WRITE_KEY = "em_sk_emulator_write"
DEFAULT_READ_KEY = "em_sk_emulator_read"

Ratio = Annotated[float, Field(ge=0.0, le=1.0)]


class Faults(BaseModel):
    """Misbehaviour on demand, so that a client's retry logic meets every case.

    Each decision is drawn per ingest request, never per idempotency key, so a retry
    of a request that failed can succeed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_limit_every: Annotated[int, Field(ge=0)] = 0
    """Every Nth authorised ingest request gets 429 (0 = never)."""
    retry_after: Annotated[float, Field(ge=0.0, le=3600.0)] = 1.0
    """Seconds a 429 asks to wait: exact in the body, rounded up in the header."""
    error_500_ratio: Ratio = 0.0
    """Share of ingest requests answered 500 without storing anything."""
    drop_after_store_ratio: Ratio = 0.0
    """Share of accepted ingest requests stored, then answered by a closed socket."""
    fail_batch_ratio: Ratio = 0.0
    """Share of new batches that end FAILED instead of COMPLETE."""
    seed: int | None = None
    """Seed of the decisions; None draws them from the operating system."""


class EmulatorConfig(BaseModel):
    """Where the emulator listens and stores, its API keys and its pace."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    db_path: str = "evermuse-emulator.sqlite3"
    """SQLite file (data survives a restart); ":memory:" keeps nothing."""
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8765
    """0 picks a free port; read the result from ``Emulator.url``."""
    write_keys: tuple[SecretStr, ...] = (SecretStr(DEFAULT_WRITE_KEY),)
    """Keys with ``api:write``: they may ingest and read."""
    read_keys: tuple[SecretStr, ...] = (SecretStr(DEFAULT_READ_KEY),)
    """Read-only keys: ingest answers 403, the batch endpoints answer."""
    step_seconds: Annotated[float, Field(ge=0.0, le=3600.0)] = 0.05
    """Time between LANDING, LANDED, PROCESSING and COMPLETE."""
    download_attachments: bool = True
    download_timeout: Annotated[float, Field(gt=0.0, le=3600.0)] = 30.0
    download_workers: Annotated[int, Field(ge=1, le=32)] = 4
    max_download_bytes: Annotated[int, Field(ge=1)] = 2 * 1024**3
    faults: Faults = Faults()

    @field_validator("db_path", mode="before")
    @classmethod
    def _path_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value

    @field_validator("host")
    @classmethod
    def _host_present(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("host is empty: give an address such as 127.0.0.1")
        return value.strip()

    @model_validator(mode="after")
    def _keys_make_sense(self) -> EmulatorConfig:
        writes = {key.get_secret_value() for key in self.write_keys}
        reads = {key.get_secret_value() for key in self.read_keys}
        if not writes:
            raise ValueError("write_keys is empty: give at least one key for ingest")
        if "" in writes | reads:
            raise ValueError("an API key is empty: every key needs some characters")
        if writes & reads:
            raise ValueError(
                "a key is both in write_keys and read_keys: give each key one role"
            )
        return self
