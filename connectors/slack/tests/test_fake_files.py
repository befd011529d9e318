"""The fake serves files as Slack does: at the links it hands out, to the Bearer
token of an app with files:read, and a sign-in page (200, HTML) to anyone else."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from evermuse_slack.fake import FILES_HOST, FakeSlack, file_bytes
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def shared_files(fake: FakeSlack) -> Iterator[dict[str, Any]]:
    """Every file object the fake's history hands out, as a client sees it."""
    client = WebClient(token=fake.token, base_url=fake.settings["base_url"])
    for channel in fake.workspace.channels:
        if not channel.bot_member:
            continue
        answer = client.conversations_history(channel=channel.id, limit=999)
        for message in answer["messages"]:
            yield from message.get("files") or []


def hosted(fake: FakeSlack) -> list[dict[str, Any]]:
    return [f for f in shared_files(fake) if f.get("url_private_download")]


def bearer(fake: FakeSlack) -> dict[str, str]:
    return {"Authorization": f"Bearer {fake.token}"}


def test_history_hands_out_links_on_the_fake_itself(fake: FakeSlack) -> None:
    files = hosted(fake)
    assert files, "the sample shares files"
    for file in files:
        for key in ("url_private", "url_private_download"):
            assert file[key].startswith(f"{fake.url}files-pri/")
    # The workspace itself keeps Slack's own links (exports show those).
    stored = fake.workspace.file(files[0]["id"])
    assert stored is not None
    assert stored["url_private_download"].startswith(FILES_HOST)


def test_a_download_with_the_token_gives_the_files_bytes(fake: FakeSlack) -> None:
    file = hosted(fake)[0]
    response = httpx.get(file["url_private_download"], headers=bearer(fake))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == file["mimetype"]
    assert len(response.content) == file["size"]
    expected = b"".join(file_bytes(file["id"], file["size"], file["mimetype"]))
    assert (
        hashlib.sha256(response.content).digest() == hashlib.sha256(expected).digest()
    )
    assert fake.downloads == [file["id"]]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer xoxb-not-the-token"}, {"Authorization": "Basic x"}],
)
def test_without_a_valid_token_slack_answers_a_sign_in_page(
    fake: FakeSlack, headers: dict[str, str]
) -> None:
    file = hosted(fake)[0]
    response = httpx.get(file["url_private_download"], headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert b"Sign in" in response.content


def test_without_files_read_the_token_gets_the_sign_in_page_too() -> None:
    with FakeSlack.start(seed=11, now=NOW, files_scope=False) as fake:
        file = hosted(fake)[0]
        response = httpx.get(file["url_private_download"], headers=bearer(fake))
        assert response.headers["Content-Type"].startswith("text/html")
        client = WebClient(token=fake.token, base_url=fake.settings["base_url"])
        with pytest.raises(SlackApiError) as refused:
            client.files_info(file=file["id"])
        assert refused.value.response["error"] == "missing_scope"
        assert refused.value.response["needed"] == "files:read"


def test_an_unknown_file_is_not_found(fake: FakeSlack) -> None:
    url = f"{fake.url}files-pri/{fake.workspace.team_id}-F0NOSUCH/download/x.png"
    response = httpx.get(url, headers=bearer(fake))
    assert response.status_code == 404


def test_files_info_answers_readable_files_and_hides_the_others(
    fake: FakeSlack,
) -> None:
    client = WebClient(token=fake.token, base_url=fake.settings["base_url"])
    readable = [
        f
        for f in fake.workspace.connect_files
        if f not in fake.workspace.unreadable_files
    ]
    assert readable, "the sample has Slack Connect files the app may read"
    assert fake.workspace.unreadable_files, "and some it may not"
    info = client.files_info(file=readable[0])["file"]
    assert info["id"] == readable[0]
    assert info["url_private_download"].startswith(fake.url)
    with pytest.raises(SlackApiError) as hidden:
        client.files_info(file=sorted(fake.workspace.unreadable_files)[0])
    assert hidden.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as missing:
        client.api_call("files.info", params={})
    assert missing.value.response["error"] == "invalid_arguments"


def test_slack_connect_messages_show_only_a_stub(fake: FakeSlack) -> None:
    stubs = [f for f in shared_files(fake) if f.get("file_access") == "check_file_info"]
    assert stubs
    for stub in stubs:
        assert "url_private_download" not in stub
        assert "name" not in stub


def test_a_download_fault_answers_its_statuses_in_turn(fake: FakeSlack) -> None:
    file = hosted(fake)[0]
    fake.faults.retry_after = 0
    fake.faults.download_statuses[file["id"]] = [429, 503]
    url = file["url_private_download"]
    statuses = [httpx.get(url, headers=bearer(fake)).status_code for _ in range(3)]
    assert statuses == [429, 503, 200]


def test_a_cut_download_ends_before_its_length(fake: FakeSlack) -> None:
    file = max(hosted(fake), key=lambda f: f["size"])
    fake.faults.cut_downloads[file["id"]] = 1
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(file["url_private_download"], headers=bearer(fake))
    again = httpx.get(file["url_private_download"], headers=bearer(fake))
    assert len(again.content) == file["size"]


def test_the_export_keeps_slacks_own_links(fake: FakeSlack, tmp_path: Path) -> None:
    path = fake.write_export(tmp_path / "export.zip")
    with zipfile.ZipFile(path) as archive:
        text = "".join(archive.read(n).decode() for n in archive.namelist() if "/" in n)
    assert f'"url_private_download": "{FILES_HOST}files-pri/' in text
    assert fake.url not in text, "the export does not depend on the fake's port"
