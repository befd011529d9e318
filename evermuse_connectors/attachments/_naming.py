"""Keys, safe file names and Content-Disposition values.

A key is ``sha256/<hex of the bytes>/<safe file name>``: the hash makes it content
addressed, and the name at the end makes the URL readable and lets a tool that
names downloads after the URL's last segment pick a sensible name.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse

from evermuse_connectors.errors import shorten

__all__ = [
    "MAX_SAFE_NAME",
    "check_key",
    "content_disposition",
    "content_key",
    "name_of_key",
    "safe_filename",
]

MAX_SAFE_NAME = 100
_MAX_EXTENSION = 10
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_KEY = re.compile(r"^sha256/[0-9a-f]{64}/[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$")
_HEX = re.compile(r"^[0-9a-f]{64}$")
# RFC 8187 attr-char: what may stand unescaped in filename*=UTF-8''...
_ATTR_CHARS = "!#$&+-.^_`|~"
# Long enough for any real name, short enough that a pre-signed URL which repeats it
# (percent-encoded twice) stays inside the envelope's 2,048 characters for vendor_url.
_MAX_DISPLAY_NAME = 150


def safe_filename(filename: str | None) -> str:
    """An ASCII name (letters, digits, ``.``, ``_``, ``-``) that keeps the extension.

    Accents are dropped (``Résumé.pdf`` becomes ``Resume.pdf``), anything else that
    is not safe in a URL path or on a file system becomes ``_``, and a leading dot is
    removed so that no key names a hidden file or ``..``.
    """
    decomposed = unicodedata.normalize("NFKD", filename or "")
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii")
    base = ascii_only.replace("\\", "/").rsplit("/", 1)[-1]
    stem, ext = _split_extension(base)
    cleaned_stem = _UNSAFE.sub("_", stem).strip("._") or "file"
    cleaned_ext = _UNSAFE.sub("", ext)
    name = cleaned_stem + ("." + cleaned_ext if cleaned_ext else "")
    return _cut_keeping_extension(name, MAX_SAFE_NAME)


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not ext or len(ext) > _MAX_EXTENSION:
        return name, ""
    return stem, ext


def _cut_keeping_extension(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    stem, ext = _split_extension(name)
    if not ext:
        return name[:limit].rstrip("._")
    return (stem[: limit - len(ext) - 1].rstrip("._") or "file") + "." + ext


def content_key(sha256_hex: str, filename: str | None) -> str:
    if not _HEX.match(sha256_hex):
        raise ValueError(f"expected a sha-256 hex digest, got {shorten(sha256_hex)}")
    return f"sha256/{sha256_hex}/{safe_filename(filename)}"


def check_key(key: str) -> str:
    """``key`` if it is one this store makes, else a ValueError saying the form."""
    if not _KEY.match(key):
        raise ValueError(
            f"expected a key of the form sha256/<64 hex digits>/<safe file name>, "
            f"got {shorten(key)}; use the key a StagedFile returned"
        )
    return key


def name_of_key(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def content_disposition(filename: str | None, *, ascii_only: bool = False) -> str:
    """``attachment`` with the file's name, as RFC 6266 describes.

    A plain ASCII name goes in a quoted ``filename``; any other name gets an ASCII
    fallback in ``filename`` and the exact name in ``filename*=UTF-8''...`` (RFC 8187
    encoding), which every current browser and HTTP library prefers when present.
    """
    name = _display_name(filename)
    fallback = safe_filename(name)
    if ascii_only:
        return f'attachment; filename="{fallback}"'
    # A quote or backslash would need quoted-pair escapes, which some clients read
    # literally: such names take the encoded form too.
    if name.isascii() and name.isprintable() and not set(name) & {'"', "\\"}:
        return f'attachment; filename="{name}"'
    encoded = urllib.parse.quote(name, safe=_ATTR_CHARS)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def _display_name(filename: str | None) -> str:
    # Path parts and control characters never belong in a header's file name.
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = unicodedata.normalize("NFC", base)
    name = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    if not name:
        return "file"
    if len(name) <= _MAX_DISPLAY_NAME:
        return name
    stem, ext = _split_extension(name)
    if ext:
        return stem[: _MAX_DISPLAY_NAME - len(ext) - 1] + "." + ext
    return name[:_MAX_DISPLAY_NAME]
