"""Whether text carries email addresses or phone numbers (the records' ``_pii``)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from evermuse_connectors.envelope import Pii

__all__ = ["pii_of"]

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# A run of digits with the separators people write in phone numbers. Bare digit runs
# (meeting numbers, amounts) are not phones: a "+" or a separator is required, and
# an ISO date inside the run ("2026-03-09 14:00") rules it out. This is a heuristic:
# it can miss unusual formats and flag a long formatted number that is no phone.
_PHONE = re.compile(r"(?<!\w)(?<!\d\.)\+?\(?\d[\d\s().\-]{6,}\d(?!\w|\.\d)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _is_phone(candidate: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    separated = candidate.startswith("+") or any(ch in candidate for ch in " ()-.")
    return 9 <= digits <= 15 and separated and not _DATE.search(candidate)


def pii_of(texts: Iterable[str | None]) -> Pii:
    """The flags for everything in ``texts`` (``None`` entries are ignored)."""
    email = phone = False
    for text in texts:
        if not text:
            continue
        email = email or bool(_EMAIL.search(text))
        phone = phone or any(_is_phone(m.group(0)) for m in _PHONE.finditer(text))
        if email and phone:
            break
    return Pii(contains_email=email, contains_phone=phone)
