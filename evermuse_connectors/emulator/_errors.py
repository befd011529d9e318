"""The emulator's errors: answers it refuses with, and misuse of the emulator."""

from __future__ import annotations

from typing import Any

import orjson

from evermuse_connectors.errors import EvermuseError

__all__ = ["ApiError", "EmulatorError", "EmulatorTimeout"]


class EmulatorError(EvermuseError):
    """The emulator was used the wrong way (not started, started twice, ...)."""


class EmulatorTimeout(EmulatorError, TimeoutError):
    """``wait_idle`` ran out of time with batches or downloads still open."""


class ApiError(Exception):
    """An HTTP error answer, in the spec's ``ErrorResponse`` shape.

    Internal to the emulator: raised inside an endpoint, turned into a response by
    the server, never seen by a caller of the Python API.
    """

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = details
        self.retry_after = retry_after
        self.headers = headers or {}
        self.close = close

    def body(self) -> bytes:
        payload: dict[str, Any] = {"error": self.error, "message": self.message[:2048]}
        if self.retry_after is not None:
            payload["retryAfter"] = self.retry_after
        if self.details is not None:
            payload["details"] = self.details
        return orjson.dumps(payload)
