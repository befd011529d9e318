"""Extract stages a thread's files in the attachment store: the real bytes, through
the policy, with a reason in the record for every file left as metadata."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import httpx
import pytest
from evermuse_slack import SlackConfig
from evermuse_slack.fake import connect_stub, external_file, hosted_file, tombstone_file
from evermuse_slack.testing import Harness
from pydantic import ValidationError

from evermuse_connectors.attachments import AttachmentPolicy, LocalAttachmentStore


def png(harness: Harness, fid: str, size: int = 5_000, **extra: object) -> dict:
    user = harness.channel("support").members[0]
    made = hosted_file(
        harness.fake.workspace,
        fid,
        name=f"{fid.lower()}.png",
        mimetype="image/png",
        size=size,
        user=user,
        created=harness.now,
    )
    return {**made, **extra}


def test_every_file_of_the_sample_is_staged_with_its_bytes(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    staged_ids: set[str] = set()
    for days_back in (1, 2, 3, 4):
        result = harness.sync(harness.window(days_back), attachments=files)
        staged = result.staged()
        for fid, entry in staged.items():
            assert entry["sha256"] == harness.sha256_of(fid)
            # The store's link works without any credential.
            body = httpx.get(entry["url"]).content
            assert hashlib.sha256(body).hexdigest() == entry["sha256"]
        attached = [a for r in result.records for a in r.attachments or []]
        assert sorted(a.sha1 for a in attached) == sorted(
            e["sha1"] for e in staged.values()
        )
        notes = result.stats.notes["attachments"]
        fetched = notes.get("downloaded", 0) + notes.get("already_stored", 0)
        assert fetched == len(staged)
        assert result.stats.calls.get("files.download", 0) == len(staged)
        staged_ids |= staged.keys()
    assert staged_ids, "the sample's recent windows share files"
    assert sorted(set(harness.fake.downloads)) == sorted(staged_ids)


def test_files_slack_cannot_hand_out_keep_their_reason(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    ws = harness.fake.workspace
    user = harness.channel("support").members[0]
    stamp = int(harness.now.timestamp())
    window, _ = harness.post_files(
        tombstone_file("F0DELETED"),
        external_file(ws, "F0GDRIVE", user=user, created=stamp),
        {"id": "F0HIDDEN", "mode": "hidden_by_limit"},
        png(harness, "F0ELSEWHERE", url_private_download="https://evil.example/f.png"),
    )
    result = harness.sync(window, attachments=files)
    reasons = result.reasons()
    assert reasons["F0DELETED"] == "the file was deleted in Slack"
    assert "link to another service" in reasons["F0GDRIVE"]
    assert "plan's limit" in reasons["F0HIDDEN"]
    assert "not on a Slack file host" in reasons["F0ELSEWHERE"]
    asked = {"F0DELETED", "F0GDRIVE", "F0HIDDEN", "F0ELSEWHERE"}
    assert asked.isdisjoint(harness.fake.downloads), "no request, the token kept"


def test_the_policy_decides_before_any_download(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    ws, user = harness.fake.workspace, harness.channel("support").members[0]
    video = hosted_file(
        ws, "F0VIDEO", name="demo.mp4", mimetype="video/mp4", size=9_000,
        user=user, created=harness.now,
    )  # fmt: skip
    window, _ = harness.post_files(
        png(harness, "F0HUGE", size=40 * 1024 * 1024),
        video,
        png(harness, "F0SHOT"),
    )
    policy = AttachmentPolicy(
        max_bytes=5 * 1024 * 1024, exclude_mime_types=["video/*"], inline_images=False
    )
    result = harness.sync(window, attachments=files, policy=policy)
    reasons = result.reasons()
    assert reasons["F0HUGE"] == "over the 5 MB limit"
    assert reasons["F0VIDEO"] == "type video/mp4 is excluded"
    # A Slack file is never an inline part: images stay staged with inline off.
    assert "F0SHOT" in result.staged()
    assert "F0HUGE" not in harness.fake.downloads
    assert "F0VIDEO" not in harness.fake.downloads


@pytest.mark.parametrize(("per_record", "staged"), [(10, 10), (3, 3)])
def test_a_record_carries_at_most_its_limit_of_files(
    harness: Harness, files: LocalAttachmentStore, per_record: int, staged: int
) -> None:
    shared = [png(harness, f"F0MANY{n:02d}", size=1_000 + n) for n in range(12)]
    window, message = harness.post_files(*shared)
    policy = AttachmentPolicy(max_per_record=per_record)
    result = harness.sync(window, attachments=files, policy=policy)
    [record] = [r for r in result.records if r.vendor_ids["thread_ts"] == message["ts"]]
    assert len(record.attachments or []) == staged
    left = [x for x in record.data["attachments_not_staged"]]
    assert len(left) == 12 - staged
    assert {x["reason"] for x in left} == {
        f"over the {per_record} attachments a record may carry"
    }
    assert [x["file_id"] for x in left] == [f["id"] for f in shared[staged:]]
    ids = {f["id"] for f in shared}
    assert len([f for f in harness.fake.downloads if f in ids]) == staged


def test_a_sign_in_page_is_a_missing_scope_not_a_file(
    harness: Harness, files: LocalAttachmentStore, caplog: pytest.LogCaptureFixture
) -> None:
    harness.fake.set_files_scope(False)
    window, _ = harness.post_files(png(harness, "F0ONE"), png(harness, "F0TWO"))
    with caplog.at_level(logging.WARNING):
        result = harness.sync(window, attachments=files)
    reasons = result.reasons()
    assert "files:read" in reasons["F0ONE"]
    assert reasons["F0TWO"] == reasons["F0ONE"]
    assert result.staged() == {}
    # The first page tells it all: the window's other files are not requested.
    assert len(harness.fake.downloads) == 1
    assert sum("sign-in page" in r.getMessage() for r in caplog.records) == 1
    assert not list(Path(files.folder).rglob("f0one.png"))


def test_429_503_and_a_cut_connection_are_retried(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    file = png(harness, "F0FLAKY", size=300_000)
    window, _ = harness.post_files(file)
    faults = harness.fake.faults
    faults.retry_after = 0
    faults.download_statuses["F0FLAKY"] = [429, 503]
    faults.cut_downloads["F0FLAKY"] = 1
    result = harness.sync(window, attachments=files)
    assert result.staged()["F0FLAKY"]["sha256"] == harness.sha256_of("F0FLAKY")
    assert harness.fake.downloads.count("F0FLAKY") == 4
    assert result.stats.calls["files.download"] == len(harness.fake.downloads)


def test_a_download_that_keeps_failing_is_metadata_with_a_retry(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    window, _ = harness.post_files(png(harness, "F0DOWN"))
    harness.fake.faults.retry_after = 0
    harness.fake.faults.download_statuses["F0DOWN"] = [500] * 10
    config = harness.config(max_server_error_retries=2)
    result = harness.sync(window, config, attachments=files)
    assert "Slack answered HTTP 500, 3 time(s)" in result.reasons()["F0DOWN"]
    [entry] = [e for fid, e in result.entries() if fid == "F0DOWN"]
    assert entry["retry"] is True
    assert harness.fake.downloads.count("F0DOWN") == 3


def test_more_bytes_than_announced_stop_at_the_limit(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    window, _ = harness.post_files(png(harness, "F0LIAR", size=1_000))
    harness.fake.faults.served_sizes["F0LIAR"] = 3_000_000
    policy = AttachmentPolicy(max_bytes=1024 * 1024)
    result = harness.sync(window, attachments=files, policy=policy)
    assert result.reasons()["F0LIAR"] == (
        "over the 1 MB limit (more bytes arrived than Slack announced)"
    )
    assert not list(Path(files.folder).rglob("f0liar.png")), "nothing of it kept"


def test_slack_connect_files_are_looked_up_and_unreadable_ones_skipped(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    ws = harness.fake.workspace
    for fid in ("F0THEIRS", "F0SECRET"):
        full = hosted_file(
            ws, fid, name=f"{fid}.pdf", mimetype="application/pdf", size=7_000,
            user=ws.external_users[0]["id"], created=harness.now,
        )  # fmt: skip
        ws.connect_files[fid] = full
    ws.unreadable_files.add("F0SECRET")
    window, _ = harness.post_files(
        connect_stub("F0THEIRS"),
        connect_stub("F0SECRET"),
        channel="ext-contoso",
        user=ws.external_users[0]["id"],
    )
    result = harness.sync(window, attachments=files)
    assert result.staged()["F0THEIRS"]["sha256"] == harness.sha256_of("F0THEIRS")
    assert result.reasons()["F0SECRET"] == (
        "a Slack Connect file of another organisation that this app cannot read "
        "(files.info answered file_not_found)"
    )
    asked = [c["file"] for c in harness.calls_of("files.info")]
    assert sorted({"F0SECRET", "F0THEIRS"} & set(asked)) == ["F0SECRET", "F0THEIRS"]
    assert asked.count("F0THEIRS") == 1
    assert "F0SECRET" not in harness.fake.downloads
    [record] = [r for r in result.records if r.attachments and any(
        a.filename == "F0THEIRS.pdf" for a in r.attachments
    )]  # fmt: skip
    secret = next(
        x for x in record.data["attachments_not_staged"] if x["file_id"] == "F0SECRET"
    )
    assert "filename" not in secret, "files.info refused: nothing is known of it"


def test_without_a_store_every_file_says_so_and_nothing_is_fetched(
    harness: Harness,
) -> None:
    window, _ = harness.post_files(png(harness, "F0PLAIN"))
    result = harness.sync(window)
    assert result.reasons()["F0PLAIN"] == (
        "no attachment store is configured for this source"
    )
    assert harness.fake.downloads == []
    assert not any(r.attachments for r in result.records)
    assert result.stats.notes["attachments"] == {"store": False}


def test_an_export_links_files_only(
    harness: Harness, files: LocalAttachmentStore, tmp_path: Path
) -> None:
    window, _ = harness.post_files(png(harness, "F0EXPORTED"))
    path = harness.fake.write_export(tmp_path / "export.zip")
    config = harness.config(
        export_path=str(path), team_id=harness.fake.workspace.team_id
    )
    harness.fake.reset_counts()
    result = harness.sync(window, config, attachments=files)
    assert "workspace export" in result.reasons()["F0EXPORTED"]
    assert harness.fake.downloads == []


def test_files_of_messages_the_record_leaves_out_are_not_fetched(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    ws = harness.fake.workspace
    bot = next(u for u in ws.users if u["name"] == "deploybot")
    window, _ = harness.post_files(
        png(harness, "F0BOTS"),
        user=bot["id"],
        text="nightly chart",
        bot_id=bot["profile"]["bot_id"],
    )
    result = harness.sync(window, harness.config(include_bots=False), attachments=files)
    assert "F0BOTS" not in harness.fake.downloads
    assert "F0BOTS" not in result.reasons()


def test_a_redirect_to_another_host_never_carries_the_token(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    moved, same = png(harness, "F0MOVED"), png(harness, "F0SAME")
    window, _ = harness.post_files(moved, same)
    fake = harness.fake
    # localhost is another origin than 127.0.0.1, though the same server: if
    # the token went along, the file would come back instead of the page.
    elsewhere = fake.url.replace("127.0.0.1", "localhost")
    fake.faults.redirects["F0MOVED"] = moved["url_private_download"].replace(
        "https://files.slack.com/", elsewhere
    )
    fake.faults.redirects["F0SAME"] = same["url_private_download"].replace(
        "https://files.slack.com/", fake.url
    )
    result = harness.sync(window, attachments=files)
    assert "redirected the download to a sign-in page" in result.reasons()["F0MOVED"]
    assert harness.fake.downloads.count("F0MOVED") == 2
    assert result.staged()["F0SAME"]["sha256"] == harness.sha256_of("F0SAME")


def test_the_token_goes_only_to_slack_file_hosts_over_https() -> None:
    config = SlackConfig()
    assert config.may_send_token_to("https://files.slack.com/files-pri/T1-F1/x.png")
    assert not config.may_send_token_to("http://files.slack.com/files-pri/T1-F1/x")
    assert not config.may_send_token_to("https://files.slack.com.evil.example/x")
    assert not config.may_send_token_to("https://docs.google.com/document/d/1")
    local = SlackConfig(base_url="http://127.0.0.1:9/api/")
    assert local.may_send_token_to("http://127.0.0.1:9/files-pri/T1-F1/x.png")
    gov = SlackConfig(file_hosts=["Files.Slack-Gov.com."])
    assert gov.may_send_token_to("https://files.slack-gov.com/files-pri/T1-F1/x")


def test_file_hosts_must_be_bare_host_names() -> None:
    with pytest.raises(ValidationError, match="bare host names"):
        SlackConfig(file_hosts=["https://files.slack.com/"])
