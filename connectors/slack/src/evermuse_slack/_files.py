"""A thread's files: what the raw item keeps about each, and the record's share.

Extract writes ``attachments`` into a thread's raw item when the source has an
attachment store: one entry per file id of the messages the record keeps, either
``{"staged": {...}}`` (the store's key, URL, expiry, hashes, size, type and name)
or ``{"reason": ..., "by": ..., "retry": ...}`` (why it stayed metadata only, who
said so, and whether a later run should try again). ``slack`` holds what Slack
said about the file (size, name, type), so a re-run knows the file is unchanged.
Without a store there is no ``attachments`` at all.

Normalise (pure) turns that into at most 10 ``_attachments`` per record and lists
every other file in ``data["attachments_not_staged"]`` with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from evermuse_connectors.attachments import MAX_ATTACHMENTS_PER_RECORD, StagedFile
from evermuse_connectors.envelope import Attachment

__all__ = [
    "ATTACHMENTS",
    "EXPORT",
    "NO_STORE",
    "By",
    "file_signature",
    "file_urls",
    "iso",
    "not_eligible",
    "parse_iso",
    "record_attachments",
    "refused",
    "staged_file",
    "staged_json",
    "thread_files",
]

ATTACHMENTS = "attachments"
By = Literal["policy", "slack", "store", "export"]

NO_STORE = "no attachment store is configured for this source"
EXPORT = (
    "the window was read from a workspace export, which links files without "
    "their bytes, and that path has no Slack token to download them"
)
_DELETED = "the file was deleted in Slack"
_HIDDEN = "Slack hides this file (the workspace plan's limit on file history)"
_EXTERNAL = (
    "the file is a link to another service (Google Drive, Dropbox...), not a "
    "file Slack holds"
)
_NOT_CONSIDERED = (
    "it was not considered for staging when the window was extracted; "
    "re-extract the window"
)
_UNREADABLE = "its staging details in the raw item are unreadable; re-extract it"
_OVER = f"over the {MAX_ATTACHMENTS_PER_RECORD} attachments a record may carry"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: object) -> datetime:
    """An aware moment from :func:`iso`'s text; ValueError otherwise."""
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no timezone")
    return moment


def thread_files(messages: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The files of these messages in message order, once per file id (a file
    shared twice in one thread is one file)."""
    found: dict[str, Mapping[str, Any]] = {}
    for message in messages:
        for meta in message.get("files") or []:
            fid = meta.get("id") if isinstance(meta, Mapping) else None
            if isinstance(fid, str) and fid:
                found.setdefault(fid, meta)
    return list(found.values())


def file_urls(messages: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``url_private_download`` by file id, read from messages as Slack sent them
    (the raw item drops every URL, so this is taken before cleaning)."""
    urls: dict[str, str] = {}
    for message in messages:
        holders = [message, message.get("message")]
        for holder in holders:
            if not isinstance(holder, Mapping):
                continue
            for meta in holder.get("files") or []:
                if not isinstance(meta, Mapping):
                    continue
                url, fid = meta.get("url_private_download"), meta.get("id")
                if isinstance(url, str) and isinstance(fid, str) and url:
                    urls.setdefault(fid, url)
    return urls


def file_signature(meta: Mapping[str, Any]) -> list[Any]:
    """What says a file is the one a previous run staged: size, name and type."""
    return [meta.get("size"), meta.get("name"), meta.get("mimetype")]


def not_eligible(meta: Mapping[str, Any]) -> str | None:
    """Why a file cannot be downloaded at all, whatever the policy says."""
    mode = meta.get("mode")
    if mode == "tombstone":
        return _DELETED
    if mode == "hidden_by_limit":
        return _HIDDEN
    if mode == "external" or meta.get("is_external") is True:
        # url_private of an external file is the other service's address: the
        # bot token must never go there.
        return _EXTERNAL
    return None


def staged_json(staged: StagedFile) -> dict[str, Any]:
    """What a raw item keeps of a staged file (see StagedFile.to_json)."""
    return staged.to_json()


def staged_file(value: object) -> StagedFile:
    """The StagedFile an entry describes; ValueError when it is damaged."""
    return StagedFile.from_json(value)


def refused(
    reason: str,
    *,
    by: By,
    retry: bool,
    meta: Mapping[str, Any],
    file: Mapping[str, Any] | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """The entry of a file left as metadata only. ``file`` carries name, type and
    size learnt from files.info when the message held only a stub; ``limit`` the
    size limit the download ran past."""
    entry: dict[str, Any] = {
        "reason": reason,
        "by": by,
        "retry": retry,
        "slack": file_signature(meta),
    }
    if file:
        entry["file"] = dict(file)
    if limit is not None:
        entry["limit"] = limit
    return entry


def _described(meta: Mapping[str, Any], entry: object, reason: str) -> dict[str, Any]:
    learnt = entry.get("file") if isinstance(entry, Mapping) else None
    known = learnt if isinstance(learnt, Mapping) else {}
    described = {
        "file_id": meta.get("id"),
        "filename": meta.get("name") or meta.get("title") or known.get("name"),
        "mime_type": meta.get("mimetype") or known.get("mimetype"),
        "size": meta.get("size") if meta.get("size") is not None else known.get("size"),
        "reason": reason,
    }
    return {k: v for k, v in described.items() if v not in (None, "")}


def record_attachments(
    entries: object, files: list[Mapping[str, Any]]
) -> tuple[list[Attachment], list[dict[str, Any]]]:
    """The record's ``_attachments`` (at most 10, one per stored content) and the
    files left as metadata only, each with its reason."""
    attachments: list[Attachment] = []
    keys: dict[str, str] = {}
    not_staged: list[dict[str, Any]] = []
    for meta in files:
        entry = entries.get(meta["id"]) if isinstance(entries, Mapping) else None
        outcome = _staged_or_reason(entries, entry)
        if isinstance(outcome, str):
            reason = outcome
        elif outcome[0] in keys:
            reason = f"the same bytes are attached already (file {keys[outcome[0]]})"
        elif len(attachments) >= MAX_ATTACHMENTS_PER_RECORD:
            reason = _OVER
        else:
            attachments.append(outcome[1])
            keys[outcome[0]] = str(meta["id"])
            continue
        not_staged.append(_described(meta, entry, reason))
    return attachments, not_staged


def _staged_or_reason(entries: object, entry: object) -> tuple[str, Attachment] | str:
    """The staged file's key and attachment, or why there is none."""
    if not isinstance(entries, Mapping):
        return NO_STORE
    if not isinstance(entry, Mapping):
        return _NOT_CONSIDERED
    if "staged" not in entry:
        reason = entry.get("reason")
        return reason if isinstance(reason, str) and reason else _UNREADABLE
    try:
        staged = staged_file(entry["staged"])
        return staged.key, staged.attachment()
    except ValueError:  # pydantic's ValidationError is a ValueError too
        return _UNREADABLE
