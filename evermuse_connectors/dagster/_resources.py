"""Dagster resources: where Evermuse is, and where the stages keep their files.

Fields are meant to be given as ``dg.EnvVar("...")`` so that the UI and run config
show the variable's name, never its value. A resolved resource's repr contains the
value (a Dagster behaviour), so these objects are never logged or put in metadata.
"""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field, SecretStr

from evermuse_connectors.ingest import (
    DEFAULT_BASE_URL,
    DeliveryPolicy,
    EvermuseClient,
    IngestSettings,
)
from evermuse_connectors.store import Store

__all__ = ["EvermuseResource", "StoreResource"]


class EvermuseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The Evermuse ingest API: key, base URL and delivery settings."""

    api_key: str = Field(description="an Evermuse API key with api:write; use EnvVar")
    base_url: str = Field(
        default="",
        description="defaults to EVERMUSE_BASE_URL, else https://api.evermuse.com",
    )
    max_in_flight: int = 4
    wait_for_attachments_seconds: float = Field(
        default=60.0,
        description="how long a delivery polls batch status for attachment downloads",
    )

    def client(self) -> EvermuseClient:
        base = self.base_url or os.environ.get("EVERMUSE_BASE_URL") or DEFAULT_BASE_URL
        settings = IngestSettings(api_key=SecretStr(self.api_key), base_url=base)
        return EvermuseClient(
            settings, policy=DeliveryPolicy(max_in_flight=self.max_in_flight)
        )


class StoreResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The folder or fsspec URL under which raw items, records and ledgers live."""

    root: str = ".evermuse/store"

    def store(self) -> Store:
        return Store(self.root)
