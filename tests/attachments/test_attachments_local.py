"""The local store: files in a folder, signed links served on loopback."""

from __future__ import annotations

import hashlib
import logging
import socket
import subprocess
import sys
import urllib.parse

import httpx
import pytest

from evermuse_connectors.attachments import (
    AttachmentTooLargeError,
    LocalAttachmentStore,
    LocalStoreConfig,
)
from evermuse_connectors.errors import ConfigError

DOC = "Quarterly numbers, €, 日本\n".encode() * 500


class Clock:
    """A clock the test moves; the store signs and the server checks with it."""

    def __init__(self, now: float = 1_773_100_800.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def with_query(url: str, **changes: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query)) | changes
    encoded = urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    return urllib.parse.urlunsplit(parts._replace(query=encoded))


def files_in(store: LocalAttachmentStore) -> list[str]:
    return sorted(
        str(p.relative_to(store.folder))
        for p in (store.folder / "sha256").rglob("*")
        if p.is_file()
    )


def test_a_staged_file_downloads_with_the_right_headers(local_store):
    staged = local_store.put(
        iter([DOC[:10], DOC[10:]]), filename="Résumé 2026.txt", mime_type="text/plain"
    )

    response = httpx.get(staged.url)

    assert response.status_code == 200
    assert response.content == DOC
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["content-length"] == str(len(DOC))
    assert response.headers["content-disposition"] == (
        'attachment; filename="Resume_2026.txt"; '
        "filename*=UTF-8''R%C3%A9sum%C3%A9%202026.txt"
    )
    assert staged.sha256 == hashlib.sha256(DOC).hexdigest()
    assert staged.sha1 == hashlib.sha1(DOC).hexdigest()
    assert staged.key == f"sha256/{staged.sha256}/Resume_2026.txt"
    assert staged.url.startswith(local_store.url + "/files/sha256/")
    assert (local_store.folder / staged.key).read_bytes() == DOC


def test_head_answers_the_headers_without_the_body(local_store):
    staged = local_store.put(DOC, filename="a.txt")
    response = httpx.head(staged.url)
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(DOC))
    assert response.content == b""


def test_the_same_bytes_are_stored_once(local_store):
    first = local_store.put(DOC, filename="a.txt")
    second = local_store.put([DOC[:3], DOC[3:]], filename="a.txt")
    other = local_store.put(DOC + b"!", filename="a.txt")

    assert first.key == second.key != other.key
    assert (first.already_stored, second.already_stored) == (False, True)
    assert files_in(local_store) == sorted([first.key, other.key])
    assert list((local_store.folder / ".tmp").iterdir()) == []


def test_an_expired_link_is_refused(tmp_path):
    clock = Clock()
    config = LocalStoreConfig(folder=str(tmp_path), secret_env=None, ttl_seconds=60)
    with LocalAttachmentStore(config, clock=clock) as store:
        staged = store.put(DOC, filename="a.txt")
        assert httpx.get(staged.url).status_code == 200

        clock.now += 61
        response = httpx.get(staged.url)

        assert response.status_code == 403
        assert "expired" in response.text
        # A fresh URL for the same key works again.
        assert httpx.get(store.url_for(staged.key)).status_code == 200


def test_expires_at_is_the_signed_expiry(tmp_path):
    clock = Clock()
    config = LocalStoreConfig(folder=str(tmp_path), secret_env=None, ttl_seconds=90)
    with LocalAttachmentStore(config, clock=clock) as store:
        staged = store.put(DOC, filename="a.txt")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(staged.url).query))
    assert int(query["expires"]) == int(clock.now) + 90
    assert staged.expires_at.timestamp() == int(clock.now) + 90


@pytest.mark.parametrize(
    "change",
    [
        {"sig": "0" * 64},
        {"expires": "99999999999"},
        {"type": "text/html"},
        {"name": "other.exe"},
    ],
)
def test_a_tampered_link_is_refused(local_store, change):
    staged = local_store.put(DOC, filename="a.txt")
    response = httpx.get(with_query(staged.url, **change))
    assert response.status_code == 403
    assert "signature does not match" in response.text


def test_an_unsigned_link_is_refused(local_store):
    staged = local_store.put(DOC, filename="a.txt")
    response = httpx.get(staged.url.split("?", 1)[0])
    assert response.status_code == 403
    assert "not signed" in response.text


def test_a_signed_link_to_a_missing_key_is_404(local_store):
    missing = "sha256/" + "ab" * 32 + "/gone.pdf"
    response = httpx.get(local_store.url_for(missing))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/files/sha256/../.secret",
        "/files/%2e%2e/.secret",
        "/files/.secret",
        "/.secret",
        "/files/sha256/" + "ab" * 32,
    ],
)
def test_paths_outside_the_keys_are_404(local_store, path):
    local_store.put(DOC, filename="a.txt")
    response = httpx.get(local_store.url + path)
    assert response.status_code == 404
    assert (local_store.folder / ".secret").read_text() not in response.text


def test_a_file_past_max_bytes_leaves_nothing_behind(local_store):
    with pytest.raises(AttachmentTooLargeError):
        local_store.put([b"x" * 700, b"x" * 700], filename="big.bin", max_bytes=1024)
    assert files_in(local_store) == []
    assert list((local_store.folder / ".tmp").iterdir()) == []


def test_a_30_mb_file_streams_through(local_store, make_chunks):
    total = 30 * 1024 * 1024
    staged = local_store.put(make_chunks(total), filename="call.mp4")

    downloaded = hashlib.sha256()
    size = 0
    with httpx.stream("GET", staged.url) as response:
        assert response.headers["content-type"] == "video/mp4"
        for piece in response.iter_bytes():
            downloaded.update(piece)
            size += len(piece)
    assert size == staged.size == total
    assert downloaded.hexdigest() == staged.sha256


def test_the_generated_secret_is_kept_and_shared_by_a_second_process(tmp_path):
    first = LocalAttachmentStore(
        LocalStoreConfig(folder=str(tmp_path), secret_env=None)
    )
    try:
        port = int(urllib.parse.urlsplit(first.url).port or 0)
        # The same folder on the same fixed port: the second store finds the first
        # serving it and reuses it, and the links it signs verify there.
        config = LocalStoreConfig(folder=str(tmp_path), port=port, secret_env=None)
        with LocalAttachmentStore(config) as second:
            staged = second.put(DOC, filename="a.txt")
            assert second.url == first.url
            assert httpx.get(staged.url).content == DOC
        assert (tmp_path / ".secret").stat().st_mode & 0o077 == 0
    finally:
        first.close()


def test_a_fixed_port_taken_by_another_store_is_a_config_error(tmp_path):
    environ = {"EVERMUSE_ATTACHMENT_SECRET": "a" * 40}
    folder = str(tmp_path / "one")
    with LocalAttachmentStore(LocalStoreConfig(folder=folder), environ=environ) as one:
        port = int(urllib.parse.urlsplit(one.url).port or 0)
        other = {"EVERMUSE_ATTACHMENT_SECRET": "b" * 40}
        config = LocalStoreConfig(folder=folder, port=port)
        with (
            LocalAttachmentStore(config, environ=other) as two,
            pytest.raises(ConfigError) as caught,
        ):
            two.put(DOC, filename="a.txt")
    assert f"port {port}" in str(caught.value)
    assert "b" * 40 not in str(caught.value)


def test_the_secret_from_the_environment_signs_and_no_file_is_made(tmp_path):
    environ = {"MY_SECRET": "s" * 32}
    config = LocalStoreConfig(folder=str(tmp_path), secret_env="MY_SECRET")
    with LocalAttachmentStore(config, environ=environ) as store:
        staged = store.put(DOC, filename="a.txt")
        assert httpx.get(staged.url).status_code == 200
    assert not (tmp_path / ".secret").exists()

    # Another secret cannot have signed it.
    other = {"MY_SECRET": "t" * 32}
    with LocalAttachmentStore(config, environ=other) as store:
        forged = store.url_for(staged.key)
    assert forged.split("sig=")[1] != staged.url.split("sig=")[1]


def test_a_short_secret_is_refused_without_showing_it(tmp_path):
    config = LocalStoreConfig(folder=str(tmp_path), secret_env="MY_SECRET")
    with pytest.raises(ConfigError) as caught:
        LocalAttachmentStore(config, environ={"MY_SECRET": "hunter2"})
    assert "MY_SECRET" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_signatures_never_reach_the_logs(local_store, caplog):
    caplog.set_level(logging.DEBUG)
    staged = local_store.put(DOC, filename="a.txt")
    httpx.get(staged.url)
    httpx.get(with_query(staged.url, sig="1" * 64))

    signature = staged.url.split("sig=")[1]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert staged.sha256 in logged
    assert signature not in logged
    assert signature not in repr(staged)
    assert signature not in repr(local_store)


def test_the_server_runs_only_once_asked(tmp_path):
    config = LocalStoreConfig(folder=str(tmp_path), secret_env=None)
    store = LocalAttachmentStore(config)
    assert store._server is None
    staged = store.put(b"lazy", filename="a.txt")
    assert httpx.get(staged.url).content == b"lazy"
    store.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(staged.url)


def test_a_served_folder_answers_links_signed_in_another_process(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "evermuse_connectors.attachments"]
    command += ["--folder", str(tmp_path), "--port", str(port), "--secret-env", ""]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        assert f"127.0.0.1:{port}" in server.stdout.readline()
        config = LocalStoreConfig(folder=str(tmp_path), port=port, secret_env=None)
        with LocalAttachmentStore(config) as store:
            staged = store.put(DOC, filename="a.txt")
            assert store._server is None  # it joined the served folder
        # This store is closed; the link is answered by the other process.
        assert httpx.get(staged.url).content == DOC
    finally:
        server.terminate()
        server.communicate(timeout=10)
    assert server.returncode == 0


def test_threads_storing_the_same_bytes_at_once_leave_one_file(local_store):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda _: local_store.put(DOC, filename="a.txt"), range(8))
        )

    assert {staged.key for staged in results} == {results[0].key}
    assert files_in(local_store) == [results[0].key]
    assert all(httpx.get(staged.url).content == DOC for staged in results)
