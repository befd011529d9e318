"""From configuration to a store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from evermuse_connectors.attachments._config import (
    LocalStoreConfig,
    S3StoreConfig,
    parse_store_config,
)
from evermuse_connectors.attachments._local import LocalAttachmentStore
from evermuse_connectors.attachments._s3 import S3AttachmentStore
from evermuse_connectors.attachments._store import AttachmentStore
from evermuse_connectors.envelope import describe_errors
from evermuse_connectors.errors import ConfigError

__all__ = ["build_store"]


def build_store(
    config: LocalStoreConfig | S3StoreConfig | Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
) -> AttachmentStore:
    """The store a config describes; a mapping is validated first.

    ``environ`` replaces ``os.environ`` for the local store's secret variable (the
    S3 client reads its credentials the boto3 way, from the process environment).
    """
    try:
        parsed = parse_store_config(config)
    except ValidationError as exc:
        problems = "; ".join(describe_errors(exc))
        raise ConfigError(
            f"the attachment store's configuration is not valid: {problems}"
        ) from None
    if isinstance(parsed, S3StoreConfig):
        return S3AttachmentStore(parsed)
    return LocalAttachmentStore(parsed, environ=environ)
