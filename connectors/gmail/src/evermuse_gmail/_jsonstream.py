"""The bytes of ``messages.attachments.get``'s answer, decoded while it arrives.

Gmail has no media download for attachments: the answer is JSON,
``{"size": N, "data": "<base64url>"}``, and ``data`` holds the whole file, a third
larger than the file itself. Parsing that with ``json.loads`` keeps the body, the
string and the decoded bytes in memory at once (about four times the file). This
reader walks the one flat object piece by piece and hands out the decoded bytes of
``data`` as they come, so memory stays at about one network chunk.

Google's JSON writers may escape characters in strings (``\\u003d`` for the
padding ``=``); escapes are decoded. Anything that is not a flat object of strings,
numbers, booleans and nulls is refused with :class:`StreamFormatError`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["DataStream", "StreamFormatError"]

_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9_\-+/]")
_SIMPLE_ESCAPES = {
    b'"': b'"',
    b"\\": b"\\",
    b"/": b"/",
    b"b": b"\b",
    b"f": b"\f",
    b"n": b"\n",
    b"r": b"\r",
    b"t": b"\t",
}
_WHITESPACE = b" \t\r\n"


class StreamFormatError(ValueError):
    """The answer is not the flat JSON object attachments.get returns."""


@dataclass
class _Cursor:
    chunks: Iterator[bytes]
    buffer: bytes = b""
    at: int = 0

    def fill(self) -> bool:
        """Make at least one unread byte available; False at the end of input."""
        while self.at >= len(self.buffer):
            piece = next(self.chunks, None)
            if piece is None:
                return False
            self.buffer, self.at = bytes(piece), 0
        return True

    def peek(self) -> bytes:
        """The next byte that is not whitespace, without taking it."""
        while self.fill():
            byte = self.buffer[self.at : self.at + 1]
            if byte not in _WHITESPACE:
                return byte
            self.at += 1
        raise StreamFormatError("the answer ended before its JSON object did")

    def take(self, expected: bytes) -> None:
        found = self.peek()
        if found != expected:
            raise StreamFormatError(
                f"expected {expected.decode()!r} in the answer, got {found!r}"
            )
        self.at += 1

    def byte(self) -> bytes:
        if not self.fill():
            raise StreamFormatError("the answer ended inside a string")
        byte = self.buffer[self.at : self.at + 1]
        self.at += 1
        return byte

    def string_pieces(self) -> Iterator[bytes]:
        """The raw content of the string starting here, escapes decoded, in pieces."""
        self.take(b'"')
        while True:
            if not self.fill():
                raise StreamFormatError("the answer ended inside a string")
            buffer, start = self.buffer, self.at
            quote, slash = buffer.find(b'"', start), buffer.find(b"\\", start)
            stop = min(i for i in (quote, slash, len(buffer)) if i >= 0)
            if stop > start:
                yield buffer[start:stop]
            self.at = stop
            if stop == quote:
                self.at += 1
                return
            if stop == slash:
                self.at += 1
                yield self._escape()

    def _escape(self) -> bytes:
        kind = self.byte()
        if kind in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[kind]
        if kind != b"u":
            raise StreamFormatError(f"unknown escape \\{kind.decode(errors='replace')}")
        digits = b"".join(self.byte() for _ in range(4))
        try:
            return chr(int(digits, 16)).encode("utf-8", errors="replace")
        except ValueError:
            raise StreamFormatError("a \\u escape without four hex digits") from None

    def scalar(self) -> object:
        """A number, true, false or null (read to the next , or })."""
        text = b""
        while self.fill():
            byte = self.buffer[self.at : self.at + 1]
            if byte in b",}" or byte in _WHITESPACE:
                break
            text += byte
            self.at += 1
            if len(text) > 64:
                break
        try:
            return json.loads(text)
        except ValueError:
            raise StreamFormatError(
                f"expected a JSON value, got {text[:20]!r}; only flat objects are read"
            ) from None


class DataStream:
    """Iterate over it for the decoded bytes of ``data``; then read ``size``.

    ``size`` is what the answer said (None if it said nothing), ``decoded`` what
    came out; a caller compares them after the iteration ends.
    """

    def __init__(self, chunks: Iterable[bytes], *, field: str = "data") -> None:
        self._cursor = _Cursor(iter(chunks))
        self._field = field
        self.size: int | None = None
        self.decoded = 0

    def __iter__(self) -> Iterator[bytes]:
        cursor = self._cursor
        found = False
        cursor.take(b"{")
        first = True
        while cursor.peek() != b"}":
            if not first:
                cursor.take(b",")
            first = False
            key = b"".join(cursor.string_pieces()).decode("utf-8", errors="replace")
            cursor.take(b":")
            if cursor.peek() == b'"':
                if key == self._field:
                    found = True
                    yield from self._decoded(cursor.string_pieces())
                else:
                    for _ in cursor.string_pieces():
                        pass
                continue
            if cursor.peek() in b"{[":
                raise StreamFormatError(
                    f"field {key[:40]!r} holds an object or array; the answer of "
                    "attachments.get is a flat object"
                )
            value = cursor.scalar()
            if key == "size" and isinstance(value, int):
                self.size = value
        cursor.take(b"}")
        if not found:
            raise StreamFormatError(f"the answer has no {self._field!r} field")

    def _decoded(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        pending = b""
        for piece in pieces:
            pending += _NOT_BASE64.sub(b"", piece)
            whole = len(pending) - len(pending) % 4
            if whole:
                out = base64.urlsafe_b64decode(pending[:whole])
                pending = pending[whole:]
                self.decoded += len(out)
                yield out
        if len(pending) % 4 == 1:
            raise StreamFormatError("the base64url data has a dangling character")
        if pending:
            out = base64.urlsafe_b64decode(pending + b"=" * (-len(pending) % 4))
            self.decoded += len(out)
            yield out
