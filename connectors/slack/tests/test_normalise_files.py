"""Normalise turns a thread's file entries into ``_attachments`` and reasons: pure,
on hand-made raw items."""

from __future__ import annotations

from typing import Any

from evermuse_slack import SlackConfig
from evermuse_slack._normalise import normalise_thread

from evermuse_connectors.connector import RawItem, Routing
from evermuse_connectors.envelope import AttachmentType, Record

ROUTING = Routing(product_id="prod-1", project_ids=["proj-1"])
USERS = {
    "U0ANA": {"id": "U0ANA", "team_id": "T0OURS", "real_name": "Ana Lima"},
    "U0BOT": {"id": "U0BOT", "team_id": "T0OURS", "name": "deploy", "is_bot": True},
}

STAGED_URL = "https://files.example/sha256/abc/plan.pdf?X-Amz-Signature=feedbeef"


def msg(ts: str, user: str = "U0ANA", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "ts": ts, "user": user, "text": "see file", **extra}


def item(*messages: dict[str, Any], **data: Any) -> RawItem:
    body: dict[str, Any] = {
        "team_id": "T0OURS",
        "channel": {"id": "C0SUPPORT", "name": "support", "type": "public_channel"},
        "thread_ts": messages[0]["ts"],
        "messages": list(messages),
        "users": USERS,
        "reported": [len(messages) - 1, messages[-1]["ts"]],
        **data,
    }
    return RawItem(id=f"C0SUPPORT:{messages[0]['ts']}", kind="thread", data=body)


def pdf(fid: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": fid,
        "name": f"{fid}.pdf",
        "mimetype": "application/pdf",
        "size": 1200,
        **extra,
    }


def staged(fid: str, key: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "staged": {
            "key": key or f"sha256/{fid.lower()}/{fid}.pdf",
            "url": f"{STAGED_URL}&f={fid}",
            "expires_at": "2026-03-17T12:00:00Z",
            "sha256": "a" * 64,
            "sha1": "b" * 40,
            "md5": "c" * 32,
            "size": 1200,
            "mime_type": "application/pdf",
            "filename": f"{fid}.pdf",
            **extra,
        },
        "slack": [1200, f"{fid}.pdf", "application/pdf"],
    }


def one(raw: Any, config: SlackConfig | None = None) -> Record:
    [record] = normalise_thread(
        raw.id, raw.kind, raw.data, config or SlackConfig(), ROUTING
    )
    return record


def test_staged_files_become_attachments_with_their_hashes() -> None:
    raw = item(
        msg("1700000000.000100", files=[pdf("F1")]),
        attachments={"F1": staged("F1")},
    )
    record = one(raw)
    [attachment] = record.attachments or []
    assert attachment.type == AttachmentType.FILE
    assert (attachment.filename, attachment.mime_type, attachment.size) == (
        "F1.pdf",
        "application/pdf",
        1200,
    )
    assert (attachment.sha1, attachment.md5) == ("b" * 40, "c" * 32)
    assert attachment.vendor_url == f"{STAGED_URL}&f=F1"
    assert "attachments_not_staged" not in record.data
    assert Record.from_json(record.to_json()) == record


def test_at_most_ten_attachments_and_the_rest_say_why() -> None:
    shared = [pdf(f"F{n:02d}") for n in range(13)]
    raw = item(
        msg("1700000000.000100", files=shared),
        attachments={f["id"]: staged(f["id"]) for f in shared},
    )
    record = one(raw)
    assert len(record.attachments or []) == 10
    left = record.data["attachments_not_staged"]
    assert [x["file_id"] for x in left] == ["F10", "F11", "F12"]
    assert {x["reason"] for x in left} == {"over the 10 attachments a record may carry"}
    assert left[0] == {
        "file_id": "F10",
        "filename": "F10.pdf",
        "mime_type": "application/pdf",
        "size": 1200,
        "reason": "over the 10 attachments a record may carry",
    }


def test_the_same_bytes_twice_are_one_attachment() -> None:
    raw = item(
        msg("1700000000.000100", files=[pdf("F1")]),
        msg("1700000001.000100", files=[pdf("F2")], thread_ts="1700000000.000100"),
        attachments={
            "F1": staged("F1", key="sha256/x/a.pdf"),
            "F2": staged("F2", key="sha256/x/a.pdf"),
        },
    )
    record = one(raw)
    assert len(record.attachments or []) == 1
    [left] = record.data["attachments_not_staged"]
    assert left["reason"] == "the same bytes are attached already (file F1)"


def test_a_damaged_entry_leaves_the_file_as_metadata_not_the_record_broken() -> None:
    raw = item(
        msg("1700000000.000100", files=[pdf("F1"), pdf("F2")]),
        attachments={"F1": staged("F1", url="not a url"), "F2": {"staged": {"key": 3}}},
    )
    record = one(raw)
    assert record.attachments is None
    reasons = {x["file_id"]: x["reason"] for x in record.data["attachments_not_staged"]}
    assert set(reasons) == {"F1", "F2"}
    assert all("unreadable" in r for r in reasons.values())


def test_reasons_come_from_the_entries_and_a_missing_store_is_said() -> None:
    refused = {"reason": "type video/mp4 is excluded", "by": "policy", "retry": False}
    with_store = item(
        msg("1700000000.000100", files=[pdf("F1"), pdf("F2")]),
        attachments={"F1": refused},
    )
    reasons = {
        x["file_id"]: x["reason"]
        for x in one(with_store).data["attachments_not_staged"]
    }
    assert reasons["F1"] == "type video/mp4 is excluded"
    assert "not considered for staging" in reasons["F2"]
    without = item(msg("1700000000.000100", files=[pdf("F1")]))
    [left] = one(without).data["attachments_not_staged"]
    assert left["reason"] == "no attachment store is configured for this source"


def test_files_of_left_out_messages_are_not_listed() -> None:
    raw = item(
        msg("1700000000.000100"),
        msg(
            "1700000001.000100",
            user="U0BOT",
            bot_id="B0DEPLOY",
            files=[pdf("F9")],
            thread_ts="1700000000.000100",
        ),
        attachments={"F9": staged("F9")},
    )
    record = one(raw, SlackConfig(include_bots=False))
    assert record.attachments is None
    assert "attachments_not_staged" not in record.data


def test_a_slack_connect_stub_is_described_by_what_files_info_said() -> None:
    stub = {"id": "F7", "mode": "file_access", "file_access": "check_file_info"}
    entry = {
        "reason": "type application/pdf is not among the allowed types",
        "by": "policy",
        "retry": False,
        "file": {"name": "contract.pdf", "mimetype": "application/pdf", "size": 99},
    }
    raw = item(msg("1700000000.000100", files=[stub]), attachments={"F7": entry})
    [left] = one(raw).data["attachments_not_staged"]
    assert left["filename"] == "contract.pdf"
    assert left["size"] == 99
