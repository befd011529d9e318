"""The S3 store against moto's S3 server on 127.0.0.1, downloads with plain httpx."""

from __future__ import annotations

import hashlib
import logging
import time
import urllib.parse
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from evermuse_connectors.attachments import (
    AttachmentStoreError,
    AttachmentTooLargeError,
    S3AttachmentStore,
    S3StoreConfig,
    StoreUnavailableError,
)
from evermuse_connectors.errors import ConfigError, SourceError

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40


def query_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def test_a_staged_file_downloads_without_credentials(s3_store):
    staged = s3_store.put([PDF[:100], PDF[100:]], filename="Q3 report.pdf")

    # httpx with no AWS anything: the URL alone must open the file.
    response = httpx.get(staged.url)

    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-length"] == str(len(PDF))
    assert response.headers["content-disposition"] == (
        'attachment; filename="Q3 report.pdf"'
    )
    assert staged.size == len(PDF)
    assert staged.sha256 == hashlib.sha256(PDF).hexdigest()
    assert staged.sha1 == hashlib.sha1(PDF).hexdigest()
    assert staged.md5 == hashlib.md5(PDF).hexdigest()
    assert staged.key == f"sha256/{staged.sha256}/Q3_report.pdf"
    assert (staged.filename, staged.mime_type) == ("Q3 report.pdf", "application/pdf")


def test_a_non_ascii_name_comes_back_in_the_rfc_6266_form(s3_store):
    staged = s3_store.put(b"bonjour", filename="Résumé.txt", mime_type="text/plain")

    response = httpx.get(staged.url)

    assert response.headers["content-disposition"] == (
        "attachment; filename=\"Resume.txt\"; filename*=UTF-8''R%C3%A9sum%C3%A9.txt"
    )
    assert response.headers["content-type"] == "text/plain"


def test_the_object_carries_its_type_and_hashes(s3_store, s3, bucket):
    staged = s3_store.put(PDF, filename="a.pdf")

    head = s3.head_object(Bucket=bucket, Key="evermuse/" + staged.key)

    assert head["ContentType"] == "application/pdf"
    assert head["ContentLength"] == len(PDF)
    assert head["Metadata"] == {
        "sha256": staged.sha256,
        "sha1": staged.sha1,
        "md5": staged.md5,
    }


def test_the_same_bytes_are_stored_once_under_the_same_key(s3_store, s3, bucket):
    first = s3_store.put(iter([PDF]), filename="a.pdf")
    modified = s3.head_object(Bucket=bucket, Key="evermuse/" + first.key)
    time.sleep(1.1)  # LastModified has one-second resolution
    second = s3_store.put(iter([PDF[:7], PDF[7:]]), filename="a.pdf")

    listing = s3.list_objects_v2(Bucket=bucket)
    assert listing["KeyCount"] == 1
    assert second.key == first.key
    assert (first.already_stored, second.already_stored) == (False, True)
    again = s3.head_object(Bucket=bucket, Key="evermuse/" + first.key)
    assert again["LastModified"] == modified["LastModified"]  # not uploaded again
    assert (
        urllib.parse.urlsplit(second.url).path == urllib.parse.urlsplit(first.url).path
    )
    assert httpx.get(second.url).content == PDF


def test_other_bytes_get_another_key(s3_store):
    one = s3_store.put(b"one", filename="a.txt")
    two = s3_store.put(b"two", filename="a.txt")
    assert one.key != two.key


def test_a_30_mb_file_streams_in_parts(s3_store, s3, bucket, make_chunks):
    total = 30 * 1024 * 1024
    expected = hashlib.sha256()
    pulled = 0

    def chunks():
        nonlocal pulled
        for piece in make_chunks(total):
            pulled += 1
            expected.update(piece)
            yield piece

    staged = s3_store.put(chunks(), filename="call.m4a", mime_type="audio/mp4")

    assert pulled == 30
    assert staged.size == total
    assert staged.sha256 == expected.hexdigest()
    # An ETag with "-<parts>" is S3's mark of a multipart upload: 30 MiB in 8 MiB
    # parts is 4 of them.
    head = s3.head_object(Bucket=bucket, Key="evermuse/" + staged.key)
    assert head["ETag"].strip('"').endswith("-4")
    downloaded = hashlib.sha256()
    with httpx.stream("GET", staged.url) as response:
        assert response.status_code == 200
        for piece in response.iter_bytes():
            downloaded.update(piece)
    assert downloaded.hexdigest() == staged.sha256


def test_the_url_is_signed_for_the_configured_lifetime(moto_url, bucket):
    # moto does not enforce X-Amz-Expires (an expired or even altered signature
    # still downloads from it), so the expiry is checked in the URL itself; real
    # S3, MinIO and R2 refuse the URL after it.
    config = S3StoreConfig(
        kind="s3", bucket=bucket, endpoint_url=moto_url, ttl_seconds=3600
    )
    with S3AttachmentStore(config) as store:
        before = datetime.now(UTC).replace(microsecond=0)
        staged = store.put(b"short-lived", filename="a.txt")

    query = query_of(staged.url)
    assert query["X-Amz-Expires"] == "3600"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    signed_at = signed_at.replace(tzinfo=UTC)
    assert before - timedelta(seconds=2) <= signed_at <= datetime.now(UTC)
    assert abs(staged.expires_at - (signed_at + timedelta(hours=1))) <= timedelta(
        seconds=2
    )


def test_the_default_lifetime_is_seven_days(s3_store):
    staged = s3_store.put(b"x", filename="x.txt")
    assert query_of(staged.url)["X-Amz-Expires"] == "604800"
    left = staged.expires_at - datetime.now(UTC)
    assert timedelta(days=7) - timedelta(seconds=5) < left <= timedelta(days=7)


def test_without_the_signature_the_object_is_refused(s3_store):
    staged = s3_store.put(b"private", filename="p.txt")
    bare = staged.url.split("?", 1)[0]
    assert httpx.get(bare).status_code == 403
    assert httpx.get(staged.url).status_code == 200


def test_url_for_signs_a_fresh_url_for_a_stored_key(s3_store):
    staged = s3_store.put(PDF, filename="a.pdf")

    url = s3_store.url_for(staged.key, filename="renamed.pdf")

    response = httpx.get(url)
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="renamed.pdf"' in response.headers["content-disposition"]


def test_url_for_refuses_a_key_it_could_not_have_made(s3_store):
    with pytest.raises(AttachmentStoreError, match="sha256/<64 hex digits>"):
        s3_store.url_for("../../other-bucket/secret")


def test_a_file_past_max_bytes_is_not_kept(s3_store, s3, bucket, tmp_path):
    config = s3_store.config.model_copy(update={"spool_folder": str(tmp_path)})
    with (
        S3AttachmentStore(config) as store,
        pytest.raises(AttachmentTooLargeError) as caught,
    ):
        store.put([b"x" * 600, b"x" * 600], filename="big.bin", max_bytes=1000)
    assert caught.value.limit == 1000
    assert "1000 bytes" in str(caught.value)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert list(tmp_path.iterdir()) == []  # the spool file is gone too


def test_text_chunks_are_refused_with_the_fix(s3_store):
    with pytest.raises(TypeError, match="encode"):
        s3_store.put(["not bytes"], filename="a.txt")


def test_a_missing_bucket_is_a_config_error_with_the_fix(moto_url, aws_env):
    config = S3StoreConfig(kind="s3", bucket="no-such-bucket", endpoint_url=moto_url)
    with S3AttachmentStore(config) as store, pytest.raises(ConfigError) as caught:
        store.put(b"x", filename="x.txt")
    message = str(caught.value)
    assert "no-such-bucket" in message
    assert "create it" in message


def test_missing_credentials_are_a_config_error(s3_config, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with S3AttachmentStore(s3_config) as store, pytest.raises(ConfigError) as caught:
        store.put(b"x", filename="x.txt")
    assert "AWS_ACCESS_KEY_ID" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "code", "heads_pass", "words"),
    [
        (403, "AccessDenied", False, "s3:ListBucket"),
        (404, "NoSuchBucket", False, "create it"),
        (301, "PermanentRedirect", False, "region"),
        (403, "AccessDenied", True, "s3:PutObject"),
        (403, "InvalidAccessKeyId", True, "AWS_ACCESS_KEY_ID"),
        (403, "SignatureDoesNotMatch", True, "secret key"),
        (400, "ExpiredToken", True, "renew"),
        (403, "RequestTimeTooSkewed", True, "clock"),
    ],
)
def test_refusals_a_person_must_fix_are_config_errors(
    failing_s3, aws_env, status, code, heads_pass, words
):
    server = failing_s3(status, code, heads_pass=heads_pass)
    config = S3StoreConfig(
        kind="s3", bucket="acme", endpoint_url=server.url, max_attempts=1
    )
    with S3AttachmentStore(config) as store, pytest.raises(ConfigError) as caught:
        store.put(b"x", filename="x.txt")
    assert words in str(caught.value)
    assert "acme" in str(caught.value)


@pytest.mark.parametrize("heads_pass", [False, True])
def test_server_errors_are_retried_then_retryable(failing_s3, aws_env, heads_pass):
    server = failing_s3(503, "SlowDown", heads_pass=heads_pass)
    config = S3StoreConfig(
        kind="s3", bucket="acme", endpoint_url=server.url, max_attempts=2
    )
    with (
        S3AttachmentStore(config) as store,
        pytest.raises(StoreUnavailableError) as caught,
    ):
        store.put(b"x", filename="x.txt")
    assert caught.value.retryable
    assert isinstance(caught.value, SourceError)
    assert "retry later" in str(caught.value)
    assert server.requests == 2  # botocore tried twice, as configured, then gave up


def test_a_store_that_does_not_answer_times_out_as_retryable(failing_s3, aws_env):
    server = failing_s3(200, "", hang=True)
    config = S3StoreConfig(
        kind="s3",
        bucket="acme",
        endpoint_url=server.url,
        max_attempts=1,
        timeout_seconds=0.3,
    )
    started = time.monotonic()
    with (
        S3AttachmentStore(config) as store,
        pytest.raises(StoreUnavailableError) as caught,
    ):
        store.put(b"x", filename="x.txt")
    assert time.monotonic() - started < 5
    assert "ReadTimeoutError" in str(caught.value)


def test_an_unreachable_endpoint_is_retryable(aws_env):
    config = S3StoreConfig(
        kind="s3", bucket="acme", endpoint_url="http://127.0.0.1:9", max_attempts=1
    )
    with (
        S3AttachmentStore(config) as store,
        pytest.raises(StoreUnavailableError, match="EndpointConnectionError"),
    ):
        store.put(b"x", filename="x.txt")


def test_signatures_never_reach_logs_or_reprs(s3_store, caplog):
    caplog.set_level(logging.DEBUG, logger="evermuse_connectors")
    staged = s3_store.put(PDF, filename="a.pdf")
    fresh = s3_store.url_for(staged.key)

    signatures = {query_of(url)["X-Amz-Signature"] for url in (staged.url, fresh)}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert staged.sha256 in logged  # the key is what is logged
    for signature in signatures:
        assert signature not in logged
        assert signature not in repr(staged)
        assert signature not in repr(staged.attachment())
        assert signature not in repr(s3_store)


def test_a_url_too_long_for_the_envelope_falls_back_to_the_ascii_name(s3_store):
    # 150 CJK characters are 450 UTF-8 bytes, percent-encoded twice in the query:
    # far over the 2,048 characters the envelope allows for vendor_url.
    name = "日" * 150 + ".pdf"
    staged = s3_store.put(PDF, filename=name)

    assert len(staged.url) <= 2048
    attachment = staged.attachment()  # validates against the envelope's limits
    assert attachment.filename == name
    response = httpx.get(staged.url)
    assert response.headers["content-disposition"] == 'attachment; filename="file.pdf"'
