"""Responses in the shapes Google's APIs use, errors included."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "Response", "google_error", "json_response"]

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def json_response(value: Any, status: int = 200) -> Response:
    body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    return Response(status, body, {"Content-Type": "application/json; charset=UTF-8"})


class ApiError(Exception):
    """Raised inside a route; becomes a Google error response."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        domain: str = "global",
        headers: dict[str, str] | None = None,
        status_name: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.domain = domain
        self.headers = headers or {}
        self.status_name = status_name

    def response(self) -> Response:
        return google_error(
            self.status,
            self.reason,
            self.message,
            domain=self.domain,
            headers=self.headers,
            status_name=self.status_name,
        )


def google_error(
    status: int,
    reason: str,
    message: str,
    *,
    domain: str = "global",
    headers: dict[str, str] | None = None,
    status_name: str | None = None,
) -> Response:
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": status_name or _STATUS.get(status, "UNKNOWN"),
        }
    }
    response = json_response(body, status)
    response.headers.update(headers or {})
    return response
