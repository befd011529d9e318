"""The settings of one Slack source, validated so that a typo fails at load time."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evermuse_connectors.connector import EnvVarName, RateLimit, is_loopback_host

__all__ = [
    "DOWNLOAD_METHOD",
    "METHOD_TIERS",
    "ChannelType",
    "RateRegime",
    "SlackConfig",
    "SlackRates",
]

ChannelType = Literal["public_channel", "private_channel", "mpim", "im"]
RateRegime = Literal["standard", "limited"]

# Slack's published tier of each method this connector calls. Limits are counted
# per method, per workspace, per app, so each method gets its own limiter.
METHOD_TIERS: dict[str, int] = {
    "auth.test": 4,
    "conversations.list": 2,
    "users.list": 2,
    "conversations.history": 3,
    "conversations.replies": 3,
    "conversations.join": 3,
    "users.info": 4,
    "files.info": 4,
}
# File downloads (url_private_download on files.slack.com) are not a Web API
# method and Slack publishes no limit for them; they get a pace of their own.
DOWNLOAD_METHOD = "files.download"
# From May 2025, apps distributed outside the Marketplace get 1 request a minute
# and at most 15 messages a page on these two methods.
LIMITED_METHODS = frozenset({"conversations.history", "conversations.replies"})

_DEFAULT_TYPES: tuple[ChannelType, ...] = ("public_channel", "private_channel")
_TEAM_ID = re.compile(r"^[TE][A-Z0-9]{2,}$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")


def _check_url(value: str, *, setting: str, loopback_http: bool) -> str:
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return value if value.endswith("/") else value + "/"
    if loopback_http and parts.scheme == "http" and is_loopback_host(host):
        return value if value.endswith("/") else value + "/"
    allowed = "https" + (
        " (or http to 127.0.0.1, ::1, localhost)" if loopback_http else ""
    )
    raise ValueError(
        f"{setting} must be an {allowed} URL, got {parts.scheme or '?'}://"
        f"{host or '?'}...; write the https:// address"
    )


class SlackRates(BaseModel):
    """Requests per minute allowed for each tier, and the limited regime's numbers.

    Slack publishes the tiers as "20+", "50+" and "100+" per minute; pacing at the
    floor keeps a sync clear of 429s. Lower them when several sources share one
    workspace and app (the limits are per app, not per source).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier2_per_minute: float = Field(20.0, gt=0)
    tier3_per_minute: float = Field(50.0, gt=0)
    tier4_per_minute: float = Field(100.0, gt=0)
    limited_per_minute: float = Field(1.0, gt=0)
    limited_page_size: int = Field(15, ge=1, le=999)
    file_downloads_per_minute: float = Field(100.0, gt=0)
    """Slack publishes no limit for file downloads: Tier 4's floor is the guess."""
    burst: int = Field(1, ge=1, le=50)


class SlackConfig(BaseModel):
    """One Slack workspace as a source; see the README for every field."""

    # A token pasted where its variable's name belongs must not come back in the
    # error: pydantic repeats the input unless told not to.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    token_env: EnvVarName = "SLACK_BOT_TOKEN"  # noqa: S105 (a variable name)
    base_url: str = "https://slack.com/api/"
    team_id: str | None = None
    workspace_url: str | None = None

    channel_types: list[ChannelType] = Field(
        default_factory=lambda: list(_DEFAULT_TYPES), min_length=1
    )
    include_channels: list[str] = Field(default_factory=list)
    exclude_channels: list[str] = Field(default_factory=list)
    include_archived: bool = False
    join_public_channels: bool = False
    include_bots: bool = True

    rate_regime: RateRegime = "standard"
    rates: SlackRates = Field(default_factory=SlackRates)
    history_page_size: int = Field(200, ge=1, le=999)
    replies_page_size: int = Field(200, ge=1, le=999)
    max_rate_limit_retries: int = Field(5, ge=0, le=50)
    max_server_error_retries: int = Field(2, ge=0, le=10)
    timeout_seconds: float = Field(30.0, gt=0, le=600)

    directory_max_age_minutes: float = Field(60.0, ge=0)
    file_hosts: list[str] = Field(default_factory=lambda: ["files.slack.com"])
    """Hosts the bot token may be sent to for file downloads (and base_url's host)."""

    export_path: str | None = None
    export_until: datetime | None = None

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _check_url(value, setting="base_url", loopback_http=True)

    @field_validator("workspace_url")
    @classmethod
    def _workspace_url(cls, value: str | None) -> str | None:
        # Permalinks go into records that people open in a browser: https only.
        if value is None:
            return None
        return _check_url(value, setting="workspace_url", loopback_http=False)

    @field_validator("team_id")
    @classmethod
    def _team_id(cls, value: str | None) -> str | None:
        if value is not None and not _TEAM_ID.match(value):
            raise ValueError(
                f"team_id must look like T0123ABCD (Slack's workspace id), got "
                f"{value[:20]!r}; find it with auth.test or in the workspace URL"
            )
        return value

    @field_validator("include_channels", "exclude_channels")
    @classmethod
    def _channel_refs(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip().lstrip("#") for v in values]
        if any(not v for v in cleaned):
            raise ValueError("a channel entry is empty; write a channel id or name")
        return cleaned

    @field_validator("file_hosts")
    @classmethod
    def _file_hosts(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip().lower().rstrip(".") for v in values]
        for value in cleaned:
            if not _HOST.match(value):
                raise ValueError(
                    f"file_hosts: expected bare host names such as files.slack.com, "
                    f"got {value[:40]!r}; leave out the scheme and the path"
                )
        return cleaned

    @field_validator("export_until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(
                f"export_until {value.isoformat()} has no timezone; write it with Z "
                "or an offset, e.g. 2025-06-01T00:00:00Z"
            )
        return value

    @model_validator(mode="after")
    def _export_needs_team(self) -> SlackConfig:
        if self.export_path and not self.team_id:
            raise ValueError(
                "export_path is set but team_id is not: an export does not say "
                "which team it came from, and records are keyed on it. Set team_id "
                "to the workspace's id (auth.test answers it)."
            )
        return self

    def rate_limit(self, method: str) -> RateLimit:
        """The client-side pace for ``method`` in this source's rate regime."""
        rates = self.rates
        if self.rate_regime == "limited" and method in LIMITED_METHODS:
            per_minute = rates.limited_per_minute
        elif method == DOWNLOAD_METHOD:
            per_minute = rates.file_downloads_per_minute
        else:
            tier = METHOD_TIERS.get(method, 2)
            per_minute = {
                2: rates.tier2_per_minute,
                3: rates.tier3_per_minute,
                4: rates.tier4_per_minute,
            }[tier]
        return RateLimit(per_minute, 60.0, burst=rates.burst)

    def page_size(self, method: str) -> int:
        size = (
            self.replies_page_size
            if method == "conversations.replies"
            else self.history_page_size
        )
        if self.rate_regime == "limited" and method in LIMITED_METHODS:
            return min(size, self.rates.limited_page_size)
        return size

    def may_send_token_to(self, url: str) -> bool:
        """Whether a file URL is on a host that may see the bot token: https to
        ``file_hosts`` or base_url's host (plain http only to loopback)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        allowed = {*self.file_hosts, (urlsplit(self.base_url).hostname or "").lower()}
        if not host or host not in allowed:
            return False
        return parts.scheme == "https" or (
            parts.scheme == "http" and is_loopback_host(host)
        )

    def uses_export(self, window_end: datetime) -> bool:
        """Whether the window ending at ``window_end`` is read from the export."""
        if not self.export_path:
            return False
        return self.export_until is None or window_end <= self.export_until
