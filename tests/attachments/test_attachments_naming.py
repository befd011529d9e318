"""Keys, safe file names, Content-Disposition and the record's attachment."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from werkzeug.http import parse_options_header

from evermuse_connectors.attachments import (
    StagedFile,
    attachment_type_for,
    content_disposition,
    safe_filename,
)
from evermuse_connectors.attachments._naming import check_key, content_key
from evermuse_connectors.envelope import AttachmentType


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("Résumé final.pdf", "Resume_final.pdf"),
        ("日本.pdf", "file.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Q3 (draft).xlsx", "Q3_draft.xlsx"),
        (".env", "file.env"),
        ("....", "file"),
        ("", "file"),
        (None, "file"),
        ('a"b;c.txt', "a_b_c.txt"),
    ],
)
def test_safe_filename(name, safe):
    assert safe_filename(name) == safe


def test_a_long_name_is_cut_but_keeps_its_extension():
    safe = safe_filename("x" * 300 + ".docx")
    assert len(safe) == 100
    assert safe.endswith(".docx")


@pytest.mark.parametrize(
    "name", ["a.pdf", "Ünïcödé 文件.png", "../x", "x" * 500, "\x00\x1f.txt", " "]
)
def test_every_safe_name_makes_a_valid_key(name):
    digest = hashlib.sha256(b"x").hexdigest()
    key = content_key(digest, name)
    assert check_key(key) == key
    assert key.startswith(f"sha256/{digest}/")


@pytest.mark.parametrize(
    "key",
    [
        "sha256/abc/x.pdf",
        "sha256/" + "0" * 64 + "/../secret",
        "sha256/" + "0" * 64 + "/.secret",
        "sha256/" + "0" * 64 + "/a/b",
        "md5/" + "0" * 32 + "/a",
        "sha256/" + "A" * 64 + "/a",
    ],
)
def test_a_key_not_of_the_store_s_form_is_refused(key):
    with pytest.raises(ValueError, match="sha256/<64 hex digits>"):
        check_key(key)


def parsed_filename(header: str) -> str | None:
    # Werkzeug (moto's web server) parses the header independently of our code and,
    # as RFC 6266 asks, prefers filename* over filename.
    disposition, params = parse_options_header(header)
    assert disposition == "attachment"
    return params.get("filename")


@pytest.mark.parametrize(
    "name",
    [
        "report.pdf",
        "Résumé.pdf",
        "日本語のファイル.docx",
        "emoji 🎉.png",
        'say "hi".txt',
        "spaces and; semicolons.txt",
    ],
)
def test_content_disposition_round_trips_the_name(name):
    header = content_disposition(name)
    assert header.startswith("attachment; ")
    assert header.isascii()
    assert parsed_filename(header) == name


def test_a_non_ascii_name_has_an_ascii_fallback_and_the_rfc_6266_form():
    header = content_disposition("Résumé.pdf")
    assert header == (
        "attachment; filename=\"Resume.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9.pdf"
    )
    assert content_disposition("Résumé.pdf", ascii_only=True) == (
        'attachment; filename="Resume.pdf"'
    )


def test_a_windows_path_keeps_only_its_last_part():
    assert parsed_filename(content_disposition("C:\\Users\\me\\Q3.xlsx")) == "Q3.xlsx"


def test_path_parts_and_control_characters_never_reach_the_header():
    header = content_disposition("../../evil\r\nSet-Cookie: x.txt")
    assert "\r" not in header
    assert "\n" not in header
    assert ".." not in header


@pytest.mark.parametrize(
    ("mime_type", "kind"),
    [
        ("image/png", AttachmentType.IMAGE),
        ("audio/mp4", AttachmentType.AUDIO),
        ("video/mp4", AttachmentType.VIDEO),
        ("text/plain", AttachmentType.TEXT),
        ("application/pdf", AttachmentType.FILE),
        ("application/octet-stream", AttachmentType.FILE),
    ],
)
def test_attachment_type_follows_the_media_type(mime_type, kind):
    assert attachment_type_for(mime_type) is kind


def staged(**changes):
    fields = {
        "key": "sha256/" + "1" * 64 + "/a.png",
        "url": "https://files.example/a.png?X-Amz-Signature=deadbeefcafe",
        "expires_at": datetime(2026, 3, 16, tzinfo=UTC),
        "sha256": "1" * 64,
        "sha1": "2" * 40,
        "md5": "3" * 32,
        "size": 42,
        "mime_type": "image/png",
        "filename": "a.png",
    }
    return StagedFile(**(fields | changes))


def test_the_attachment_carries_hashes_size_type_and_url():
    attachment = staged().attachment()
    assert attachment.type is AttachmentType.IMAGE
    assert attachment.vendor_url == staged().url
    assert (attachment.sha1, attachment.md5, attachment.size) == (
        "2" * 40,
        "3" * 32,
        42,
    )
    assert (attachment.filename, attachment.mime_type) == ("a.png", "image/png")
    assert staged().attachment(AttachmentType.FILE).type is AttachmentType.FILE


def test_the_url_stays_out_of_reprs():
    file = staged()
    for text in (repr(file), str(file), repr(file.attachment())):
        assert "deadbeefcafe" not in text
    assert file.key in repr(file)


def test_a_name_longer_than_the_envelope_allows_is_cut():
    attachment = staged(filename="n" * 600 + ".png").attachment()
    assert attachment.filename is not None
    assert len(attachment.filename) == 512
