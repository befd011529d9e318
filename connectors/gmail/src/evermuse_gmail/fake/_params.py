"""Query-parameter checks as strict as Google's: unknown names and bad values fail."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from evermuse_gmail.fake._errors import ApiError

__all__ = ["Params", "page_token", "read_page_token"]

# Parameters every Google API accepts besides its own.
_SYSTEM = {
    "$.xgafv",
    "access_token",
    "alt",
    "callback",
    "fields",
    "key",
    "oauth_token",
    "prettyPrint",
    "quotaUser",
    "uploadType",
    "upload_protocol",
}


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


class Params:
    """The query of one call, checked against the method's parameter list."""

    def __init__(self, query: dict[str, list[str]], allowed: set[str]) -> None:
        for name in query:
            if name not in allowed and name not in _SYSTEM:
                raise ApiError(
                    400,
                    "invalidArgument",
                    f'Invalid JSON payload received. Unknown name "{name}": Cannot '
                    f"bind query parameter. Field '{name}' could not be found in "
                    "request message.",
                )
        alt = query.get("alt", ["json"])[-1]
        if alt != "json":
            raise ApiError(400, "invalidParameter", f"Invalid value '{alt}' for alt")
        self.query = query

    def one(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def many(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        raw = self.one(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(
                400,
                "invalidArgument",
                f"Invalid value at '{_snake(name)}' (TYPE_UINT32), \"{raw}\"",
            ) from None
        if value < low:
            raise ApiError(400, "invalidArgument", f"Invalid {name}: {value}")
        return min(value, high)  # Gmail caps maxResults instead of refusing

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.one(name)
        if raw is None:
            return default
        if raw not in ("true", "false"):
            raise ApiError(
                400,
                "invalidArgument",
                f"Invalid value at '{_snake(name)}' (TYPE_BOOL), \"{raw}\"",
            )
        return raw == "true"

    def choice(self, name: str, default: str, options: tuple[str, ...]) -> str:
        value = self.one(name, default) or default
        if value not in options:
            raise ApiError(
                400, "invalidArgument", f"Invalid value at '{name}', \"{value}\""
            )
        return value


def _digest(scope: Any) -> str:
    return hashlib.sha256(json.dumps(scope, sort_keys=True).encode()).hexdigest()[:12]


def page_token(offset: int, scope: Any) -> str:
    """An opaque page token tied to the request it continues."""
    raw = json.dumps({"o": offset, "k": _digest(scope)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_page_token(token: str | None, scope: Any) -> int:
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, key = int(decoded["o"]), decoded["k"]
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "invalidArgument", "Invalid pageToken") from None
    if key != _digest(scope) or offset < 0:
        raise ApiError(400, "invalidArgument", "Invalid pageToken")
    return offset
