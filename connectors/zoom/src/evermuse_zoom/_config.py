"""The configuration of a Zoom source: credentials by variable name, URLs, budgets.

Zoom's rate limits are per account, shared by every app of that account, and depend
on the plan; the connector paces itself to a share of the plan's per-second budget
so that a sync leaves room for the account's other apps.
"""

from __future__ import annotations

from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from evermuse_connectors.connector import EnvVarName, RateLimit, is_loopback_host
from evermuse_connectors.errors import shorten

__all__ = ["PLAN_LIMITS", "ZoomConfig", "is_safe_url"]

# Requests per second by plan and rate-limit label (Light, Medium). The numbers come
# from a secondary source (Zoom's partner plugin); override them in the config when
# the account's real limits differ.
PLAN_LIMITS: dict[str, dict[str, float]] = {
    "pro": {"light": 30.0, "medium": 20.0},
    "business_plus": {"light": 80.0, "medium": 60.0},
}

MAX_TTL = 7 * 24 * 3600  # Zoom's upper bound for a download_access_token's ttl


def is_safe_url(url: str) -> bool:
    """Whether a token may travel to ``url``: https, or plain http to loopback."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return False
    if parsed.scheme == "https" and parsed.host:
        return True
    return parsed.scheme == "http" and is_loopback_host(parsed.host)


def _check_base(value: str, field: str) -> str:
    value = value.strip().rstrip("/")
    try:
        parsed = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValueError(
            f"{field}: expected an absolute https URL, got {shorten(value)} "
            f"({exc}); write it as https://host/path"
        ) from exc
    if parsed.userinfo or parsed.query:
        raise ValueError(
            f"{field}: expected a URL without user info or query string; keep "
            "credentials in environment variables and give the bare URL"
        )
    if not is_safe_url(value):
        raise ValueError(
            f"{field}: expected https (plain http only to 127.0.0.1, localhost or "
            f"::1), got {shorten(value)}; tokens must not travel unencrypted, so "
            "use the https URL"
        )
    return value


class ZoomConfig(BaseModel):
    """Settings of one Zoom source (a Server-to-Server OAuth app of one account)."""

    # A secret pasted where a variable name belongs must not be echoed back; the
    # messages below quote (cut short) the values that are safe to show.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    account_id_env: EnvVarName = "ZOOM_ACCOUNT_ID"
    client_id_env: EnvVarName = "ZOOM_CLIENT_ID"
    client_secret_env: EnvVarName = "ZOOM_CLIENT_SECRET"  # noqa: S105 (a name)
    api_base_url: str = "https://api.zoom.us/v2"
    token_url: str = "https://zoom.us/oauth/token"  # noqa: S105 (a URL)

    # User IDs or emails whose recordings to sync; empty means every user.
    users: list[str] = Field(default_factory=list)
    # How "every user" is read: one account-wide listing (needs the account-level
    # recording:read:admin scope) or the user list followed by one listing per user.
    every_user_via: Literal["account_recordings", "user_list"] = "account_recordings"
    # Email domains of the company: their participants are internal.
    internal_domains: list[str] = Field(default_factory=list)

    # Lifetime of the download token in the attachments' URLs, in seconds: Evermuse
    # fetches the files after the batch lands, so it must outlive that delay.
    download_token_ttl: int = Field(default=MAX_TTL, ge=60, le=MAX_TTL)
    # A re-run re-uses a meeting fetched before when nothing changed and its
    # download token still has at least this many seconds to live.
    reuse_min_token_seconds: int = Field(default=2 * 24 * 3600, ge=0)
    fetch_transcripts: bool = True

    plan: Literal["pro", "business_plus"] = "pro"
    # The share of the account's budget this connector may use (other apps share it).
    rate_share: float = Field(default=0.5, gt=0, le=1)
    light_per_second: float | None = Field(default=None, gt=0)
    medium_per_second: float | None = Field(default=None, gt=0)
    page_size: int = Field(default=300, ge=1, le=300)
    timeout_seconds: float = Field(default=60.0, gt=0)

    @field_validator("api_base_url")
    @classmethod
    def _api_base(cls, value: str) -> str:
        return _check_base(value, "api_base_url")

    @field_validator("token_url")
    @classmethod
    def _token_url(cls, value: str) -> str:
        return _check_base(value, "token_url")

    @field_validator("users")
    @classmethod
    def _users(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value]
        if any(not v or "/" in v for v in cleaned):
            raise ValueError(
                "users: expected Zoom user IDs or email addresses, got an empty "
                "value or one with '/'; remove it or leave the list empty for "
                "every user of the account"
            )
        return list(dict.fromkeys(cleaned))

    @field_validator("internal_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip().lower().lstrip("@") for v in value]
        if any(not v or "@" in v or "." not in v for v in cleaned):
            raise ValueError(
                f"internal_domains: expected domains like example.com, got "
                f"{shorten(value)}; write the part after the @"
            )
        return list(dict.fromkeys(cleaned))

    def rate_limit(self, label: Literal["light", "medium"]) -> RateLimit:
        """The client-side pace for one of Zoom's rate-limit labels."""
        override = self.light_per_second if label == "light" else self.medium_per_second
        per_second = override or PLAN_LIMITS[self.plan][label] * self.rate_share
        return RateLimit(requests=per_second, per_seconds=1.0, burst=1)
