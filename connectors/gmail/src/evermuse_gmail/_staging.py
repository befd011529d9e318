"""Staging a batch of threads' files, so Evermuse can fetch them without Gmail.

For each file of each kept message (attachments, and inline images when the
policy allows), in message order, the source's policy decides; a file it allows is
taken from what is already staged (an earlier run of the window, or another
mailbox's copy of the same message in this run), from the part's inline
``body.data``, or downloaded (``_download``). A record carries at most 10 distinct
files; as a reply that re-attaches a file gives the same content, the count is of
distinct staged files, so a thread's later files wait for the downloads in flight
before the limit is judged.

What is staged already, and for which messages another mailbox is downloading
right now, is in ``_staged``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evermuse_connectors.attachments import (
    AttachmentPolicy,
    Decision,
    StagedFile,
)
from evermuse_connectors.connector import ExtractContext, RawItem
from evermuse_connectors.errors import RecordError
from evermuse_gmail._attached import FILES, entry_key, staged_json
from evermuse_gmail._charset import b64url_bytes
from evermuse_gmail._client import CallCounter
from evermuse_gmail._download import Downloader, Failure, Outcome, Wanted
from evermuse_gmail._identity import sent_messages
from evermuse_gmail._mime import FilePart, file_parts, header_map
from evermuse_gmail._staged import POLICY_MARK, StagedIndex

__all__ = ["ATTACHMENT_SKIP", "Stager"]

logger = logging.getLogger(__name__)

ATTACHMENT_SKIP = "attachment:"  # how ctx.skip names a file that failed to stage
# Longer than a large download with its retries normally takes; after it, the
# waiting mailbox downloads the file itself rather than hang.
_CLAIM_WAIT_SECONDS = 600.0
_FIRST_ID = re.compile(r"<([^<>\s]+)>")


def _own_id(headers: Mapping[str, str]) -> str | None:
    value = headers.get("message-id") or ""
    found = _FIRST_ID.search(value)
    return found.group(1) if found else (value.strip() or None)


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
