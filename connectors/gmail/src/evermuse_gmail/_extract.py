"""A window's raw threads from every configured mailbox.

For each mailbox: ``threads.list`` with the window's bounds and the configured
query, then ``threads.get`` in batches. Mailboxes run concurrently (``_fanin``)
with a quota budget each; a mailbox whose credentials are refused is reported with
``ctx.skip`` and the others go on. A thread whose ``historyId`` has not changed
since the window's previous extract is taken from the stored copy, not fetched.
The copy of a conversation that another mailbox already gave (a colleague in CC)
is dropped when it holds no message the other copy lacked (see ``_copies``).
With an attachment store, each fetched batch of threads has its files staged
before it is handed on (see ``_staging``); an unchanged thread keeps the files its
stored copy staged, with URLs re-signed when they are about to expire.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from evermuse_connectors.connector import ExtractContext, RawItem, Window
from evermuse_gmail._auth import CredentialSource
from evermuse_gmail._client import (
    DIRECTORY_HINT,
    ApiCaller,
    CallCounter,
    MailboxAuthError,
    MailboxClient,
    quota_limiter,
)
from evermuse_gmail._config import GmailConfig, ServiceAccountAuth
from evermuse_gmail._copies import Copies
from evermuse_gmail._directory import directory_mailboxes
from evermuse_gmail._download import Downloader
from evermuse_gmail._fanin import fan_in
from evermuse_gmail._normalise import THREAD_KIND
from evermuse_gmail._retry import Problem
from evermuse_gmail._staged import Staging, restaged, reusable
from evermuse_gmail._staging import Stager

__all__ = ["extract_window", "window_query"]

logger = logging.getLogger(__name__)

_PROFILE_STATE = "gmail_profile"


def window_query(config: GmailConfig, window: Window) -> str:
    """The ``q`` of threads.list for a window.

    Gmail's filtering guide gives epoch seconds for exact bounds but does not say
    whether ``after:`` includes its second; asking from one second earlier means a
    message at the very start of the window is never lost either way. A thread
    seen by two windows is harmless: its record's identity does not change.
    """
    terms = [f"after:{window.start_epoch - 1}", f"before:{window.end_epoch}"]
    terms += [f"-category:{c}" for c in config.exclude_categories]
    if config.query.strip():
        terms.append(f"({config.query.strip()})")
    return " ".join(terms)


@dataclass
class _Reused:
    item_ids: list[str]


@dataclass
class _Run:
    """What every mailbox of one extract shares."""

    config: GmailConfig
    ctx: ExtractContext
    credentials: CredentialSource
    query: str
    previous: dict[str, str]
    known_copies: dict[str, str]
    staging: Staging | None = None
    counter: CallCounter = field(default_factory=CallCounter)
    still_copies: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def copy_unchanged(self, item_id: str, history: str) -> None:
        with self._lock:
            self.still_copies[item_id] = history

    def caller(self, label: str, mailbox: str | None) -> ApiCaller:
        limiter = quota_limiter(self.ctx, self.config, mailbox or "me")
        return ApiCaller(
            label=label,
            ctx=self.ctx,
            config=self.config,
            limiter=limiter,
            counter=self.counter,
            secrets=self.credentials.secret_values,
        )


class _Mailbox:
    """Syncs one mailbox: yields lists of raw items, then the ids it reused."""

    def __init__(self, run: _Run, mailbox: str | None) -> None:
        self.run = run
        self.mailbox = mailbox
        self.label = mailbox or "the authorized user's mailbox"
        self.stager: Stager | None = None

    def __call__(self) -> Iterator[list[RawItem] | _Reused]:
        try:
            yield from self._sync()
        except MailboxAuthError as exc:
            self.run.counter.add("mailboxes_failed")
            self.run.ctx.skip(f"mailbox:{self.mailbox or 'me'}", str(exc))

    def _sync(self) -> Iterator[list[RawItem] | _Reused]:
        run = self.run
        credentials = run.credentials.for_mailbox(self.mailbox)
        client = MailboxClient(
            mailbox=self.label,
            user_id=self.mailbox or "me",
            credentials=credentials,
            config=run.config,
            caller=run.caller(self.label, self.mailbox),
        )
        self.stager = self._stager(client)
        try:
            yield from self._list_and_fetch(client)
        finally:
            if self.stager is not None:
                self.stager.downloader.close()
            client.close()

    def _stager(self, client: MailboxClient) -> Stager | None:
        run, staging = self.run, self.run.staging
        if staging is None:
            return None
        downloader = Downloader(
            client,
            staging.store,
            max_bytes=staging.policy.max_bytes,
            stream_above=run.config.attachment_stream_bytes,
        )
        return Stager(
            mailbox=self.mailbox or "me",
            downloader=downloader,
            index=staging.index,
            policy=staging.policy,
            mark=staging.mark,
            ctx=run.ctx,
            counter=run.counter,
        )

    def _list_and_fetch(
        self, client: MailboxClient
    ) -> Iterator[list[RawItem] | _Reused]:
        run = self.run
        address = self.mailbox or self._own_address(client)
        if self.stager is not None:
            self.stager.mailbox = address  # the raw items' name for the mailbox
        pending: deque[tuple[str, int]] = deque()
        listed: set[str] = set()
        reused: list[str] = []
        for page in client.list_pages(run.query):
            for entry in page:
                thread_id = entry.get("id")
                if not isinstance(thread_id, str) or thread_id in listed:
                    continue  # a thread moved between pages while listing
                listed.add(thread_id)
                item_id = f"{address}/{thread_id}"
                history = str(entry.get("historyId") or "")
                if history and run.previous.get(item_id) == history:
                    reused.append(item_id)
                elif history and run.known_copies.get(item_id) == history:
                    # Dropped last time as another mailbox's copy, unchanged since.
                    run.copy_unchanged(item_id, history)
                else:
                    pending.append((thread_id, 0))
            while len(pending) >= run.config.batch_size:
                yield from self._batch(client, pending, address)
        run.ctx.expect("threads", len(listed))
        run.counter.add("threads_listed", len(listed))
        while pending:
            yield from self._batch(client, pending, address)
        if reused:
            yield _Reused(reused)

    def _own_address(self, client: MailboxClient) -> str:
        store, source = self.run.ctx.store, self.run.ctx.source
        state = store.get_state(source, _PROFILE_STATE)
        address = state.get("address")
        if isinstance(address, str) and address:
            return address
        address = client.profile_address()
        if not address:
            raise MailboxAuthError(
                "users.getProfile gave no emailAddress; check the grant's scopes"
            )
        store.put_state(source, _PROFILE_STATE, {"address": address})
        return address

    def _batch(
        self, client: MailboxClient, pending: deque[tuple[str, int]], address: str
    ) -> Iterator[list[RawItem]]:
        run = self.run
        size = min(run.config.batch_size, len(pending))
        chunk = [pending.popleft() for _ in range(size)]
        outcome = client.get_threads([thread_id for thread_id, _ in chunk])
        items: list[RawItem] = []
        retry: list[tuple[str, int]] = []
        worst: tuple[Problem, int] | None = None
        for thread_id, attempts in chunk:
            item_id = f"{address}/{thread_id}"
            thread = outcome.threads.get(thread_id)
            if thread is not None:
                data = {"mailbox": address, "thread": thread}
                items.append(RawItem(id=item_id, kind=THREAD_KIND, data=data))
                continue
            problem = outcome.problems[thread_id]
            if problem.retryable and attempts + 1 < run.config.max_attempts:
                retry.append((thread_id, attempts + 1))
                if worst is None or (problem.retry_after or 0) > (
                    worst[0].retry_after or 0
                ):
                    worst = (problem, attempts + 1)
                continue
            self._give_up(item_id, problem, attempts + 1)
        pending.extendleft(reversed(retry))
        run.counter.add("retried_parts", len(retry))
        if self.stager is not None and items:
            items = self.stager.stage(items)
        logger.info(
            "%s: batch of %d thread(s): %d fetched, %d to retry",
            self.label,
            len(chunk),
            len(items),
            len(retry),
        )
        if items:
            yield items
        if worst is not None:
            problem, attempt = worst
            client.caller.wait(problem, attempt, what="threads.get in a batch")

    def _give_up(self, item_id: str, problem: Problem, attempts: int) -> None:
        run = self.run
        if problem.kind == "auth":
            raise MailboxAuthError(
                f"{self.label}: threads.get refused ({problem.detail})"
            )
        if problem.kind == "not_found":
            run.counter.add("threads_gone")
            run.ctx.skip(item_id, "deleted between threads.list and threads.get (404)")
            return
        run.counter.add("threads_failed")
        run.ctx.skip(
            item_id, f"not fetched after {attempts} attempt(s): {problem.detail}"
        )


def _previous_history(ctx: ExtractContext, staging: Staging | None) -> dict[str, str]:
    """The historyId of each thread whose stored copy may be re-used as it is.

    With a store, the staged files of every stored copy are remembered (a grown
    thread's earlier files need no new download), and a copy staged under another
    policy or store, or with a file a new try may stage, is fetched again.
    """
    index: dict[str, str] = {}
    try:
        for item in ctx.previous_items():
            thread = item.data.get("thread")
            history = thread.get("historyId") if isinstance(thread, dict) else None
            if item.kind != THREAD_KIND or not history:
                continue
            if staging is not None:
                staging.index.remember_item(item, staging.mark)
                if not reusable(item, staging.mark):
                    continue
            index[item.id] = str(history)
    except Exception as exc:  # a damaged earlier copy must not stop a fresh one
        logger.warning("previous raw items unreadable (%s); fetching all", exc)
        return {}
    return index


def _mailboxes(run: _Run) -> list[str | None]:
    if not isinstance(run.config.auth, ServiceAccountAuth):
        return [run.config.mailboxes[0] if run.config.mailboxes else None]
    caller = ApiCaller(
        label="directory",
        ctx=run.ctx,
        config=run.config,
        limiter=None,
        counter=run.counter,
        secrets=run.credentials.secret_values,
        auth_hint=DIRECTORY_HINT,
    )
    found = directory_mailboxes(run.config, run.credentials, caller, run.counter)
    listed = [*run.config.mailboxes, *found]
    return list(dict.fromkeys(listed))


def _copies_state(window: Window) -> str:
    return "gmail_copies_" + re.sub(r"[^A-Za-z0-9_.-]", "_", window.key)


def extract_window(config: GmailConfig, ctx: ExtractContext) -> Iterator[RawItem]:
    """Every thread with a message in ``ctx.window``, one raw item at a time."""
    known = ctx.store.get_state(ctx.source, _copies_state(ctx.window))
    staging = Staging.of(ctx)
    run = _Run(
        config=config,
        ctx=ctx,
        credentials=CredentialSource(config.auth, ctx),
        query=window_query(config, ctx.window),
        previous=_previous_history(ctx, staging),
        known_copies={str(k): str(v) for k, v in known.items()},
        staging=staging,
    )
    mailboxes = _mailboxes(run)
    copies = Copies()
    reused: set[str] = set()
    fetched = 0
    for event in fan_in(
        (_Mailbox(run, m) for m in mailboxes),
        concurrency=config.max_concurrent_mailboxes,
        name="gmail-mailbox",
    ):
        if isinstance(event, _Reused):
            reused.update(event.item_ids)
            continue
        for item in event:
            fetched += 1
            if copies.offer(item):
                yield item
    reused_count = len(reused)
    yield from _reuse(ctx, reused, copies, staging)
    yield from copies.leftovers()
    # Remember the dropped copies, so that a re-run need not fetch them again.
    dropped = {**run.still_copies, **copies.dropped}
    ctx.store.put_state(ctx.source, _copies_state(ctx.window), dropped)
    _report(run, mailboxes, fetched, reused_count, len(dropped))


def _reuse(
    ctx: ExtractContext, reused: set[str], copies: Copies, staging: Staging | None
) -> Iterator[RawItem]:
    if not reused:
        return
    for item in ctx.previous_items():
        if item.id in reused:
            reused.discard(item.id)
            if copies.offer(item):
                yield restaged(item, staging)
    for item_id in sorted(reused):
        # Another run of this window replaced the stored copy while this one ran.
        ctx.skip(item_id, "unchanged, but its stored copy vanished; re-run the window")


def _report(
    run: _Run, mailboxes: list[str | None], fetched: int, reused: int, dropped: int
) -> None:
    counter = run.counter
    run.ctx.stats.notes.update(
        {
            "mailboxes": len(mailboxes),
            "mailboxes_failed": counter.mailboxes_failed,
            "threads_listed": counter.threads_listed,
            "threads_fetched": fetched,
            "threads_reused": reused,
            "duplicates_dropped": dropped,
            "threads_gone": counter.threads_gone,
            "threads_failed": counter.threads_failed,
            "round_trips": counter.round_trips,
            "token_requests": counter.token_requests,
            "quota_units": counter.quota_units,
            "retried_parts": counter.retried_parts,
            "rate_limited": counter.rate_limited,
        }
    )
    if run.staging is not None:
        run.ctx.stats.notes["attachments"] = {
            "downloaded": counter.attachments_downloaded,
            "from_inline_data": counter.attachments_inline,
            "reused": counter.attachments_reused,
            "not_staged": counter.attachments_not_staged,
            "failed": counter.attachments_failed,
            "bytes_downloaded": counter.attachment_bytes,
            "quota_units": counter.attachment_units,
            "round_trips": counter.attachment_round_trips,
        }
    logger.info(
        "%s: %d thread(s) listed in %d mailbox(es), %d fetched, %d reused, "
        "%d duplicate(s) dropped, %d round trip(s), %d quota unit(s)",
        run.ctx.source,
        counter.threads_listed,
        len(mailboxes),
        fetched,
        reused,
        dropped,
        counter.round_trips,
        counter.quota_units,
    )
