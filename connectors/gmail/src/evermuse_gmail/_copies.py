"""Recognising the copies of one conversation that several mailboxes hold."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from evermuse_connectors.connector import RawItem
from evermuse_connectors.errors import RecordError
from evermuse_gmail._identity import message_ids, sent_messages, thread_identity

__all__ = ["Copies"]

logger = logging.getLogger(__name__)


class Copies:
    """Recognises a conversation another mailbox already gave.

    Copies are matched by the conversation's root Message-ID. A copy whose
    messages all came in an earlier copy is dropped. A copy that lacks the
    conversation's first message (a colleague added to CC later) would get a
    different ``_event_at``, so it is held back until every mailbox is done, and
    dropped then if another mailbox gave the whole conversation.
    """

    def __init__(self) -> None:
        self._seen: dict[Any, frozenset[str]] = {}
        self._held: list[tuple[Any, frozenset[str], RawItem]] = []
        self.dropped: dict[str, str] = {}  # item id -> historyId of the copy

    def _facts(self, item: RawItem) -> tuple[Any, frozenset[str], bool] | None:
        thread = item.data.get("thread")
        try:
            messages = sent_messages(thread)
            if not messages or not isinstance(thread, dict):
                return None
            identity = thread_identity(thread, messages, str(item.data.get("mailbox")))
        except RecordError:
            return None  # normalise reports it, with the reason
        ids = message_ids(messages)
        root = identity.vendor_ids.get("message_id")
        key = tuple(sorted(identity.vendor_ids.items()))
        return key, ids, root is not None and root not in ids

    def offer(self, item: RawItem) -> bool:
        """Whether to yield ``item`` now (else it was dropped or held back)."""
        facts = self._facts(item)
        if facts is None:
            return True
        key, ids, partial = facts
        if self._covered(key, ids, item):
            return False
        if partial:
            self._held.append((key, ids, item))
            return False
        self._seen[key] = ids | self._seen.get(key, frozenset())
        return True

    def _covered(self, key: Any, ids: frozenset[str], item: RawItem) -> bool:
        if ids <= self._seen.get(key, frozenset()):
            thread = item.data.get("thread")
            history = thread.get("historyId") if isinstance(thread, dict) else None
            self.dropped[item.id] = str(history or "")
            logger.debug("%s: same conversation as a copy already taken", item.id)
            return True
        return False

    def leftovers(self) -> Iterator[RawItem]:
        """The held-back copies that no whole copy covered, in arrival order."""
        for key, ids, item in self._held:
            if not self._covered(key, ids, item):
                self._seen[key] = ids | self._seen.get(key, frozenset())
                yield item
        self._held.clear()
