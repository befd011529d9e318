"""The Gmail connector: one ``email_thread`` record per conversation."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import ClassVar

from evermuse_connectors.connector import (
    Completeness,
    Connector,
    ExtractContext,
    ExtractStats,
    FakeSource,
    NormaliseContext,
    RawItem,
)
from evermuse_connectors.envelope import Record, RecordType
from evermuse_connectors.errors import RecordError, shorten
from evermuse_gmail._config import GmailConfig
from evermuse_gmail._extract import extract_window
from evermuse_gmail._normalise import THREAD_KIND, normalise_thread
from evermuse_gmail._staging import ATTACHMENT_SKIP

__all__ = ["GmailConnector"]


class GmailConnector(Connector[GmailConfig]):
    """Gmail threads through the Gmail API, one record per conversation."""

    name: ClassVar[str] = "gmail"
    config_model: ClassVar[type[GmailConfig]] = GmailConfig
    record_types: ClassVar[tuple[RecordType, ...]] = (RecordType.EMAIL_THREAD,)
    description: ClassVar[str] = (
        "Gmail / Google Workspace mailboxes: whole threads with readable bodies"
    )
    api_pool: ClassVar[str] = "gmail_api"

    def extract(self, config: GmailConfig, ctx: ExtractContext) -> Iterator[RawItem]:
        return extract_window(config, ctx)

    def normalise(
        self, item: RawItem, config: GmailConfig, ctx: NormaliseContext
    ) -> list[Record]:
        if item.kind != THREAD_KIND:
            raise RecordError(
                f"kind: expected {THREAD_KIND!r}, got {shorten(item.kind)}; this raw "
                "item was not written by the Gmail connector"
            )
        return normalise_thread(item, config, ctx)

    def fake_source(self, *, seed: int, now: datetime) -> FakeSource:
        from evermuse_gmail.fake import FakeGmail  # the fake is for tests and demos

        return FakeGmail(seed=seed, now=now).start()

    def malformed_item(self) -> RawItem:
        # A real kind and shape, but threads.get was asked for too little: no
        # messages, so there is nothing to date or identify the thread by.
        return RawItem(
            id="support@acme.example/18c0ffee00000000",
            kind=THREAD_KIND,
            data={
                "mailbox": "support@acme.example",
                "thread": {"id": "18c0ffee00000000", "historyId": "7", "messages": []},
            },
        )

    def completeness(
        self, items: Iterable[RawItem], stats: ExtractStats
    ) -> Completeness | None:
        """Every listed thread fetched, or reported with the reason it was not,
        and every file the policy allowed staged (when there is a store)."""
        notes = stats.notes
        if "threads_listed" not in notes:
            return None
        threads = sum(1 for item in items if item.kind == THREAD_KIND)
        listed = int(stats.expected.get("threads", 0))
        dropped = int(notes.get("duplicates_dropped", 0))
        gone = int(notes.get("threads_gone", 0))
        failed_mailboxes = int(notes.get("mailboxes_failed", 0))
        accounted = threads + dropped + gone
        reasons = [f"{s.item_id}: {s.reason}" for s in stats.skipped]
        files_failed = sum(
            1 for s in stats.skipped if s.item_id.startswith(ATTACHMENT_SKIP)
        )
        passed = (
            accounted == listed
            and failed_mailboxes == 0
            and (len(stats.skipped) - files_failed == gone)
            and files_failed == 0
        )
        description = (
            f"{threads} of {listed} listed thread(s) stored; {dropped} duplicate "
            f"cop(ies) from other mailboxes, {gone} deleted before fetching"
        )
        if failed_mailboxes:
            description += f"; {failed_mailboxes} mailbox(es) could not be read"
        if files_failed:
            description += (
                f"; {files_failed} attachment(s) could not be staged (the next run "
                "tries again)"
            )
        if not passed and accounted != listed and not reasons:
            description += "; some listed threads are missing without a reason"
        return Completeness(
            passed=passed,
            description=description,
            metadata={
                "listed": listed,
                "stored": threads,
                "duplicates_dropped": dropped,
                "deleted": gone,
                "mailboxes_failed": failed_mailboxes,
                "attachments_failed": files_failed,
                "skipped": reasons[:50],
            },
        )
