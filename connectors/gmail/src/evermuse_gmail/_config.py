"""The settings of a Gmail source, validated when the configuration loads.

Secrets never appear here: ``key_env`` and ``credentials_env`` name environment
variables that hold the credential JSON itself or the path of a file that does.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evermuse_connectors.connector import EnvVarName, is_loopback_host

__all__ = [
    "ATTACHMENT_UNITS",
    "THREADS_GET_UNITS",
    "AuthorizedUserAuth",
    "DirectoryMailboxes",
    "GmailConfig",
    "Quota",
    "ServiceAccountAuth",
    "check_endpoint",
]

_MAILBOX = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
_DOMAIN = re.compile(
    r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"
)

# Gmail's own search categories; "primary" is accepted although excluding it is odd.
Category = Literal["promotions", "social", "updates", "forums", "primary"]

# The quota cost of one threads.get (the official table row was cut off; several
# copies of it agree on 10 units).
THREADS_GET_UNITS = 10
# messages.attachments.get, from Google's quota table.
ATTACHMENT_UNITS = 5


def check_endpoint(url: str, *, what: str) -> str:
    """``url`` without a trailing slash if it is https, or http to a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(
            f"{what} must be an absolute http(s) URL such as "
            f"https://gmail.googleapis.com, got {url[:80]!r}"
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(
            f"{what} {url[:80]!r} uses plain http to a host that is not loopback; "
            "tokens would travel unencrypted. Use https (plain http is allowed only "
            "for 127.0.0.1, localhost and ::1)"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"{what} must not carry a query or fragment, got one")
    return url.rstrip("/")


def _check_mailbox(value: str) -> str:
    value = value.strip().lower()
    if not _MAILBOX.match(value):
        raise ValueError(
            f"expected a mailbox address such as support@example.com, got "
            f"{value[:80]!r}"
        )
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceAccountAuth(_Model):
    """A service account with domain-wide delegation: one subject per mailbox."""

    kind: Literal["service_account"]
    key_env: EnvVarName = Field(
        description="variable holding the service-account key JSON, or its file path"
    )


class AuthorizedUserAuth(_Model):
    """One mailbox's own OAuth grant (client id, client secret, refresh token)."""

    kind: Literal["authorized_user"]
    credentials_env: EnvVarName = Field(
        description="variable holding the authorized-user JSON, or its file path"
    )


class DirectoryMailboxes(_Model):
    """Sync every active user of the domain, listed through the Admin SDK directory."""

    admin_subject: str = Field(description="an administrator the key may act as")
    domain: str | None = Field(
        default=None, description="one domain; every domain of the customer if unset"
    )
    query: str = Field(default="", description="an Admin SDK users.list query")

    @field_validator("admin_subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        return _check_mailbox(value)


class Quota(_Model):
    """Gmail's per-user budget: ``units`` quota units per ``per_seconds``."""

    # Google's published limit changed across versions of its page (250 units per
    # second, then 15,000 and now 6,000 per minute per user): the newest is default.
    units: int = Field(default=6000, ge=20)
    per_seconds: float = Field(default=60.0, gt=0)


class GmailConfig(_Model):
    """Settings of one Gmail source."""

    auth: Annotated[
        ServiceAccountAuth | AuthorizedUserAuth, Field(discriminator="kind")
    ]
    mailboxes: list[str] = Field(default_factory=list)
    directory: DirectoryMailboxes | None = None
    internal_domains: list[str] = Field(default_factory=list)
    query: str = ""
    label_ids: list[str] = Field(default_factory=list)
    exclude_categories: list[Category] = Field(
        default_factory=lambda: list[Category](["promotions", "social"])
    )
    api_endpoint: str = "https://gmail.googleapis.com"
    directory_endpoint: str = "https://admin.googleapis.com"
    page_size: int = Field(default=500, ge=1, le=500)
    batch_size: int = Field(default=50, ge=1, le=100)
    quota: Quota = Field(default_factory=Quota)
    max_concurrent_mailboxes: int = Field(default=4, ge=1, le=32)
    max_attempts: int = Field(default=6, ge=1, le=20)
    backoff_base_seconds: float = Field(default=1.0, ge=0)
    backoff_cap_seconds: float = Field(default=64.0, ge=0)
    timeout_seconds: float = Field(default=60.0, gt=0)
    max_body_chars: int = Field(default=20_000, ge=100)
    max_record_chars: int = Field(default=1_000_000, ge=10_000)
    attachment_stream_bytes: int = Field(
        default=1024 * 1024,
        ge=0,
        description=(
            "attachments Gmail announces as larger than this are downloaded one at "
            "a time and decoded as they arrive; smaller ones ride in batch requests"
        ),
    )

    @field_validator("mailboxes")
    @classmethod
    def _mailboxes(cls, value: list[str]) -> list[str]:
        cleaned = [_check_mailbox(v) for v in value]
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("mailboxes lists the same address twice; list it once")
        return cleaned

    @field_validator("internal_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip().lower().lstrip("@") for v in value]
        for domain in cleaned:
            if not _DOMAIN.match(domain):
                raise ValueError(
                    f"expected a domain such as example.com, got {domain[:80]!r}"
                )
        return cleaned

    @field_validator("api_endpoint")
    @classmethod
    def _api(cls, value: str) -> str:
        return check_endpoint(value, what="api_endpoint")

    @field_validator("directory_endpoint")
    @classmethod
    def _dir(cls, value: str) -> str:
        return check_endpoint(value, what="directory_endpoint")

    @model_validator(mode="after")
    def _consistent(self) -> GmailConfig:
        if isinstance(self.auth, ServiceAccountAuth):
            if not self.mailboxes and self.directory is None:
                raise ValueError(
                    "a service_account source needs mailboxes (a list of addresses) "
                    "or directory (every user of the domain); set one of them"
                )
        else:
            if self.directory is not None:
                raise ValueError(
                    "directory needs a service_account with domain-wide delegation; "
                    "an authorized_user grant reaches only its own mailbox"
                )
            if len(self.mailboxes) > 1:
                raise ValueError(
                    "an authorized_user grant reaches one mailbox, but mailboxes "
                    f"lists {len(self.mailboxes)}; use a service_account for several"
                )
        batch_units = self.batch_size * THREADS_GET_UNITS
        if self.quota.units < 2 * batch_units:
            raise ValueError(
                f"quota.units ({self.quota.units}) must be at least twice the cost "
                f"of one batch ({self.batch_size} x {THREADS_GET_UNITS} units = "
                f"{batch_units}); raise quota.units or lower batch_size"
            )
        return self

    @property
    def batch_uri(self) -> str:
        # service.new_batch_http_request() always targets gmail.googleapis.com
        # whatever api_endpoint says, so the batch URI is derived here instead.
        return f"{self.api_endpoint}/batch/gmail/v1"
