"""Which files a source stages: the policy's decisions and its validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from evermuse_connectors.attachments import (
    DEFAULT_MAX_BYTES,
    AttachmentPolicy,
    effective_mime_type,
)

MB = 1024 * 1024

CASES = [
    # (policy settings, file, staged?, words in the reason)
    ({}, ("a.pdf", "application/pdf", 1234, False), True, "within"),
    ({}, ("big.pdf", "application/pdf", 25 * MB + 1, False), False, "over the 25 MB"),
    ({}, ("edge.pdf", "application/pdf", 25 * MB, False), True, "within"),
    ({}, ("unknown.bin", None, None, False), True, "within"),
    ({"enabled": False}, ("a.pdf", "application/pdf", 10, False), False, "is off"),
    (
        {"max_bytes": 2 * MB},
        ("a.png", "image/png", 3 * MB, False),
        False,
        "over the 2 MB limit",
    ),
    (
        {"exclude_mime_types": ["image/png"]},
        ("a.png", "image/png", 10, False),
        False,
        "type image/png is excluded",
    ),
    (
        {"mime_types": ["image/*"], "exclude_mime_types": ["image/*"]},
        ("a.png", "image/png", 10, False),
        False,
        "excluded",
    ),
    (
        {"mime_types": ["image/*", "application/pdf"]},
        ("clip.mp4", "video/mp4", 10, False),
        False,
        "type video/mp4 is not among the allowed types",
    ),
    (
        {"mime_types": ["image/*", "application/pdf"]},
        ("shot.jpg", "image/jpeg", 10, False),
        True,
        "within",
    ),
    (
        {"inline_images": False},
        ("logo.png", "image/png", 10, True),
        False,
        "inline images are off",
    ),
    (
        {"inline_images": False},
        ("logo.png", "image/png", 10, False),
        True,
        "within",
    ),
    (
        {"inline_images": False},
        ("inline.ics", "text/calendar", 10, True),
        True,
        "within",
    ),
    (
        {"mime_types": ["application/pdf"]},
        ("report.PDF", "application/octet-stream", 10, False),
        True,
        "within",
    ),
    (
        {"exclude_mime_types": ["text/*"]},
        ("notes.txt", "TEXT/Plain; charset=UTF-8", 10, False),
        False,
        "type text/plain is excluded",
    ),
]


@pytest.mark.parametrize(("settings", "file", "staged", "reason"), CASES)
def test_decisions(settings, file, staged, reason):
    filename, mime_type, size, inline = file
    decision = AttachmentPolicy(**settings).decide(
        filename=filename, mime_type=mime_type, size=size, inline=inline
    )
    assert decision.stage is staged
    assert bool(decision) is staged
    assert reason in decision.reason


def test_the_defaults_are_the_issue_s():
    policy = AttachmentPolicy()
    assert policy.enabled
    assert policy.max_bytes == DEFAULT_MAX_BYTES == 25 * MB
    assert policy.mime_types == ["*/*"]
    assert policy.exclude_mime_types == []
    assert policy.inline_images
    assert policy.max_per_record == 10


def test_a_full_record_stages_no_more():
    policy = AttachmentPolicy(max_per_record=3)
    kwargs = {"filename": "a.pdf", "mime_type": "application/pdf", "size": 1}
    assert policy.decide(**kwargs, already_staged=2).stage
    refused = policy.decide(**kwargs, already_staged=3)
    assert not refused.stage
    assert refused.reason == "over the 3 attachments a record may carry"


def test_the_decision_carries_the_type_it_judged():
    decision = AttachmentPolicy().decide(
        filename="scan.pdf", mime_type="application/octet-stream", size=5
    )
    assert decision.mime_type == "application/pdf"


@pytest.mark.parametrize(
    ("filename", "mime_type", "expected"),
    [
        ("a.pdf", "application/pdf", "application/pdf"),
        ("a.pdf", "Application/PDF ; name=a.pdf", "application/pdf"),
        ("a.pdf", None, "application/pdf"),
        ("a.pdf", "", "application/pdf"),
        ("photo.JPG", "application/octet-stream", "image/jpeg"),
        ("no-extension", None, "application/octet-stream"),
        (None, None, "application/octet-stream"),
        ("a.txt", "not a type", "text/plain"),
        ("voice.m4a", "audio/mp4", "audio/mp4"),
    ],
)
def test_effective_mime_type(filename, mime_type, expected):
    assert effective_mime_type(filename, mime_type) == expected


@pytest.mark.parametrize("field", ["mime_types", "exclude_mime_types"])
@pytest.mark.parametrize("glob", ["pdf", "image/", "/png", "image/png/x", "im age/*"])
def test_a_pattern_that_is_no_media_type_is_refused(field, glob):
    with pytest.raises(ValidationError) as caught:
        AttachmentPolicy(**{field: [glob]})
    assert field in str(caught.value)
    assert "type/subtype" in str(caught.value)


def test_patterns_are_lower_cased_and_a_bare_star_means_everything():
    policy = AttachmentPolicy(mime_types=["*"], exclude_mime_types=["Image/*"])
    assert policy.mime_types == ["*/*"]
    assert policy.exclude_mime_types == ["image/*"]


@pytest.mark.parametrize("value", [0, 11, 100])
def test_max_per_record_stays_within_the_spec(value):
    with pytest.raises(ValidationError) as caught:
        AttachmentPolicy(max_per_record=value)
    assert "1 to 10" in str(caught.value)


def test_a_misspelled_setting_fails_loudly():
    with pytest.raises(ValidationError) as caught:
        AttachmentPolicy.model_validate({"max_byte": 10})
    assert "max_byte" in str(caught.value)


def test_max_bytes_must_be_positive():
    with pytest.raises(ValidationError):
        AttachmentPolicy(max_bytes=0)
