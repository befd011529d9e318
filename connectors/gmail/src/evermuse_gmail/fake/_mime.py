"""MIME building blocks for the generated mailboxes, with the stdlib ``email`` package.

Everything is built with the compat32 ``Message`` API so that charsets and transfer
encodings are exactly what a test needs (including wrong ones), and every multipart
boundary is given explicitly: the stdlib would otherwise draw one from the global
random generator and the same seed would no longer give the same bytes.
"""

from __future__ import annotations

import base64
import io
import quopri
import struct
import zlib
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.policy import compat32
from email.utils import formataddr

__all__ = [
    "address",
    "attachment",
    "encoded_subject",
    "multipart",
    "rfc822",
    "serialise",
    "text_part",
    "tiny_png",
]

_POLICY = compat32.clone(linesep="\r\n")


def _transfer(data: bytes, cte: str) -> str:
    if cte == "base64":
        return base64.encodebytes(data).decode("ascii")
    if cte == "quoted-printable":
        return quopri.encodestring(data).decode("ascii")
    return data.decode("ascii")  # 7bit: ASCII only


def text_part(
    text: str,
    *,
    subtype: str = "plain",
    charset: str = "utf-8",
    cte: str = "quoted-printable",
    data: bytes | None = None,
    extra: str = "",
) -> Message:
    """A text part; ``data`` overrides the bytes (for deliberately wrong charsets)."""
    part = Message()
    part["Content-Type"] = f'text/{subtype}; charset="{charset}"{extra}'
    part["Content-Transfer-Encoding"] = cte
    # Characters the charset cannot hold become '?', as old mail clients did.
    payload = data if data is not None else text.encode(charset, errors="replace")
    part.set_payload(_transfer(payload, cte))
    return part


def attachment(
    data: bytes,
    mime: str,
    filename: str | None,
    *,
    inline: bool = False,
    content_id: str | None = None,
) -> Message:
    part = Message()
    name = f'; name="{filename}"' if filename else ""
    part["Content-Type"] = f"{mime}{name}"
    part["Content-Transfer-Encoding"] = "base64"
    disposition = "inline" if inline else "attachment"
    if filename:
        part["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    else:
        part["Content-Disposition"] = disposition
    if content_id:
        part["Content-ID"] = f"<{content_id}>"
    part.set_payload(_transfer(data, "base64"))
    return part


def multipart(
    subtype: str, boundary: str, parts: list[Message], extra: str = ""
) -> Message:
    message = Message()
    message["Content-Type"] = f'multipart/{subtype}; boundary="{boundary}"{extra}'
    for part in parts:
        message.attach(part)
    return message


def rfc822(inner: Message, *, filename: str | None = None) -> Message:
    """A ``message/rfc822`` part holding ``inner`` (a forward as attachment)."""
    part = Message()
    part["Content-Type"] = "message/rfc822"
    if filename:
        part["Content-Disposition"] = f'attachment; filename="{filename}"'
    else:
        part["Content-Disposition"] = "inline"
    part.set_payload([inner])
    return part


def address(name: str, email: str) -> str:
    """``Name <email>``; non-ASCII names as RFC 2047 encoded words."""
    return formataddr((name, email), charset="utf-8")


def encoded_subject(subject: str) -> str:
    if subject.isascii():
        return subject
    return Header(subject, "utf-8").encode()


def serialise(message: Message) -> bytes:
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=_POLICY).flatten(message)
    return out.getvalue()


def tiny_png(red: int, green: int, blue: int) -> bytes:
    """A valid 1x1 PNG of one colour (an inline logo needs real image bytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes([0, red, green, blue]))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )
