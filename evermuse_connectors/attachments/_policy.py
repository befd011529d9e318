"""Which files a source stages, set by the user per source.

A file the policy refuses stays metadata only, and the record carries the
decision's reason in its ``data``, so a person reading it in Evermuse knows why the
bytes are missing.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from evermuse_connectors.errors import shorten

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_ATTACHMENTS_PER_RECORD",
    "AttachmentPolicy",
    "Decision",
    "effective_mime_type",
]

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
# The envelope's _attachments array holds at most 10 items (maxItems in the spec).
MAX_ATTACHMENTS_PER_RECORD = 10
OCTET_STREAM = "application/octet-stream"

_GLOB = re.compile(r"^(\*|[a-z0-9!#$&^_.+-]+)/(\*|[a-z0-9!#$&^_.+*-]+)$")
# Only the built-in table: the system's /etc/mime.types differs between machines,
# and the same file must get the same type everywhere.
_GUESSER = mimetypes.MimeTypes(filenames=())


def effective_mime_type(filename: str | None, mime_type: str | None) -> str:
    """The media type to store and judge a file by, lower case, without parameters.

    Gmail and Slack often say ``application/octet-stream`` for files a browser would
    recognise; a guess from the file's extension is better than that, and the same
    guess is made when deciding and when storing.
    """
    media = (mime_type or "").split(";", 1)[0].strip().lower()
    if media and media != OCTET_STREAM and _GLOB.match(media):
        return media
    guessed, _encoding = _GUESSER.guess_type(filename or "", strict=False)
    return guessed.lower() if guessed else OCTET_STREAM


@dataclass(frozen=True)
class Decision:
    """Whether to stage a file, and in plain words why (put in ``data`` when not)."""

    stage: bool
    reason: str
    mime_type: str

    def __bool__(self) -> bool:
        return self.stage


def _check_globs(values: list[str], field: str) -> list[str]:
    cleaned = []
    for value in values:
        glob = "*/*" if value.strip() == "*" else value.strip().lower()
        if not _GLOB.match(glob):
            raise ValueError(
                f"{field}: expected media-type patterns such as 'image/*' or "
                f"'application/pdf', got {shorten(value)}; write type/subtype, with "
                "* for any part"
            )
        cleaned.append(glob)
    return cleaned


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.4g} MB"


class AttachmentPolicy(BaseModel):
    """Which files of a source are staged for Evermuse to download."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    max_bytes: Annotated[int, Field(ge=1)] = DEFAULT_MAX_BYTES
    mime_types: list[str] = Field(default_factory=lambda: ["*/*"])
    """Allow-list of media-type globs."""
    exclude_mime_types: list[str] = Field(default_factory=list)
    """Deny-list of media-type globs; it wins over the allow-list."""
    inline_images: bool = True
    """Stage images that sit inline in a message body (logos, signatures, pastes)."""
    max_per_record: int = MAX_ATTACHMENTS_PER_RECORD

    @field_validator("mime_types")
    @classmethod
    def _allowed(cls, value: list[str]) -> list[str]:
        return _check_globs(value, "mime_types")

    @field_validator("exclude_mime_types")
    @classmethod
    def _excluded(cls, value: list[str]) -> list[str]:
        return _check_globs(value, "exclude_mime_types")

    @field_validator("max_per_record")
    @classmethod
    def _per_record(cls, value: int) -> int:
        if not 1 <= value <= MAX_ATTACHMENTS_PER_RECORD:
            raise ValueError(
                f"max_per_record: expected 1 to {MAX_ATTACHMENTS_PER_RECORD} (the "
                f"envelope's limit on _attachments), got {value}; to stage nothing, "
                "set enabled: false"
            )
        return value

    def decide(
        self,
        *,
        filename: str | None,
        mime_type: str | None,
        size: int | None,
        inline: bool = False,
        already_staged: int = 0,
    ) -> Decision:
        """Whether to stage one file of a record that has ``already_staged`` staged.

        ``size`` None (unknown before download) passes; give the store's ``put`` the
        same ``max_bytes`` so that a file bigger than announced is stopped there.
        """
        media = effective_mime_type(filename, mime_type)
        reason = self._refusal(media, size, inline, already_staged)
        if reason is None:
            return Decision(True, "within the source's attachment policy", media)
        return Decision(False, reason, media)

    def _refusal(
        self, media: str, size: int | None, inline: bool, already_staged: int
    ) -> str | None:
        if not self.enabled:
            return "attachment staging is off for this source"
        if already_staged >= self.max_per_record:
            return f"over the {self.max_per_record} attachments a record may carry"
        if inline and media.startswith("image/") and not self.inline_images:
            return "inline images are off"
        if any(fnmatchcase(media, glob) for glob in self.exclude_mime_types):
            return f"type {media} is excluded"
        if not any(fnmatchcase(media, glob) for glob in self.mime_types):
            return f"type {media} is not among the allowed types"
        if size is not None and size > self.max_bytes:
            return f"over the {_megabytes(self.max_bytes)} limit"
        return None
