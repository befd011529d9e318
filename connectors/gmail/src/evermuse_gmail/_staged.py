"""What is staged already: files of earlier runs of the window, and of this run.

:class:`StagedIndex` remembers staged files for the run. Copies of one message in
two mailboxes have different Gmail ids but the same ``Message-ID`` and the same
MIME structure, so the second mailbox's file is found by Message-ID and part, not
downloaded again, and both copies name the very same URL: their records come out
byte for byte the same. Two mailboxes syncing at once do not both download a
shared file: the first claims it, the other waits for its result. A remembered
URL is re-signed (no request) when it expires within two days or when the store
now serves from elsewhere (a local store on another port).

A stored copy of an unchanged thread may stand only if it was staged under the
same policy and store (``files_policy``, a hash of both) and holds no file a new
try may stage.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from evermuse_connectors.attachments import (
    AttachmentPolicy,
    AttachmentStore,
    AttachmentStoreError,
)
from evermuse_connectors.connector import ExtractContext, RawItem
from evermuse_gmail._attached import FILES, iso, staged_file
from evermuse_gmail._mime import FilePart

__all__ = [
    "POLICY_MARK",
    "REFRESH_WITHIN",
    "StagedIndex",
    "Staging",
    "fingerprint",
    "restaged",
    "reusable",
]

POLICY_MARK = "files_policy"
REFRESH_WITHIN = timedelta(days=2)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(policy: AttachmentPolicy, store: AttachmentStore) -> str:
    """What the staging decisions of a raw item depended on: ``<store>.<policy>``.

    The store part names where the files are (a bucket and prefix, a folder), not
    how long its links live: files staged in another place cannot be re-used.
    """
    config = getattr(store, "config", None)
    where = f"{type(store).__name__}|{store!r}|{getattr(config, 'prefix', '')}"
    return f"{_hash(where)}.{_hash(policy.model_dump_json())}"


def _same_store(mark: object, current: str) -> bool:
    return isinstance(mark, str) and mark.split(".")[0] == current.split(".")[0]


def reusable(item: RawItem, mark: str) -> bool:
    """Whether an unchanged thread's stored copy may stand: staged under the same
    policy and store, and with no file a later run may still stage."""
    files = item.data.get(FILES)
    if item.data.get(POLICY_MARK) != mark or not isinstance(files, Mapping):
        return False
    return not any(
        isinstance(e, Mapping) and e.get("retry") is True for e in files.values()
    )


def _origin(url: str) -> str:
    return url.split("?", 1)[0]


class StagedIndex:
    """Files staged for this source and window, by part and by Message-ID.

    Shared by the mailboxes' threads; the first URL remembered for a file stays
    the one every copy names, for the run.
    """

    def __init__(
        self, store: AttachmentStore, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self._clock = clock
        self._by_part: dict[str, dict[str, Any]] = {}
        self._by_message: dict[tuple[str, str], dict[str, Any]] = {}
        self._by_file: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._claims: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()

    def claim(self, header: str | None, ref: str) -> threading.Event | None:
        """None when the caller may download this part of message ``header``
        (and now holds the claim); else the Event another mailbox sets when done.

        A claim is held only while its owner downloads and never across a
        wait, so two mailboxes cannot wait on each other.
        """
        if not header:
            return None
        with self._lock:
            held = self._claims.get((header, ref))
            if held is not None:
                return held
            self._claims[(header, ref)] = threading.Event()
            return None

    def release(self, header: str | None, ref: str) -> None:
        with self._lock:
            held = self._claims.pop((header or "", ref), None)
        if held is not None:
            held.set()

    def remember_item(self, item: RawItem, mark: str) -> None:
        """Learn the staged files of a raw item of an earlier run, if they were
        staged in this same store (``mark`` as :func:`fingerprint` gives it)."""
        files = item.data.get(FILES)
        mailbox = str(item.data.get("mailbox") or "")
        if not isinstance(files, Mapping) or not _same_store(
            item.data.get(POLICY_MARK), mark
        ):
            return
        for key, entry in files.items():
            if isinstance(entry, Mapping) and isinstance(entry.get("staged"), Mapping):
                message, _, ref = str(key).partition("/")
                header = entry.get("message_id")
                header = header if isinstance(header, str) else None
                self.remember(mailbox, message, ref, header, entry["staged"])

    def remember(
        self,
        mailbox: str,
        message: str,
        ref: str,
        header: str | None,
        staged: Mapping[str, Any],
        *,
        signed_now: bool = False,
    ) -> dict[str, Any] | None:
        """The entry every copy of this file names from now on (None if damaged).

        ``signed_now``: the URL was just signed, so it needs no refresh.
        """
        try:
            staged_file(staged)
        except (ValueError, TypeError):
            return None
        name = (str(staged["key"]), str(staged["filename"]), str(staged["mime_type"]))
        with self._lock:
            canonical = self._by_file.get(name)
            if canonical is None:
                fresh = dict(staged) if signed_now else self._fresh(dict(staged))
                if fresh is None:
                    return None
                canonical = self._by_file[name] = fresh
            self._by_part[f"{mailbox}/{message}/{ref}"] = canonical
            if header:
                self._by_message.setdefault((header, ref), canonical)
            return canonical

    def known(
        self, mailbox: str, message: str, part: FilePart, header: str | None
    ) -> dict[str, Any] | None:
        with self._lock:
            found = self._by_part.get(f"{mailbox}/{message}/{part.ref}")
            if found is None and header:
                found = self._by_message.get((header, part.ref))
        if found is None:
            return None
        # A Message-ID shared by two different messages must not lend one's file
        # to the other: the name and size must match too.
        if part.size is not None and found["size"] != part.size:
            return None
        if part.filename and found["filename"] != part.filename:
            return None
        return found

    def refreshed(self, item: RawItem) -> RawItem:
        """An unchanged thread's stored copy with its URLs fresh."""
        files = item.data.get(FILES)
        if not isinstance(files, Mapping):
            return item
        mailbox = str(item.data.get("mailbox") or "")
        updated: dict[str, Any] = {}
        for key, entry in files.items():
            if isinstance(entry, Mapping) and isinstance(entry.get("staged"), Mapping):
                message, _, ref = str(key).partition("/")
                header = entry.get("message_id")
                canonical = self.remember(
                    mailbox,
                    message,
                    ref,
                    header if isinstance(header, str) else None,
                    entry["staged"],
                )
                if canonical is not None:
                    entry = {**entry, "staged": canonical}
            updated[str(key)] = entry
        return RawItem(item.id, item.kind, {**item.data, FILES: updated})

    def _fresh(self, staged: dict[str, Any]) -> dict[str, Any] | None:
        now = datetime.fromtimestamp(self._clock(), UTC)
        try:
            expires = datetime.fromisoformat(
                str(staged["expires_at"]).replace("Z", "+00:00")
            )
            url, fresh_expiry = self.store.signed(
                staged["key"],
                filename=staged["filename"],
                mime_type=staged["mime_type"],
            )
        except (ValueError, AttachmentStoreError):
            return None
        if expires - now > REFRESH_WITHIN and _origin(url) == _origin(staged["url"]):
            return staged
        return {**staged, "url": url, "expires_at": iso(fresh_expiry)}


@dataclass
class Staging:
    """The attachment store of this extract, its policy, and what is staged."""

    store: AttachmentStore
    policy: AttachmentPolicy
    index: StagedIndex
    mark: str

    @classmethod
    def of(cls, ctx: ExtractContext) -> Staging | None:
        if ctx.attachments is None:
            return None
        policy = ctx.attachment_policy or AttachmentPolicy()
        return cls(
            store=ctx.attachments,
            policy=policy,
            index=StagedIndex(ctx.attachments),
            mark=fingerprint(policy, ctx.attachments),
        )


def restaged(item: RawItem, staging: Staging | None) -> RawItem:
    """A stored copy as this run would stage it: URLs fresh, or no files at all
    when the source no longer has a store."""
    if staging is not None:
        return staging.index.refreshed(item)
    if FILES not in item.data and POLICY_MARK not in item.data:
        return item
    data = {k: v for k, v in item.data.items() if k not in (FILES, POLICY_MARK)}
    return RawItem(item.id, item.kind, data)
