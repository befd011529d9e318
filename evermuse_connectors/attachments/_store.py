"""The attachment store's contract, and what it hands back for one staged file.

Evermuse downloads every ``_attachments[].vendor_url`` by itself after a batch
lands, without the source's credentials. Gmail and Slack files need the source's
token to download, so a connector fetches the bytes itself, puts them in a store,
and gives Evermuse the store's URL, which works without credentials until it
expires.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

from evermuse_connectors.attachments._errors import AttachmentStoreError
from evermuse_connectors.attachments._naming import check_key, content_key, name_of_key
from evermuse_connectors.attachments._policy import effective_mime_type
from evermuse_connectors.attachments._spool import Chunks, Spooled, spool
from evermuse_connectors.envelope import Attachment, AttachmentType

__all__ = ["AttachmentStore", "StagedFile", "attachment_type_for"]

logger = logging.getLogger(__name__)

# The envelope's limits on an attachment's filename and mime_type.
_MAX_FILENAME = 512
_MAX_MIME_TYPE = 256
_TYPE_BY_FAMILY = {
    "image": AttachmentType.IMAGE,
    "audio": AttachmentType.AUDIO,
    "video": AttachmentType.VIDEO,
    "text": AttachmentType.TEXT,
}


def attachment_type_for(mime_type: str) -> AttachmentType:
    """The envelope's attachment type for a media type (``file`` when unsure)."""
    family = mime_type.split("/", 1)[0].lower()
    return _TYPE_BY_FAMILY.get(family, AttachmentType.FILE)


_FIELDS = (
    "key",
    "url",
    "expires_at",
    "sha256",
    "sha1",
    "md5",
    "size",
    "mime_type",
    "filename",
)


@dataclass(frozen=True)
class StagedFile:
    """One file in a store: its content-addressed key, hashes and a fetchable URL.

    ``url`` is a secret while it lives (anyone holding it can download the file),
    so it is left out of the repr; log ``key`` instead.
    """

    key: str
    url: str = field(repr=False)
    expires_at: datetime
    sha256: str
    sha1: str
    md5: str
    size: int
    mime_type: str
    filename: str
    already_stored: bool = False
    """True when the same bytes were in the store before this put (not uploaded)."""

    def to_json(self) -> dict[str, Any]:
        """What a raw item keeps of a staged file. The URL is a secret while it
        lives, but raw items stay in the local store and normalise needs it."""
        return {
            "key": self.key,
            "url": self.url,
            "expires_at": self.expires_at.astimezone(UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "sha256": self.sha256,
            "sha1": self.sha1,
            "md5": self.md5,
            "size": self.size,
            "mime_type": self.mime_type,
            "filename": self.filename,
        }

    @classmethod
    def from_json(cls, value: object) -> StagedFile:
        """The file an entry of :meth:`to_json` describes; ValueError if damaged."""
        if not isinstance(value, Mapping) or any(f not in value for f in _FIELDS):
            raise ValueError("a staged file needs " + ", ".join(_FIELDS))
        texts = [value[f] for f in _FIELDS if f not in ("size", "expires_at")]
        if not all(isinstance(t, str) and t for t in texts):
            raise ValueError("a staged file's key, URL, hashes, type and name are text")
        size = value["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError("a staged file's size is a count of bytes")
        expires_at = datetime.fromisoformat(
            str(value["expires_at"]).replace("Z", "+00:00")
        )
        if expires_at.tzinfo is None:
            raise ValueError("a staged file's expires_at needs a time zone")
        return cls(
            key=value["key"],
            url=value["url"],
            expires_at=expires_at,
            sha256=value["sha256"],
            sha1=value["sha1"],
            md5=value["md5"],
            size=size,
            mime_type=value["mime_type"],
            filename=value["filename"],
        )

    def attachment(self, type: AttachmentType | None = None) -> Attachment:
        """The record's attachment for this file; the type follows the media type
        unless given."""
        return Attachment(
            type=type or attachment_type_for(self.mime_type),
            filename=self.filename[:_MAX_FILENAME] or None,
            mime_type=self.mime_type[:_MAX_MIME_TYPE],
            size=self.size,
            sha1=self.sha1,
            md5=self.md5,
            vendor_url=self.url,
        )


class AttachmentStore(ABC):
    """Keeps files by content and signs URLs that work without credentials.

    ``put`` is safe to call from several threads, and several processes may share
    one store (the same bytes land under the same key, written atomically).
    """

    def __init__(
        self, *, ttl_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.ttl = timedelta(seconds=ttl_seconds)
        self._clock = clock

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(
        self,
        chunks: Chunks,
        *,
        filename: str | None,
        mime_type: str | None = None,
        max_bytes: int | None = None,
    ) -> StagedFile:
        """Store the streamed bytes once and return them with a fresh URL.

        ``chunks`` is consumed once, piece by piece, into a temporary file, so memory
        does not grow with the file. Beyond ``max_bytes`` the put stops with
        AttachmentTooLargeError and nothing is kept.
        """
        media = effective_mime_type(filename, mime_type)
        with spool(chunks, folder=self._spool_folder(), max_bytes=max_bytes) as file:
            key = content_key(file.sha256, filename)
            already = self._exists(key)
            if not already:
                self._keep(file, key, media)
        logger.info(
            "attachment sha256:%s %s (%d bytes, %s)",
            file.sha256,
            "already stored" if already else "stored",
            file.size,
            media,
        )
        name = filename or name_of_key(key)
        url, expires_at = self._signed(key, name, media)
        return StagedFile(
            key=key,
            url=url,
            expires_at=expires_at,
            sha256=file.sha256,
            sha1=file.sha1,
            md5=file.md5,
            size=file.size,
            mime_type=media,
            filename=name,
            already_stored=already,
        )

    def url_for(
        self, key: str, *, filename: str | None = None, mime_type: str | None = None
    ) -> str:
        """A fresh URL for a key stored before (say, by a window's previous run)."""
        return self.signed(key, filename=filename, mime_type=mime_type)[0]

    def signed(
        self, key: str, *, filename: str | None = None, mime_type: str | None = None
    ) -> tuple[str, datetime]:
        """A fresh URL for a key stored before, and when it expires by the store's
        own clock.

        The key's presence is not checked: that would cost a request per file, and
        a URL for a missing key answers 404, which Evermuse reports as a failed
        download.
        """
        try:
            check_key(key)
        except ValueError as exc:
            raise AttachmentStoreError(str(exc)) from None
        name = filename or name_of_key(key)
        return self._signed(key, name, effective_mime_type(name, mime_type))

    @abstractmethod
    def close(self) -> None:
        """Release connections and servers; the stored files stay."""

    def _expiry(self) -> tuple[int, datetime]:
        expires = int(self._clock()) + int(self.ttl.total_seconds())
        return expires, datetime.fromtimestamp(expires, UTC)

    @abstractmethod
    def _spool_folder(self) -> Path | None:
        """Where the temporary file goes (None: the system's temporary folder)."""

    @abstractmethod
    def _exists(self, key: str) -> bool: ...

    @abstractmethod
    def _keep(self, file: Spooled, key: str, mime_type: str) -> None: ...

    @abstractmethod
    def _signed(self, key: str, filename: str, mime_type: str) -> tuple[str, datetime]:
        """The URL of ``key`` and when it expires."""
