"""Where staged files are kept: a local folder (demo) or S3-compatible storage.

In a sources file the store is one mapping with a ``kind``::

    attachments:
      kind: s3
      bucket: acme-evermuse-staging
      region: eu-west-1

A misspelled field or a ``kind`` that does not exist fails when the file loads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from evermuse_connectors.connector import EnvVarName, is_loopback_host
from evermuse_connectors.errors import shorten

__all__ = [
    "DEFAULT_TTL_SECONDS",
    "MAX_PRESIGN_SECONDS",
    "AttachmentStoreConfig",
    "LocalStoreConfig",
    "S3StoreConfig",
    "is_loopback_host",
    "parse_store_config",
]

DEFAULT_TTL_SECONDS = 7 * 24 * 3600
# AWS Signature Version 4 refuses X-Amz-Expires above 604800 seconds (7 days).
MAX_PRESIGN_SECONDS = 604_800
# Loose on purpose: GCS allows underscores and 222 characters, AWS does not; the
# store's own answer (NoSuchBucket, InvalidBucketName) is the final word.
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,220}[A-Za-z0-9]$")


class _Config(BaseModel):
    # A URL with credentials in it, or a secret pasted where a variable name
    # belongs, must not be echoed back; the messages quote what is safe to show.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class LocalStoreConfig(_Config):
    """Files in a folder, served over HTTP on loopback with signed, expiring links."""

    kind: Literal["local"] = "local"
    folder: str = ".evermuse/attachments"
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 0
    """0 picks a free port per process; a fixed port lets processes share one server."""
    secret_env: EnvVarName | None = "EVERMUSE_ATTACHMENT_SECRET"  # noqa: S105 (a name)
    """Variable with the signing secret; when unset, one is generated in the folder."""
    ttl_seconds: Annotated[int, Field(ge=1, le=366 * 24 * 3600)] = DEFAULT_TTL_SECONDS

    @field_validator("folder", mode="before")
    @classmethod
    def _folder_text(cls, value: object) -> object:
        text = str(value) if isinstance(value, Path) else value
        if isinstance(text, str) and not text.strip():
            raise ValueError(
                "folder is empty: give a path such as .evermuse/attachments"
            )
        return text

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if not is_loopback_host(value):
            raise ValueError(
                f"host: the local attachment store serves loopback only (127.0.0.1, "
                f"::1 or localhost), got {shorten(value)}; it is meant for the demo "
                "and development. For files fetched over a network use kind: s3"
            )
        return value.strip().strip("[]")


class S3StoreConfig(_Config):
    """An S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, GCS's S3 interface)."""

    kind: Literal["s3"] = "s3"
    bucket: str
    prefix: str = "evermuse/"
    endpoint_url: str | None = None
    """None for AWS; the endpoint of MinIO, R2 or GCS (https://storage.googleapis.com)."""
    region: str | None = None
    profile: str | None = None
    """A profile of ~/.aws/config; None takes the usual AWS_* environment variables."""
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    ttl_seconds: int = MAX_PRESIGN_SECONDS
    spool_folder: str | None = None
    """Where files wait while being hashed; None: the system's temporary folder."""
    timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    """Tries per request, with botocore's standard back-off for 5xx and throttling."""

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if not _BUCKET.match(value):
            raise ValueError(
                f"bucket: expected a bucket name (3 to 222 letters, digits, '.', "
                f"'-' or '_'), got {shorten(value)}; give the bare name, not a URL "
                "or an s3:// path"
            )
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix_form(cls, value: str) -> str:
        cleaned = value.strip().lstrip("/")
        if ".." in cleaned.split("/") or len(cleaned) > 200 or "\\" in cleaned:
            raise ValueError(
                f"prefix: expected a folder-like key prefix such as 'evermuse/' (no "
                f"'..', no backslash, at most 200 characters), got {shorten(value)}"
            )
        return cleaned if not cleaned or cleaned.endswith("/") else cleaned + "/"

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        return None if value is None else _check_endpoint(value)

    @field_validator("ttl_seconds")
    @classmethod
    def _presign_limit(cls, value: int) -> int:
        if not 1 <= value <= MAX_PRESIGN_SECONDS:
            raise ValueError(
                f"ttl_seconds: pre-signed S3 URLs (Signature Version 4) live at most "
                f"{MAX_PRESIGN_SECONDS} seconds (7 days), got {value}; give 1 to "
                f"{MAX_PRESIGN_SECONDS}"
            )
        return value


def _check_endpoint(value: str) -> str:
    text = value.strip().rstrip("/")
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ValueError(
            f"endpoint_url: expected https://host, got {shorten(value)} ({exc})"
        ) from exc
    if parsed.userinfo or parsed.query:
        raise ValueError(
            "endpoint_url: expected a URL without user info or query string; "
            "credentials come from the AWS environment variables or a profile"
        )
    secure = parsed.scheme == "https" and bool(parsed.host)
    if not secure and not (parsed.scheme == "http" and is_loopback_host(parsed.host)):
        raise ValueError(
            f"endpoint_url: expected https (plain http only to 127.0.0.1, ::1 or "
            f"localhost), got {shorten(value)}; files and signatures must not travel "
            "unencrypted, so use the https endpoint"
        )
    return text


AttachmentStoreConfig = Annotated[
    LocalStoreConfig | S3StoreConfig, Field(discriminator="kind")
]
"""The ``attachments`` mapping of a sources file: local or s3, chosen by ``kind``."""

_ADAPTER: TypeAdapter[LocalStoreConfig | S3StoreConfig] = TypeAdapter(
    AttachmentStoreConfig
)


def parse_store_config(value: Any) -> LocalStoreConfig | S3StoreConfig:
    """A config model from a mapping (raises pydantic's ValidationError)."""
    if isinstance(value, LocalStoreConfig | S3StoreConfig):
        return value
    return _ADAPTER.validate_python(value)
