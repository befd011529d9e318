"""Write a stream of chunks to a temporary file while hashing it.

The content-addressed key needs the sha-256 before the upload starts, and the
bytes must not sit in memory, so they go to disk first: one pass writes and hashes,
a second pass (the upload, or a rename for the local store) reads them back.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from evermuse_connectors.attachments._errors import (
    AttachmentStoreError,
    AttachmentTooLargeError,
)
from evermuse_connectors.errors import shorten

__all__ = ["READ_SIZE", "Chunks", "Spooled", "spool"]

READ_SIZE = 1024 * 1024


@runtime_checkable
class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


Chunks = Iterable[bytes | bytearray | memoryview] | bytes | bytearray | _Readable
"""Bytes in pieces, a single bytes object, or a binary file opened for reading."""


@dataclass(frozen=True)
class Spooled:
    """The spool file's path and what was learnt while writing it."""

    path: Path
    size: int
    sha256: str
    sha1: str
    md5: str


@contextmanager
def spool(
    chunks: Chunks, *, folder: Path | None = None, max_bytes: int | None = None
) -> Iterator[Spooled]:
    """Spool ``chunks`` into a file in ``folder``; the file is gone afterwards.

    A caller may move the file away (the local store renames it into place); the
    clean-up then finds nothing to remove.
    """
    try:
        fd, name = tempfile.mkstemp(prefix="spool-", suffix=".part", dir=folder)
    except OSError as exc:
        raise AttachmentStoreError(
            f"cannot create a temporary file in {folder or tempfile.gettempdir()} "
            f"({exc.strerror}); make the folder writable or configure another one"
        ) from None
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            spooled = _write(_pieces(chunks), handle, path, max_bytes)
        yield spooled
    finally:
        path.unlink(missing_ok=True)


def _write(
    pieces: Iterator[bytes | bytearray],
    handle: BinaryIO,
    path: Path,
    max_bytes: int | None,
) -> Spooled:
    sha256 = hashlib.sha256()
    sha1 = hashlib.sha1(usedforsecurity=False)
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    for piece in pieces:
        size += len(piece)
        if max_bytes is not None and size > max_bytes:
            raise AttachmentTooLargeError(
                f"the file is over the limit of {max_bytes} bytes given to put "
                f"(more than {size} bytes arrived); it was not stored, keep it as "
                "metadata only or raise the policy's max_bytes",
                limit=max_bytes,
            )
        sha256.update(piece)
        sha1.update(piece)
        md5.update(piece)
        try:
            handle.write(piece)
        except OSError as exc:
            raise AttachmentStoreError(
                f"cannot write the temporary file {path} ({exc.strerror}); check "
                "the disk's free space"
            ) from None
    return Spooled(path, size, sha256.hexdigest(), sha1.hexdigest(), md5.hexdigest())


def _pieces(chunks: Chunks) -> Iterator[bytes | bytearray]:
    # Iterating a bytes object yields ints, so whole bytes are one piece; a file is
    # read in fixed pieces; anything else is an iterable of bytes-like pieces.
    if isinstance(chunks, bytes | bytearray):
        yield chunks
        return
    if isinstance(chunks, _Readable):
        while piece := chunks.read(READ_SIZE):
            yield _bytes_like(piece)
        return
    for item in chunks:
        if item:
            yield _bytes_like(item)


def _bytes_like(piece: object) -> bytes | bytearray:
    if isinstance(piece, bytes | bytearray):
        return piece
    if isinstance(piece, memoryview):
        # len() of a memoryview counts items, not bytes; a copy of one chunk is
        # cheap and counts right.
        return piece.tobytes()
    raise TypeError(
        f"expected the file's content as bytes chunks, got a "
        f"{type(piece).__name__} chunk {shorten(piece, 40)}; encode text first "
        "(for example text.encode('utf-8'))"
    )
