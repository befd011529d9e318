"""A real S3-compatible server (moto's server mode) on 127.0.0.1, and stores on it."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from evermuse_connectors.attachments import (
    LocalAttachmentStore,
    LocalStoreConfig,
    S3AttachmentStore,
    S3StoreConfig,
)

_bucket_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, and nothing of the machine's own AWS set-up."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFORTESTS0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-key-for-tests-only")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-creds"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def moto_client(moto_url: str) -> Any:
    # Built once with explicit fake keys: making a boto3 client costs a few hundred
    # milliseconds (it loads the service model), too much to pay in every test.
    return boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="AKIAFAKEFORTESTS0000",
        aws_secret_access_key="fake-secret-key-for-tests-only",
    )


@pytest.fixture
def s3(moto_client: Any, aws_env: None) -> Any:
    """A plain boto3 client of the moto server, to look at what the store did."""
    return moto_client


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"staging-{next(_bucket_numbers)}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_config(moto_url: str, bucket: str) -> S3StoreConfig:
    return S3StoreConfig(kind="s3", bucket=bucket, endpoint_url=moto_url)


@pytest.fixture
def s3_store(s3_config: S3StoreConfig) -> Iterator[S3AttachmentStore]:
    with S3AttachmentStore(s3_config) as store:
        assert isinstance(store, S3AttachmentStore)
        yield store


@pytest.fixture
def local_store(tmp_path: Path) -> Iterator[LocalAttachmentStore]:
    config = LocalStoreConfig(folder=str(tmp_path / "files"), secret_env=None)
    with LocalAttachmentStore(config) as store:
        assert isinstance(store, LocalAttachmentStore)
        yield store


class FailingS3:
    """An S3 endpoint that answers every request with one error, or not at all."""

    def __init__(
        self, status: int, code: str, *, hang: bool = False, heads_pass: bool = False
    ) -> None:
        self.status, self.code, self.hang = status, code, hang
        # heads_pass: the bucket exists and the object does not, so the failure
        # comes from the upload, whose answer has a body with the error code
        # (HEAD answers have none, as on real S3).
        self.heads_pass = heads_pass
        self.requests = 0
        self.release = threading.Event()
        handler = self._handler()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                if outer.heads_pass:
                    is_bucket = self.path.strip("/").count("/") == 0
                    self.send_response(200 if is_bucket else 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._fail()

            def do_GET(self) -> None:
                self._fail()

            def do_PUT(self) -> None:
                self._fail()

            def _fail(self) -> None:
                outer.requests += 1
                if outer.hang:
                    outer.release.wait(10)
                    return
                body = (
                    f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{outer.code}"
                    f"</Code><Message>said by the test server</Message></Error>"
                ).encode()
                self.send_response(outer.status)
                if outer.status == 301:  # as S3 says where a bucket lives
                    self.send_header("x-amz-bucket-region", "eu-west-1")
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def failing_s3() -> Iterator[Any]:
    servers: list[FailingS3] = []

    def start(status: int, code: str, **options: bool) -> FailingS3:
        server = FailingS3(status, code, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def chunks_of(total: int, piece: int = 1024 * 1024, seed: int = 7) -> Iterator[bytes]:
    """``total`` generated bytes in pieces, made as they are asked for."""
    block = bytes((seed * 31 + n * 17) % 256 for n in range(piece))
    sent = 0
    counter = 0
    while sent < total:
        size = min(piece, total - sent)
        # Each piece differs (its number leads it), so a reordered or repeated
        # piece would change the hash.
        head = counter.to_bytes(8, "big")
        yield (head + block)[:size]
        sent += size
        counter += 1


@pytest.fixture
def make_chunks() -> Any:
    return chunks_of
