"""The store's configuration: the kind union, limits, URLs and the factory."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from evermuse_connectors.attachments import (
    MAX_PRESIGN_SECONDS,
    AttachmentStoreConfig,
    LocalAttachmentStore,
    LocalStoreConfig,
    S3AttachmentStore,
    S3StoreConfig,
    build_store,
    parse_store_config,
)
from evermuse_connectors.errors import ConfigError


class SourcesFile(BaseModel):
    """How a sources file would embed the store's config."""

    attachments: AttachmentStoreConfig


def test_the_kind_picks_the_model():
    local = SourcesFile.model_validate({"attachments": {"kind": "local"}})
    s3 = SourcesFile.model_validate({"attachments": {"kind": "s3", "bucket": "acme"}})
    assert isinstance(local.attachments, LocalStoreConfig)
    assert isinstance(s3.attachments, S3StoreConfig)


def test_the_defaults():
    local = LocalStoreConfig()
    assert (local.folder, local.host, local.port) == (
        ".evermuse/attachments",
        "127.0.0.1",
        0,
    )
    assert local.secret_env == "EVERMUSE_ATTACHMENT_SECRET"
    assert local.ttl_seconds == 7 * 86400
    s3 = S3StoreConfig(kind="s3", bucket="acme")
    assert (s3.prefix, s3.endpoint_url, s3.region, s3.profile) == (
        "evermuse/",
        None,
        None,
        None,
    )
    assert s3.addressing_style == "auto"
    assert s3.ttl_seconds == MAX_PRESIGN_SECONDS == 604800


@pytest.mark.parametrize(
    "value",
    [
        {"kind": "ftp"},
        {"kind": "s3"},
        {"kind": "s3", "bucket": "acme", "bukket": "typo"},
        {"kind": "local", "folders": "x"},
        {"kind": "s3", "bucket": "acme", "addressing_style": "dns"},
    ],
)
def test_mistakes_fail_at_load_with_the_field_named(value):
    with pytest.raises(ValidationError) as caught:
        parse_store_config(value)
    text = str(caught.value)
    named = [key for key in ("kind", "bucket", "bukket", "folders", "addressing")]
    assert any(name in text for name in named)


@pytest.mark.parametrize("ttl", [604801, 30 * 86400, 0, -5])
def test_an_s3_ttl_beyond_what_sigv4_signs_is_refused(ttl):
    with pytest.raises(ValidationError) as caught:
        S3StoreConfig(kind="s3", bucket="acme", ttl_seconds=ttl)
    assert "7 days" in str(caught.value)
    assert "604800" in str(caught.value)


def test_the_longest_s3_ttl_is_accepted():
    config = S3StoreConfig(kind="s3", bucket="acme", ttl_seconds=604800)
    assert config.ttl_seconds == 604800


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://storage.googleapis.com", True),
        ("https://acct.r2.cloudflarestorage.com/", True),
        ("http://127.0.0.1:9000", True),
        ("http://localhost:9000", True),
        ("http://[::1]:9000", True),
        ("http://minio.internal:9000", False),
        ("http://10.0.0.5:9000", False),
        ("https://key:secret@minio.example", False),
        ("https://minio.example?token=x", False),
        ("ftp://minio.example", False),
    ],
)
def test_endpoint_urls_are_https_or_loopback(url, ok):
    if ok:
        config = S3StoreConfig(kind="s3", bucket="acme", endpoint_url=url)
        assert config.endpoint_url == url.rstrip("/")
        return
    with pytest.raises(ValidationError) as caught:
        S3StoreConfig(kind="s3", bucket="acme", endpoint_url=url)
    assert "endpoint_url" in str(caught.value)
    assert "secret" not in str(caught.value).replace("secret_", "")


@pytest.mark.parametrize("bucket", ["s3://acme", "ab", "acme/files", "-acme", ""])
def test_a_bucket_must_be_a_bare_name(bucket):
    with pytest.raises(ValidationError, match="bare name"):
        S3StoreConfig(kind="s3", bucket=bucket)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("evermuse/", "evermuse/"), ("/a/b", "a/b/"), ("", ""), ("x", "x/")],
)
def test_the_prefix_becomes_a_folder(prefix, expected):
    assert S3StoreConfig(kind="s3", bucket="acme", prefix=prefix).prefix == expected


@pytest.mark.parametrize("prefix", ["a/../b", "..", "a\\b", "p" * 201])
def test_a_prefix_that_escapes_or_is_too_long_is_refused(prefix):
    with pytest.raises(ValidationError, match="prefix"):
        S3StoreConfig(kind="s3", bucket="acme", prefix=prefix)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_the_local_store_refuses_a_non_loopback_host(host):
    with pytest.raises(ValidationError) as caught:
        LocalStoreConfig(host=host)
    assert "loopback only" in str(caught.value)
    assert "kind: s3" in str(caught.value)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"]
)
def test_the_local_store_takes_loopback_hosts(host):
    assert LocalStoreConfig(host=host).host == host.strip("[]")


def test_a_pasted_secret_instead_of_a_variable_name_is_not_echoed():
    pasted = "s3cr3t-v@lue-pasted-by-mistake"
    with pytest.raises(ValidationError) as caught:
        LocalStoreConfig(secret_env=pasted)
    assert pasted not in str(caught.value.errors(include_input=False))
    assert "NAME of an environment variable" in str(caught.value)


def test_build_store_makes_each_kind(tmp_path, aws_env):
    local = build_store({"kind": "local", "folder": str(tmp_path), "secret_env": None})
    s3 = build_store({"kind": "s3", "bucket": "acme", "region": "eu-west-1"})
    try:
        assert isinstance(local, LocalAttachmentStore)
        assert isinstance(s3, S3AttachmentStore)
        assert "acme" in repr(s3)
    finally:
        local.close()
        s3.close()


def test_build_store_turns_a_bad_mapping_into_a_config_error():
    with pytest.raises(ConfigError) as caught:
        build_store({"kind": "s3", "bucket": "acme", "ttl_seconds": 10**7})
    assert "ttl_seconds" in str(caught.value)
    assert "7 days" in str(caught.value)


def test_an_unknown_profile_is_a_config_error(aws_env):
    with pytest.raises(ConfigError) as caught:
        build_store({"kind": "s3", "bucket": "acme", "profile": "no-such-profile"})
    assert "no-such-profile" in str(caught.value)
    assert "AWS_ACCESS_KEY_ID" in str(caught.value)


def test_models_built_in_python_know_their_kind():
    assert S3StoreConfig(bucket="acme").kind == "s3"
    assert LocalStoreConfig().kind == "local"


def test_a_mapping_without_a_kind_is_refused():
    with pytest.raises(ValidationError, match="kind"):
        parse_store_config({"bucket": "acme"})
