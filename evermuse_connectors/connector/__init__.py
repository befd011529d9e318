"""The plugin contract, plugin discovery, and what the framework hands a connector."""

from evermuse_connectors.connector._contract import (
    Completeness,
    Connector,
    ExtractContext,
    ExtractStats,
    FakeSource,
    NormaliseContext,
    RawItem,
    Routing,
    Skip,
    Window,
)
from evermuse_connectors.connector._discovery import (
    ENTRY_POINT_GROUP,
    Discovered,
    discover_connectors,
)
from evermuse_connectors.connector._http import (
    HttpSession,
    RetryPolicy,
    parse_retry_after,
    redact_url,
)
from evermuse_connectors.connector._normalise import NormaliseFailure, normalise_items
from evermuse_connectors.connector._ratelimit import RateLimit, RateLimiter
from evermuse_connectors.connector._secrets import EnvVarName, resolve_secret
from evermuse_connectors.connector._urls import is_loopback_host

__all__ = [
    "ENTRY_POINT_GROUP",
    "Completeness",
    "Connector",
    "Discovered",
    "EnvVarName",
    "ExtractContext",
    "ExtractStats",
    "FakeSource",
    "HttpSession",
    "NormaliseContext",
    "NormaliseFailure",
    "RateLimit",
    "RateLimiter",
    "RawItem",
    "RetryPolicy",
    "Routing",
    "Skip",
    "Window",
    "discover_connectors",
    "is_loopback_host",
    "normalise_items",
    "parse_retry_after",
    "redact_url",
    "resolve_secret",
]
