"""Staging a batch of threads' files, so Evermuse can fetch them without Gmail.

For each file of each kept message (attachments, and inline images when the
policy allows), in message order, the source's policy decides; a file it allows is
taken from what is already staged (an earlier run of the window, or another
mailbox's copy of the same message in this run), from the part's inline
``body.data``, or downloaded (``_download``). A record carries at most 10 distinct
files; as a reply that re-attaches a file gives the same content, the count is of
distinct staged files, so a thread's later files wait for the downloads in flight
before the limit is judged.

:class:`StagedIndex` remembers staged files for the run. Copies of one message in
two mailboxes have different Gmail ids but the same ``Message-ID`` and the same
MIME structure, so the second mailbox's file is found by Message-ID and part, not
downloaded again, and both copies name the very same URL: their records come out
byte for byte the same. A remembered URL is re-signed (no request) when it
expires within two days or when the store now serves from elsewhere.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from evermuse_connectors.attachments import (
    AttachmentPolicy,
    AttachmentStore,
    AttachmentStoreError,
    Decision,
    StagedFile,
)
from evermuse_connectors.connector import ExtractContext, RawItem
from evermuse_connectors.errors import RecordError
from evermuse_gmail._attached import FILES, entry_key, iso, staged_file, staged_json
from evermuse_gmail._charset import b64url_bytes
from evermuse_gmail._client import CallCounter
from evermuse_gmail._download import Downloader, Failure, Outcome, Wanted
from evermuse_gmail._identity import sent_messages
from evermuse_gmail._mime import FilePart, file_parts, header_map

__all__ = [
    "ATTACHMENT_SKIP",
    "POLICY_MARK",
    "StagedIndex",
    "Stager",
    "fingerprint",
    "reusable",
]

logger = logging.getLogger(__name__)

POLICY_MARK = "files_policy"
ATTACHMENT_SKIP = "attachment:"  # how ctx.skip names a file that failed to stage
REFRESH_WITHIN = timedelta(days=2)
# Longer than a large download with its retries normally takes; after it, the
# waiting mailbox downloads the file itself rather than hang.
_CLAIM_WAIT_SECONDS = 600.0
_FIRST_ID = re.compile(r"<([^<>\s]+)>")


def fingerprint(policy: AttachmentPolicy, store: AttachmentStore) -> str:
    """What the staging decisions of a raw item depended on: policy and store."""
    text = f"{policy.model_dump_json()}|{store!r}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def reusable(item: RawItem, mark: str) -> bool:
    """Whether an unchanged thread's stored copy may stand: staged under the same
    policy and store, and with no file a later run may still stage."""
    files = item.data.get(FILES)
    if item.data.get(POLICY_MARK) != mark or not isinstance(files, Mapping):
        return False
    return not any(
        isinstance(e, Mapping) and e.get("retry") is True for e in files.values()
    )


def _own_id(headers: Mapping[str, str]) -> str | None:
    value = headers.get("message-id") or ""
    found = _FIRST_ID.search(value)
    return found.group(1) if found else (value.strip() or None)


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

    def remember_item(self, item: RawItem) -> None:
        """Learn the staged files of a raw item of an earlier run."""
        files = item.data.get(FILES)
        mailbox = str(item.data.get("mailbox") or "")
        if not isinstance(files, Mapping):
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
            url = self.store.url_for(
                staged["key"],
                filename=staged["filename"],
                mime_type=staged["mime_type"],
            )
        except (ValueError, AttachmentStoreError):
            return None
        if expires - now > REFRESH_WITHIN and _origin(url) == _origin(staged["url"]):
            return staged
        return {**staged, "url": url, "expires_at": iso(now + self.store.ttl)}


@dataclass
class _File:
    message: str
    header: str | None
    part: FilePart
    entry: dict[str, Any] | None = None
    own: bool = False  # download it without waiting for another mailbox's copy


@dataclass
class _Thread:
    item: RawItem
    files: list[_File]
    distinct: set[str] = field(default_factory=set)


class Stager:
    """Stages the files of one mailbox's threads, a batch of threads at a time."""

    def __init__(
        self,
        *,
        mailbox: str,
        downloader: Downloader,
        index: StagedIndex,
        policy: AttachmentPolicy,
        mark: str,
        ctx: ExtractContext,
        counter: CallCounter,
    ) -> None:
        self.mailbox = mailbox
        self.downloader = downloader
        self.index = index
        self.policy = policy
        self.mark = mark
        self.ctx = ctx
        self.counter = counter

    def stage(self, items: list[RawItem]) -> list[RawItem]:
        """The same threads, each with its ``files``."""
        threads = [self._plan(item) for item in items]
        planned = [t for t in threads if t is not None]
        while True:
            wanted: list[tuple[_Thread, _File]] = []
            waiting: list[tuple[_Thread, _File, threading.Event]] = []
            for thread in planned:
                mine, theirs = self._round(thread)
                wanted += [(thread, f) for f in mine]
                waiting += [(thread, f, event) for f, event in theirs]
            if not wanted and not waiting:
                break
            self._download(wanted)
            for thread, file, event in waiting:
                self._await(thread, file, event)
        self._log(planned)
        return [
            item if thread is None else self._finish(thread)
            for item, thread in zip(items, threads, strict=True)
        ]

    def _plan(self, item: RawItem) -> _Thread | None:
        try:
            messages = sent_messages(item.data.get("thread"))
        except RecordError:
            return None  # normalise reports what is wrong with it
        files: list[_File] = []
        for message in messages:
            payload = message.get("payload")
            if not isinstance(payload, Mapping):
                continue
            gmail_id = str(message.get("id") or "")
            header = _own_id(header_map(payload))
            files += [_File(gmail_id, header, part) for part in file_parts(payload)]
        return _Thread(item, files)

    def _round(
        self, thread: _Thread
    ) -> tuple[list[_File], list[tuple[_File, threading.Event]]]:
        """Decide the thread's undecided files: those to download this round, and
        those another mailbox is downloading."""
        wanted: list[_File] = []
        theirs: list[tuple[_File, threading.Event]] = []
        for file in thread.files:
            if file.entry is not None:
                continue
            part = file.part
            count = len(thread.distinct) + len(wanted) + len(theirs)
            decision = self._decide(part, count)
            if not decision.stage:
                over = (wanted or theirs) and count >= self.policy.max_per_record
                if over and self._decide(part, 0).stage:
                    break  # those in flight may repeat a staged file: wait
                file.entry = {"reason": decision.reason}
                self.counter.add("attachments_not_staged")
                continue
            known = self.index.known(self.mailbox, file.message, part, file.header)
            if known is not None:
                self.counter.add("attachments_reused")
                self._keep(thread, file, known)
            elif part.data is not None:
                self.counter.add("attachments_inline")
                self._settle(thread, file, self._inline(part))
            elif part.attachment_id:
                held = None if file.own else self.index.claim(file.header, part.ref)
                if held is None:
                    wanted.append(file)
                else:
                    theirs.append((file, held))
            else:
                file.entry = {
                    "reason": "Gmail gave neither its bytes nor an attachment id"
                }
                self.counter.add("attachments_not_staged")
        return wanted, theirs

    def _download(self, wanted: list[tuple[_Thread, _File]]) -> None:
        try:
            outcomes = self.downloader.fetch(
                [Wanted(f.message, f.part) for _, f in wanted]
            )
            for (thread, file), outcome in zip(wanted, outcomes, strict=True):
                self._settle(thread, file, outcome)
        finally:
            for _, file in wanted:
                self.index.release(file.header, file.part.ref)

    def _await(self, thread: _Thread, file: _File, event: threading.Event) -> None:
        """Take the file another mailbox downloaded; if it could not, or takes
        too long, this mailbox downloads it in the next round."""
        known = None
        if event.wait(_CLAIM_WAIT_SECONDS):
            known = self.index.known(self.mailbox, file.message, file.part, file.header)
        if known is None:
            file.own = True
            return
        self.counter.add("attachments_reused")
        self._keep(thread, file, known)

    def _decide(self, part: FilePart, count: int) -> Decision:
        return self.policy.decide(
            filename=part.filename,
            mime_type=part.mime_type,
            size=part.size,
            inline=part.inline,
            already_staged=count,
        )

    def _inline(self, part: FilePart) -> Outcome:
        return self.downloader.put(b64url_bytes(part.data or ""), part)

    def _settle(self, thread: _Thread, file: _File, outcome: Outcome) -> None:
        if isinstance(outcome, StagedFile):
            canonical = self.index.remember(
                self.mailbox,
                file.message,
                file.part.ref,
                file.header,
                staged_json(outcome),
                signed_now=True,
            )
            if canonical is not None:
                self._keep(thread, file, canonical)
                return
            outcome = Failure("the store's answer could not be read", retry=True)
        assert isinstance(outcome, Failure)
        file.entry = {"reason": outcome.reason, "retry": outcome.retry}
        self.counter.add("attachments_not_staged")
        if outcome.retry:
            self.counter.add("attachments_failed")
            self.ctx.skip(
                f"{ATTACHMENT_SKIP}{self.mailbox}/{file.message}/{file.part.ref}",
                outcome.reason,
            )
        else:
            logger.warning(
                "%s: attachment %s of message %s not staged: %s",
                self.mailbox,
                file.part.ref,
                file.message,
                outcome.reason,
            )

    def _keep(self, thread: _Thread, file: _File, staged: dict[str, Any]) -> None:
        file.entry = {"staged": staged}
        thread.distinct.add(str(staged["key"]))

    def _finish(self, thread: _Thread) -> RawItem:
        files = {
            entry_key(f.message, f.part): {"message_id": f.header, **(f.entry or {})}
            for f in thread.files
        }
        data = {**thread.item.data, FILES: files, POLICY_MARK: self.mark}
        return RawItem(thread.item.id, thread.item.kind, data)

    def _log(self, threads: list[_Thread]) -> None:
        files = [f for t in threads for f in t.files]
        if not files:
            return
        staged = sum(1 for f in files if f.entry and "staged" in f.entry)
        logger.info(
            "%s: %d file(s) in %d thread(s): %d staged, %d metadata only",
            self.mailbox,
            len(files),
            sum(1 for t in threads if t.files),
            staged,
            len(files) - staged,
        )
