"""A thread's staged files in the raw item, and the record's ``_attachments``.

Extract writes, next to the thread, ``files``: one entry per file of each kept
message, keyed ``<Gmail message id>/<part ref>``, either ``{"staged": {...}}``
(the store's key, URL, expiry, hashes, size, type and name) or ``{"reason": ...}``
(why it stayed metadata only; ``retry`` when a later run may stage it). Without an
attachment store there is no ``files`` at all. Normalise (pure) turns that into at
most 10 ``_attachments`` per record, one per distinct file, and lists every other
file in ``data["attachments_not_staged"]`` with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from evermuse_connectors.attachments import (
    MAX_ATTACHMENTS_PER_RECORD,
    StagedFile,
)
from evermuse_connectors.envelope import Attachment
from evermuse_gmail._mime import FilePart

__all__ = [
    "FILES",
    "NO_STORE",
    "Attached",
    "entry_key",
    "iso",
    "staged_file",
    "staged_json",
]

FILES = "files"
NO_STORE = "no attachment store is configured for this source"
_UNREADABLE = (
    "its staging details in the raw item are unreadable; re-extract the window"
)
_NOT_CONSIDERED = "it was not considered for staging when the window was extracted"


def entry_key(message: str, part: FilePart) -> str:
    return f"{message}/{part.ref}"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def staged_json(staged: StagedFile) -> dict[str, Any]:
    """What a raw item keeps of a staged file (see StagedFile.to_json)."""
    return staged.to_json()


def staged_file(value: Mapping[str, Any]) -> StagedFile:
    """The StagedFile a raw item's entry describes; ValueError if it is damaged."""
    return StagedFile.from_json(value)


class Attached:
    """Collects a thread's ``_attachments`` and the files left as metadata only."""

    def __init__(self, files: Any) -> None:
        # None: extracted without a store. A damaged value counts as empty, so
        # each file says it was not considered rather than sinking the record.
        self._files = files if isinstance(files, Mapping) or files is None else {}
        self.attachments: list[Attachment] = []
        self.not_staged: list[dict[str, Any]] = []
        self._keys: set[str] = set()

    def add(self, message: str, part: FilePart) -> None:
        if self._files is None:
            self._refuse(part, NO_STORE)
            return
        entry = self._files.get(entry_key(message, part))
        if not isinstance(entry, Mapping):
            self._refuse(part, _NOT_CONSIDERED)
            return
        if "staged" not in entry:
            self._refuse(part, str(entry.get("reason") or _NOT_CONSIDERED))
            return
        try:
            staged = staged_file(entry["staged"])
            attachment = staged.attachment()
        except (ValueError, TypeError):  # pydantic's ValidationError included
            self._refuse(part, _UNREADABLE)
            return
        if staged.key in self._keys:
            return  # the same file again (a reply that re-attached it)
        if len(self.attachments) >= MAX_ATTACHMENTS_PER_RECORD:
            self._refuse(
                part,
                f"over the {MAX_ATTACHMENTS_PER_RECORD} attachments a record may carry",
            )
            return
        self._keys.add(staged.key)
        self.attachments.append(attachment)

    def _refuse(self, part: FilePart, reason: str) -> None:
        self.not_staged.append(
            {
                "filename": part.filename,
                "mime_type": part.mime_type,
                "size": part.size,
                "reason": reason,
            }
        )
