"""Extract one window from the Slack Web API: one raw item per thread.

For each readable conversation, ``conversations.history`` lists the window's parent
messages; only a parent with replies needs ``conversations.replies``, and only when
its ``reply_count``/``latest_reply`` differ from what the window's previous run
stored. Unchanged threads are re-yielded from the previous raw items, so a refresh
with nothing new costs history pages and nothing else.

Slack counts its limits per method, so replies are fetched by one worker thread
while history pages go on: each method runs at its own pace. Items still come out
in history order (a bounded look-ahead queue), so the output is deterministic.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from evermuse_connectors.connector import ExtractContext, RawItem
from evermuse_slack._client import UNREADABLE, PagingError, SlackApi, SlackRefusal
from evermuse_slack._config import SlackConfig
from evermuse_slack._directory import (
    Directory,
    load_directory,
    save_directory,
    select_channels,
)
from evermuse_slack._files import file_urls
from evermuse_slack._staging import Stager
from evermuse_slack._threads import (
    PreviousThreads,
    clean_message,
    referenced_users,
    signature,
    thread_item,
)
from evermuse_slack._ts import format_ts, is_ts, ts_micros

__all__ = ["extract_from_api"]

logger = logging.getLogger(__name__)

# How many threads may wait for their replies before history paging pauses: enough
# to keep the replies worker busy, small enough to keep memory flat.
_LOOKAHEAD = 64
_TOKEN_PURPOSE = "a Slack bot token (xoxb-...) of the app in the workspace"  # noqa: S105


@dataclass
class _Replies:
    parent: dict[str, Any] | None
    replies: list[dict[str, Any]]
    pages: int
    problem: str | None


@dataclass
class _Pending:
    channel: dict[str, Any]
    parent: dict[str, Any]
    future: Future[_Replies] | None
    reused: RawItem | None
    # The thread's previous raw item, whose staged files a re-run keeps.
    previous: RawItem | None


def extract_from_api(config: SlackConfig, ctx: ExtractContext) -> Iterator[RawItem]:
    yield from _WindowSync(config, ctx).run()


class _WindowSync:
    def __init__(self, config: SlackConfig, ctx: ExtractContext) -> None:
        self.config = config
        self.ctx = ctx
        start, end = ctx.window.start, ctx.window.end
        self.bounds = (ts_micros(format_ts(start)), ts_micros(format_ts(end)))
        self.pending: deque[_Pending] = deque()
        self.unreadable: list[dict[str, str]] = []
        self.counts = {"threads": 0, "with_replies": 0, "reused": 0, "fetched": 0}

    def run(self) -> Iterator[RawItem]:
        token = self.ctx.secret(self.config.token_env, purpose=_TOKEN_PURPOSE)
        self.api = SlackApi(self.config, token, self.ctx)
        self.stager = Stager(self.config, self.ctx, token=token, api=self.api)
        self.directory: Directory = load_directory(self.api, self.config, self.ctx)
        channels = self._readable_channels()
        previous = PreviousThreads(self.ctx.previous_items)
        with ThreadPoolExecutor(1, thread_name_prefix="slack-replies") as pool:
            try:
                for channel in channels:
                    for parent in self._parents(channel):
                        self.pending.append(self._plan(pool, previous, channel, parent))
                        yield from self._ready(block=False)
                yield from self._ready(block=True)
            finally:
                for waiting in self.pending:
                    if waiting.future is not None:
                        waiting.future.cancel()
        self._finish(len(channels))

    def _readable_channels(self) -> list[dict[str, Any]]:
        selected, missing = select_channels(self.directory.channels, self.config)
        for ref, reason in missing:
            self.ctx.skip(f"channel:{ref}", reason)
        readable = []
        for channel in selected:
            if channel["is_member"] is not False:
                readable.append(channel)
            elif self._can_join(channel):
                if self._join(channel):
                    readable.append(channel)
            else:
                self._unreadable(
                    channel,
                    "not_in_channel",
                    "the bot is not a member: invite it, or set join_public_channels",
                )
        return readable

    def _can_join(self, channel: Mapping[str, Any]) -> bool:
        return (
            self.config.join_public_channels
            and channel["type"] == "public_channel"
            and not channel["is_archived"]
        )

    def _join(self, channel: dict[str, Any]) -> bool:
        try:
            self.api.call("conversations.join", channel=channel["id"])
        except SlackRefusal as exc:
            self._unreadable(channel, exc.error, "conversations.join refused")
            return False
        channel["is_member"] = True
        self.directory.changed = True
        logger.info("%s: joined #%s", self.ctx.source, channel["name"])
        return True

    def _unreadable(self, channel: Mapping[str, Any], error: str, hint: str) -> None:
        self.ctx.skip(f"channel:{channel['id']}", f"{error}: {hint}")
        self.unreadable.append(
            {"id": str(channel["id"]), "name": str(channel["name"]), "error": error}
        )

    def _parents(self, channel: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The window's top-level messages of one conversation, newest first."""
        start, end = self.bounds
        try:
            for page in self.api.pages(
                "conversations.history",
                items_key="messages",
                what=f"#{channel['name']}",
                channel=channel["id"],
                oldest=format_ts(start),
                latest=format_ts(end),
                # inclusive keeps a message at exactly the window start; one at
                # exactly the end belongs to the next window and is dropped below.
                inclusive=True,
                limit=self.config.page_size("conversations.history"),
            ):
                for message in page.get("messages") or []:
                    if self._is_parent(message, start, end):
                        yield message
        except SlackRefusal as exc:
            if exc.error not in UNREADABLE:
                raise
            self._unreadable(channel, exc.error, "conversations.history refused")
        except PagingError as exc:
            self.ctx.skip(f"history:{channel['id']}", str(exc))

    @staticmethod
    def _is_parent(message: object, start: int, end: int) -> bool:
        if not isinstance(message, dict) or not is_ts(message.get("ts")):
            logger.warning("conversations.history gave a message without a ts; skipped")
            return False
        ts = ts_micros(message["ts"])
        if not start <= ts < end:
            return False
        # A reply "also sent to the channel" shows in history too; it belongs to
        # its parent's thread, which conversations.replies returns whole.
        thread_ts = message.get("thread_ts")
        return not (is_ts(thread_ts) and ts_micros(thread_ts) != ts)

    def _plan(
        self,
        pool: ThreadPoolExecutor,
        previous: PreviousThreads,
        channel: dict[str, Any],
        parent: dict[str, Any],
    ) -> _Pending:
        count, latest = signature(parent)
        self.counts["threads"] += 1
        self.ctx.expect("threads", 1)
        # Every thread's previous item is taken, with replies or not: it holds
        # the files staged before.
        before = previous.take(channel["id"], parent["ts"])
        if count == 0 and not latest:
            return _Pending(channel, parent, None, None, before)
        self.counts["with_replies"] += 1
        self.ctx.expect("replies", count)
        if (
            before is not None
            and before.data.get("reported") == [count, latest]
            and not self.stager.needs_replies(before)
        ):
            self.counts["reused"] += 1
            return _Pending(channel, parent, None, before, before)
        self.counts["fetched"] += 1
        future = pool.submit(self._fetch_replies, channel, parent["ts"])
        return _Pending(channel, parent, future, None, before)

    def _fetch_replies(self, channel: Mapping[str, Any], thread_ts: str) -> _Replies:
        by_ts: dict[int, dict[str, Any]] = {}
        pages = 0
        problem = None
        try:
            for page in self.api.pages(
                "conversations.replies",
                items_key="messages",
                what=f"thread {thread_ts} of #{channel['name']}",
                channel=channel["id"],
                ts=thread_ts,
                limit=self.config.page_size("conversations.replies"),
            ):
                pages += 1
                for message in page.get("messages") or []:
                    # The parent may come again on later pages: keep one of each ts.
                    if isinstance(message, dict) and is_ts(message.get("ts")):
                        by_ts.setdefault(ts_micros(message["ts"]), message)
        except PagingError as exc:
            problem = str(exc)
        except SlackRefusal as exc:
            if exc.error != "thread_not_found":
                raise
            problem = "thread_not_found: the parent was deleted after history was read"
        parent = by_ts.pop(ts_micros(thread_ts), None)
        return _Replies(parent, [by_ts[k] for k in sorted(by_ts)], pages, problem)

    def _ready(self, *, block: bool) -> Iterator[RawItem]:
        while self.pending:
            head = self.pending[0]
            waiting = head.future is not None and not head.future.done()
            if waiting and not block and len(self.pending) <= _LOOKAHEAD:
                return
            self.pending.popleft()
            item = self._complete(head)
            if item is not None:
                yield item

    def _complete(self, pending: _Pending) -> RawItem | None:
        channel, parent = pending.channel, pending.parent
        thread_ts = str(parent["ts"])
        reported: list[Any] | None = signature(parent)
        fetch: dict[str, Any] = {"via": "api", "replies": "none"}
        replies: list[dict[str, Any]] = []
        # Slack's messages, before their file URLs are dropped.
        sent: list[dict[str, Any]] = [parent]
        if pending.reused is not None:
            fetch["replies"] = "reused"
            replies = [
                m
                for m in pending.reused.data.get("messages") or []
                if m.get("ts") != thread_ts
            ]
        elif pending.future is not None:
            try:
                result = pending.future.result()
            except SlackRefusal as exc:
                if exc.error not in UNREADABLE:
                    raise
                self.ctx.skip(
                    f"thread:{channel['id']}:{thread_ts}",
                    f"conversations.replies answered {exc.error}",
                )
                return None
            parent = result.parent or parent
            sent = [parent, *result.replies]
            replies = [clean_message(m) for m in result.replies]
            reported = signature(parent)
            fetch.update(replies="fetched", pages=result.pages)
            if result.problem:
                # Not stored as in sync, so that the next run fetches it again.
                fetch["problem"] = result.problem
                reported = None
        messages = [clean_message(parent), *replies]
        users = self.directory.users_for(referenced_users(messages), messages, self.api)
        item = thread_item(
            team_id=self.directory.team_id,
            workspace_url=self.directory.workspace_url,
            channel=channel,
            thread_ts=thread_ts,
            messages=messages,
            users=users,
            channel_names=self.directory.channel_names,
            reported=reported if reported is not None else [],
            fetch=fetch,
        )
        return self.stager.stage(item, urls=file_urls(sent), previous=pending.previous)

    def _finish(self, channels_read: int) -> None:
        if self.directory.changed:
            save_directory(self.directory, self.config, self.ctx)
        self.ctx.stats.notes.update(
            {
                "directory": self.directory.source,
                "rate_regime": self.config.rate_regime,
                "channels_read": channels_read,
                "channels_unreadable": self.unreadable[:100],
                "threads": self.counts["threads"],
                "threads_with_replies": self.counts["with_replies"],
                "threads_reused": self.counts["reused"],
                "threads_fetched": self.counts["fetched"],
                "rate_limited_responses": self.api.rate_limited,
                "attachments": self.stager.summary(),
            }
        )
        staging = self.stager.counts
        if staging["files"]:
            logger.info(
                "%s: window %s: %d files, %d downloaded, %d reused (%d re-signed), "
                "%d left as metadata",
                self.ctx.source,
                self.ctx.window.key,
                staging["files"],
                staging["downloaded"] + staging["already_stored"],
                staging["reused"],
                staging["refreshed"],
                staging["files"]
                - staging["downloaded"]
                - staging["already_stored"]
                - staging["reused"],
            )
        logger.info(
            "%s: window %s: %d threads (%d replies fetched, %d reused), %d channels",
            self.ctx.source,
            self.ctx.window.key,
            self.counts["threads"],
            self.counts["fetched"],
            self.counts["reused"],
            channels_read,
        )
