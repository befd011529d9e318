"""Where Evermuse is and which key to use, from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from evermuse_connectors.connector._urls import is_loopback_host
from evermuse_connectors.errors import ConfigError

__all__ = ["DEFAULT_BASE_URL", "IngestSettings", "check_base_url", "is_loopback"]

DEFAULT_BASE_URL = "https://api.evermuse.com"


# Kept under its old name: the emulator and earlier callers import it from here.
is_loopback = is_loopback_host


def check_base_url(url: str, *, setting: str = "EVERMUSE_BASE_URL") -> str:
    """``url`` without a trailing slash, if it is https or plain http to loopback."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ConfigError(
            f"{setting} is not a URL ({exc}); expected https://host"
        ) from exc
    if parsed.scheme == "https" and parsed.host:
        return url.rstrip("/")
    if parsed.scheme == "http" and is_loopback(parsed.host):
        return url.rstrip("/")
    raise ConfigError(
        f"{setting}={parsed.scheme}://{parsed.host}... is refused: only https is "
        "allowed, except plain http to 127.0.0.1, ::1 or localhost (the emulator). "
        "Use an https:// URL."
    )


@dataclass(frozen=True)
class IngestSettings:
    """The Evermuse base URL and API key; the key never shows in a repr."""

    api_key: SecretStr
    base_url: str = DEFAULT_BASE_URL

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", check_base_url(self.base_url))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IngestSettings:
        env = os.environ if environ is None else environ
        key = env.get("EVERMUSE_API_KEY", "").strip()
        if not key:
            raise ConfigError(
                "EVERMUSE_API_KEY is not set: create a key with the api:write "
                "permission in Evermuse (Settings > API Keys) and export it, or run "
                "the emulator (evermuse-connectors emulator) and use the key it prints"
            )
        base = env.get("EVERMUSE_BASE_URL", "").strip() or DEFAULT_BASE_URL
        return cls(api_key=SecretStr(key), base_url=base)
