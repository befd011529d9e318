"""Bytes to text for email parts: base64url, declared charsets, and broken ones.

With ``format=full`` Gmail removes the transfer encoding (base64, quoted-printable)
and hands each part's bytes over base64url-encoded, but it does not convert the
charset: a Latin-1 body arrives as Latin-1 bytes. Mail in the wild declares charsets
that do not exist, declares none, or declares one and sends another, so decoding
never raises: it falls back to UTF-8, reading the bytes that are not UTF-8 as
Windows-1252, and replaces what is left.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from email.errors import HeaderParseError
from email.header import decode_header, make_header

__all__ = ["b64url_bytes", "content_param", "decode_header_value", "decode_text"]

# Labels whose real-world content is a superset encoding. Browsers (WHATWG) read
# iso-8859-1 and us-ascii as windows-1252, and mail clients send windows-1252 bytes
# (curly quotes, the euro sign) under those labels all the time.
_SUPERSETS = {
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "ansi_x3.4-1968": "utf-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "unicode-1-1-utf-8": "utf-8",
    "utf8": "utf-8",
}
_PARAM = re.compile(
    r"""(?:^|;)\s*{name}\s*=\s*(?:"([^"]*)"|([^;\s]*))""", re.IGNORECASE
)
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bqBQ]\?[^?\s]*\?=")
_BASE64URL_JUNK = re.compile(r"[^A-Za-z0-9_\-+/]")
_STRAY = re.compile("[\udc80-\udcff]+")  # undecodable bytes, surrogate-escaped


def b64url_bytes(data: str) -> bytes:
    """Bytes of a base64url string, tolerating missing padding and stray characters."""
    cleaned = _BASE64URL_JUNK.sub("", data)
    cleaned = cleaned.replace("+", "-").replace("/", "_")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.urlsafe_b64decode(cleaned)
    except (binascii.Error, ValueError):
        # A length of 4n+1 cannot be decoded; drop the dangling character.
        return base64.urlsafe_b64decode(cleaned.rstrip("=")[:-1] + "==")


def content_param(header: str | None, name: str) -> str | None:
    """One parameter (``charset``, ``name``, ``boundary``...) of a MIME header."""
    if not header:
        return None
    pattern = re.compile(_PARAM.pattern.format(name=re.escape(name)), re.IGNORECASE)
    found = pattern.search(header)
    if not found:
        return None
    value = found.group(1) if found.group(1) is not None else found.group(2)
    return value.strip() or None


def _codec(label: str | None) -> str | None:
    """The Python codec for a charset label, or ``None`` if there is none."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_text(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """The text of ``data``, and a note when the declared charset did not fit."""
    codec = _codec(charset)
    note: str | None = None
    if charset and codec is None:
        note = f"unknown charset {charset[:40]!r}"
    if codec is None:
        return _tidy(_utf8_or_cp1252(data)), note
    try:
        return _tidy(data.decode(codec)), None
    except UnicodeDecodeError:
        note = f"bytes do not match charset {charset!r}"
    if codec == "utf-8":
        # The classic mislabel: Latin-1 or Windows bytes sent as UTF-8.
        return _tidy(_utf8_or_cp1252(data)), note
    try:
        return _tidy(data.decode("utf-8")), note  # a wrong label often hides UTF-8
    except UnicodeDecodeError:
        # Keep the declared charset (a Japanese body stays Japanese) and replace
        # only the broken bytes.
        return _tidy(data.decode(codec, errors="replace")), note


def _utf8_or_cp1252(data: bytes) -> str:
    """UTF-8, with each run of bytes that is not UTF-8 read as Windows-1252.

    Handles a body that is all Latin-1 as well as UTF-8 with a stray Latin-1
    word pasted in; cp1252 leaves five bytes undefined, which become U+FFFD.
    """
    text = data.decode("utf-8", errors="surrogateescape")
    return _STRAY.sub(
        lambda m: bytes(ord(c) - 0xDC00 for c in m.group()).decode(
            "cp1252", errors="replace"
        ),
        text,
    )


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\x00", "")


def decode_header_value(value: str) -> str:
    """A header value with RFC 2047 encoded words decoded, whatever the server did.

    Gmail already decodes them; a server that does not still yields readable text.
    """
    if "=?" not in value or not _ENCODED_WORD.search(value):
        return value
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
        return _decode_words_one_by_one(value)


def _decode_words_one_by_one(value: str) -> str:
    def one(match: re.Match[str]) -> str:
        word = match.group(0)
        try:
            (raw, label), *_ = decode_header(word)
        except (HeaderParseError, ValueError):
            return word
        if isinstance(raw, str):
            return raw
        return decode_text(raw, label)[0]

    return _ENCODED_WORD.sub(one, value)
