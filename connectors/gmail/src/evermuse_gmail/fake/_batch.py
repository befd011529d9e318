"""The batch endpoint's wire format, as google-api-python-client speaks it.

In: ``multipart/mixed``; each part ``Content-Type: application/http`` with a
``Content-ID``, holding an HTTP request whose request line carries only the path
(``GET /gmail/v1/users/me/threads/X?format=full&alt=json HTTP/1.1``), then headers
separated by LF. Out: ``multipart/mixed`` with one part per request, in order, each
``Content-ID: <response-ID>`` (the library splits on " + ", so the spaces of the
request's id must survive) holding an HTTP response written with CRLF and a blank
CRLF line before the body (the library splits on "\\r\\n\\r\\n").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from http import HTTPStatus

__all__ = ["BatchFormatError", "InnerRequest", "parse_batch", "render_batch"]

MAX_PARTS = 100  # Gmail's documented limit of calls per batch


class BatchFormatError(ValueError):
    """The batch body is not what Google's batch endpoint accepts."""


@dataclass(frozen=True)
class InnerRequest:
    content_id: str
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def _inner(payload: str, content_id: str) -> InnerRequest:
    head, _, body = payload.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    try:
        method, target, version = lines[0].split(" ", 2)
    except ValueError:
        raise BatchFormatError(f"part {content_id}: no HTTP request line") from None
    if not version.startswith("HTTP/") or not target.startswith("/"):
        raise BatchFormatError(f"part {content_id}: bad request line {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return InnerRequest(content_id, method.upper(), target, headers, body.encode())


def parse_batch(content_type: str, body: bytes) -> list[InnerRequest]:
    if (
        not content_type.lower().startswith("multipart/mixed")
        or "boundary=" not in content_type
    ):
        raise BatchFormatError("the batch body must be multipart/mixed with a boundary")
    message = BytesParser(policy=compat32).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    parts = message.get_payload()
    if not message.is_multipart() or not isinstance(parts, list) or not parts:
        raise BatchFormatError("the batch body holds no parts")
    if len(parts) > MAX_PARTS:
        raise BatchFormatError(
            f"A batch can hold at most {MAX_PARTS} calls, got {len(parts)}"
        )
    requests = []
    for part in parts:
        if not isinstance(part, Message):
            raise BatchFormatError("a batch part is not a MIME entity")
        if part.get_content_type() != "application/http":
            raise BatchFormatError("every part must be Content-Type: application/http")
        content_id = str(part.get("Content-ID", "")).strip()
        if content_id.startswith("<") and content_id.endswith(">"):
            content_id = content_id[1:-1]
        payload = part.get_payload()
        if not isinstance(payload, str):
            raise BatchFormatError("a part must hold one HTTP request")
        requests.append(_inner(payload, content_id))
    return requests


@dataclass(frozen=True)
class InnerResponse:
    content_id: str
    status: int
    headers: dict[str, str]
    body: bytes


def render_batch(responses: list[InnerResponse]) -> tuple[str, bytes]:
    """The Content-Type and body of the batch response."""
    boundary = f"batch_{secrets.token_hex(12)}"
    chunks: list[bytes] = []
    for response in responses:
        reason = HTTPStatus(response.status).phrase
        inner = [f"HTTP/1.1 {response.status} {reason}"]
        inner += [f"{k}: {v}" for k, v in response.headers.items()]
        inner += [f"Content-Length: {len(response.body)}", "", ""]
        chunks.append(
            (
                f"--{boundary}\r\nContent-Type: application/http\r\n"
                f"Content-ID: <response-{response.content_id}>\r\n\r\n"
            ).encode()
            + "\r\n".join(inner).encode()
            + response.body
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"multipart/mixed; boundary={boundary}", b"".join(chunks)
