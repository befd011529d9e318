"""Stage a thread's files in the source's attachment store, during extract.

For each file of the messages the record keeps, in message order: files Slack
cannot hand out (deleted, hidden by the plan's limit, links to other services)
stay metadata; a Slack Connect stub (``file_access: check_file_info``) is looked
up with ``files.info``; the policy decides; the bytes are downloaded with the
bot token and put in the store. A re-run reuses what the window's previous raw
item staged for the same file (no download), signing a fresh URL when the old one
expires within two days or points at another store.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from evermuse_connectors.attachments import (
    AttachmentPolicy,
    AttachmentStoreError,
)
from evermuse_connectors.connector import ExtractContext, RawItem
from evermuse_connectors.errors import RecordError, SourceAuthError, SourceError
from evermuse_slack._client import SlackApi, SlackRefusal
from evermuse_slack._config import SlackConfig
from evermuse_slack._download import LOGIN_PAGE, DownloadFailed, FileDownloader
from evermuse_slack._files import (
    ATTACHMENTS,
    EXPORT,
    file_signature,
    iso,
    not_eligible,
    refused,
    staged_file,
    staged_json,
    thread_files,
)
from evermuse_slack._normalise import kept_messages

__all__ = ["REFRESH_WITHIN", "Stager", "with_export_reasons"]

logger = logging.getLogger(__name__)

# A URL that expires sooner than this is signed again on a re-run, so Evermuse
# still has time to fetch it when the record is re-sent.
REFRESH_WITHIN = timedelta(days=2)
_SHOWN = 50
_NO_LINK = "Slack gave no download link for this file"
_FOREIGN = (
    "its download link is not on a Slack file host (settings.file_hosts); the "
    "bot token is sent nowhere else"
)
_INFO_SCOPE = (
    "files.info was refused: the app lacks the files:read scope; add it and "
    "reinstall the app"
)


def _entries(item: RawItem | None) -> Mapping[str, Any]:
    value = item.data.get(ATTACHMENTS) if item is not None else None
    return value if isinstance(value, Mapping) else {}


def _is_stub(meta: Mapping[str, Any]) -> bool:
    # Slack Connect: files of another organisation arrive without name, type or
    # links; files.info says whether this app may read them.
    return meta.get("file_access") == "check_file_info"


def _name(meta: Mapping[str, Any]) -> str:
    for key in ("name", "title", "id"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "file"


def _size(meta: Mapping[str, Any]) -> int | None:
    size = meta.get("size")
    return size if isinstance(size, int) and size >= 0 else None


def _mime(meta: Mapping[str, Any]) -> str | None:
    mime = meta.get("mimetype")
    return mime if isinstance(mime, str) and mime else None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _same(entry: object, meta: Mapping[str, Any]) -> bool:
    return isinstance(entry, Mapping) and entry.get("slack") == file_signature(meta)


def _settled(entry: object, policy: AttachmentPolicy) -> bool:
    """A failure no re-run should try again: the file is gone, unreadable, or
    bigger than a limit that has not been raised since."""
    if not isinstance(entry, Mapping) or "reason" not in entry:
        return False
    limit = entry.get("limit")
    if isinstance(limit, int) and policy.max_bytes > limit:
        return False
    return entry.get("by") in ("slack", "store") and entry.get("retry") is False


def with_export_reasons(
    item: RawItem, config: SlackConfig, ctx: ExtractContext
) -> RawItem:
    """The item of an export's thread, each file marked as not downloadable: an
    export links files only, and the export path holds no token to fetch them.
    Without a store, the item stays as it is (normalise says there is none)."""
    if ctx.attachments is None:
        return item
    try:
        files = thread_files(kept_messages(item.data, config))
    except RecordError:
        return item
    if not files:
        return item
    entries = {
        str(meta["id"]): refused(EXPORT, by="export", retry=False, meta=meta)
        for meta in files
    }
    return RawItem(item.id, item.kind, {**item.data, ATTACHMENTS: entries})


class Stager:
    """Stages the files of one window's threads; does nothing without a store."""

    def __init__(
        self,
        config: SlackConfig,
        ctx: ExtractContext,
        *,
        token: SecretStr,
        api: SlackApi,
    ) -> None:
        self.config = config
        self.ctx = ctx
        self.store = ctx.attachments
        self.policy = ctx.attachment_policy or AttachmentPolicy()
        self.api = api
        self.downloader = (
            FileDownloader(
                config, ctx, token, self.store, max_bytes=self.policy.max_bytes
            )
            if self.store is not None
            else None
        )
        self.counts: Counter[str] = Counter()
        self.failed: list[dict[str, str]] = []

    def __repr__(self) -> str:
        return f"Stager(source={self.ctx.source!r}, store={self.store!r})"

    def needs_replies(self, previous: RawItem) -> bool:
        """Whether reusing this thread's previous replies would miss a download.

        Reused replies carry no file URLs (the raw item drops them), so a reply's
        file that is still to be staged needs the replies fetched again.
        """
        if self.store is None:
            return False
        try:
            messages = kept_messages(previous.data, self.config)
        except (RecordError, ValueError, TypeError, KeyError, AttributeError):
            return True  # a damaged previous item: fetch the thread afresh
        before = _entries(previous)
        thread_ts = previous.data.get("thread_ts")
        replies = [m for m in messages if m.get("ts") != thread_ts]
        for meta in thread_files(replies):
            if not_eligible(meta) or _is_stub(meta):
                continue  # nothing to download, or files.info hands out the link
            entry = before.get(meta["id"])
            settled = _settled(entry, self.policy)
            if _same(entry, meta) and (settled or _readable(entry)):
                continue
            decision = self.policy.decide(
                filename=_name(meta), mime_type=_mime(meta), size=_size(meta)
            )
            if decision.stage:
                return True
        return False

    def stage(
        self, item: RawItem, *, urls: Mapping[str, str], previous: RawItem | None
    ) -> RawItem:
        """The item with an entry for each file of the messages its record keeps."""
        if self.store is None:
            return item
        try:
            files = thread_files(kept_messages(item.data, self.config))
        except RecordError:
            return item  # normalise reports the damage, with the item's id
        if not files:
            return item
        before = _entries(previous)
        entries: dict[str, Any] = {}
        staged = 0
        for meta in files:
            fid = str(meta["id"])
            self.counts["files"] += 1
            entry = self._entry(meta, urls.get(fid), before.get(fid), staged)
            staged += "staged" in entry
            entries[fid] = entry
        return RawItem(item.id, item.kind, {**item.data, ATTACHMENTS: entries})

    def _entry(
        self,
        meta: Mapping[str, Any],
        url: str | None,
        previous: object,
        staged: int,
    ) -> dict[str, Any]:
        reason = not_eligible(meta)
        if reason is not None:
            self.counts["not_downloadable"] += 1
            return refused(reason, by="slack", retry=False, meta=meta)
        prev = previous if _same(previous, meta) else None
        if isinstance(prev, Mapping) and _settled(prev, self.policy):
            self.counts["failed_before"] += 1
            return dict(prev)
        info: Mapping[str, Any] = meta
        learnt: dict[str, Any] | None = None
        if _is_stub(meta):
            known = prev.get("file") if isinstance(prev, Mapping) else None
            if isinstance(known, Mapping) and _readable(prev):
                info = known
            else:
                try:
                    info = self._files_info(meta)
                except _Unreadable as refusal:
                    return refusal.entry
                url = _text(info.get("url_private_download"))
            learnt = {"name": _name(info), "mimetype": _mime(info), "size": _size(info)}
        return self._decided(meta, info, url, prev, staged, learnt)

    def _decided(
        self,
        meta: Mapping[str, Any],
        info: Mapping[str, Any],
        url: str | None,
        prev: object,
        staged: int,
        learnt: dict[str, Any] | None,
    ) -> dict[str, Any]:
        name, mime, size = _name(info), _mime(info), _size(info)
        decision = self.policy.decide(
            filename=name,
            mime_type=mime,
            size=size,
            inline=False,  # Slack has no inline parts: a pasted image is a file
            already_staged=staged,
        )
        if not decision.stage:
            self.counts["refused_by_policy"] += 1
            return refused(
                decision.reason, by="policy", retry=False, meta=meta, file=learnt
            )
        if isinstance(prev, Mapping) and _readable(prev):
            kept = self._reused(prev["staged"])
            if kept is not None:
                return self._staged_entry(kept, meta, learnt)
        return self._downloaded(meta, url, name, mime, size, learnt)

    def _downloaded(
        self,
        meta: Mapping[str, Any],
        url: str | None,
        name: str,
        mime: str | None,
        size: int | None,
        learnt: dict[str, Any] | None,
    ) -> dict[str, Any]:
        fid = str(meta["id"])
        if url is None:
            return self._failed(fid, _NO_LINK, "slack", False, meta, learnt)
        if not self.config.may_send_token_to(url):
            return self._failed(fid, _FOREIGN, "slack", False, meta, learnt)
        assert self.downloader is not None
        try:
            staged = self.downloader.stage(
                url, file_id=fid, filename=name, mime_type=mime, size=size
            )
        except DownloadFailed as exc:
            entry = self._failed(fid, exc.reason, exc.by, exc.retry, meta, learnt)
            if exc.limit is not None:
                entry["limit"] = exc.limit
            return entry
        self.counts["already_stored" if staged.already_stored else "downloaded"] += 1
        return self._staged_entry(staged_json(staged), meta, learnt)

    def _failed(
        self,
        fid: str,
        reason: str,
        by: Any,
        retry: bool,
        meta: Mapping[str, Any],
        learnt: dict[str, Any] | None = None,
        *,
        counter: str = "failed",
    ) -> dict[str, Any]:
        self.counts[counter] += 1
        if len(self.failed) < _SHOWN:
            self.failed.append({"file_id": fid, "reason": reason})
        if reason != LOGIN_PAGE:  # the downloader said that once for the window
            logger.warning(
                "%s: Slack file %s stays metadata only: %s",
                self.ctx.source,
                fid,
                reason,
            )
        return refused(reason, by=by, retry=retry, meta=meta, file=learnt)

    @staticmethod
    def _staged_entry(
        staged: dict[str, Any], meta: Mapping[str, Any], learnt: dict[str, Any] | None
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {"staged": staged, "slack": file_signature(meta)}
        if learnt:
            entry["file"] = learnt
        return entry

    def _reused(self, value: Mapping[str, Any]) -> dict[str, Any] | None:
        """The previous run's staged file, with a fresh URL when it is needed."""
        assert self.store is not None
        try:
            staged = staged_file(value)
            url, fresh_expiry = self.store.signed(
                staged.key, filename=staged.filename, mime_type=staged.mime_type
            )
        except (ValueError, AttachmentStoreError):
            return None
        self.counts["reused"] += 1
        now = datetime.now(UTC)
        if staged.expires_at - now > REFRESH_WITHIN and _origin(url) == _origin(
            staged.url
        ):
            return dict(value)
        # The old URL is about to expire, or was signed by another store (another
        # bucket, or a local server on another port): sign again, no download.
        self.counts["refreshed"] += 1
        return {**value, "url": url, "expires_at": iso(fresh_expiry)}

    def _files_info(self, meta: Mapping[str, Any]) -> Mapping[str, Any]:
        """The full file object; _Unreadable with the entry when there is none."""
        fid = str(meta["id"])
        self.counts["files_info"] += 1
        try:
            answer = self.api.call("files.info", file=fid)
        except SlackRefusal as exc:
            reason = (
                "a Slack Connect file of another organisation that this app cannot "
                f"read (files.info answered {exc.error})"
            )
            entry = self._failed(
                fid, reason, "slack", False, meta, counter="not_readable"
            )
            raise _Unreadable(entry) from None
        except SourceAuthError:
            raise _Unreadable(
                self._failed(fid, _INFO_SCOPE, "slack", True, meta)
            ) from None
        file = answer.get("file")
        if not isinstance(file, Mapping):
            reason = "files.info answered without a file object"
            raise _Unreadable(self._failed(fid, reason, "slack", True, meta))
        gone = not_eligible(file)
        if gone is not None:
            self.counts["not_downloadable"] += 1
            raise _Unreadable(refused(gone, by="slack", retry=False, meta=meta))
        return file

    def summary(self) -> dict[str, Any]:
        """What staging did in this window, for the extract's metadata (no URL)."""
        if self.store is None:
            return {"store": False}
        notes: dict[str, Any] = {"store": True, **dict(sorted(self.counts.items()))}
        if self.downloader is not None:
            notes["download_requests"] = self.downloader.requests
            notes["bytes_downloaded"] = self.downloader.bytes
        if self.failed:
            notes["failures"] = list(self.failed)
        return notes


class _Unreadable(SourceError):
    """files.info gave no readable file; ``entry`` says why, for the raw item."""

    def __init__(self, entry: dict[str, Any]) -> None:
        super().__init__(str(entry.get("reason")))
        self.entry = entry


def _readable(entry: object) -> bool:
    if not isinstance(entry, Mapping) or "staged" not in entry:
        return False
    try:
        staged_file(entry["staged"])
    except ValueError:
        return False
    return True


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
