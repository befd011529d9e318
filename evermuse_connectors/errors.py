"""The one exception tree of evermuse-connectors.

Every error the framework raises on purpose descends from :class:`EvermuseError`.
The subclasses are grouped by what the caller should do about them::

    EvermuseError
    ├── ConfigError            fix the configuration (a file, a field, a variable)
    ├── RecordError            fix the data: one record or raw item is wrong
    ├── DeliveryError          talking to Evermuse went wrong
    │   ├── RetryableError     transient: retrying the same request may succeed
    │   ├── BadRequestError    400: the body was wrong; retrying cannot help
    │   ├── AuthError          401: the API key is missing or wrong
    │   ├── PermissionDeniedError 403: the key lacks ``api:write``
    │   └── GaveUpError        retries ran out; the last transient error is attached
    └── SourceError            talking to a source API went wrong
        └── SourceAuthError    the source refused the credentials

Foreign errors (httpx, pydantic, the source SDKs) are translated at the boundary with
``raise ... from``, so a caller only ever needs to catch these.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BadRequestError",
    "ConfigError",
    "DeliveryError",
    "EvermuseError",
    "GaveUpError",
    "PermissionDeniedError",
    "RecordError",
    "RetryableError",
    "SourceAuthError",
    "SourceError",
    "shorten",
]


def shorten(value: object, limit: int = 80) -> str:
    """The repr of ``value`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


class EvermuseError(Exception):
    """The root of every error evermuse-connectors raises on purpose."""


class ConfigError(EvermuseError, ValueError):
    """The configuration is wrong; the message names the file, field and fix.

    It is a ValueError too, so that raised inside a pydantic validator it becomes a
    validation error located at the field.
    """


class RecordError(EvermuseError):
    """One record or raw item is wrong; the others are unaffected."""


class DeliveryError(EvermuseError):
    """A request to the Evermuse ingest API failed."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetryableError(DeliveryError):
    """A transient failure (429, 5xx, timeout, dropped connection)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class BadRequestError(DeliveryError):
    """Evermuse answered 400: the request body was wrong. Not retried."""


class AuthError(DeliveryError):
    """Evermuse answered 401: the API key is missing or invalid. Not retried."""


class PermissionDeniedError(DeliveryError):
    """Evermuse answered 403: the API key lacks the needed permission. Not retried."""


class GaveUpError(DeliveryError):
    """Retries ran out (count or total time); ``__cause__`` is the last failure."""


class SourceError(EvermuseError):
    """A request to a source API (Gmail, Slack, Zoom, ...) failed."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SourceAuthError(SourceError):
    """The source API refused the configured credentials (``status`` 401 or 403)."""
