"""Separating what a message says from the history it quotes and its signature.

Replies carry the whole conversation below (or around) the new text, so a complaint
made once appears again in every reply. Each message's text is split into:

- ``new``: what the sender wrote in this message, inline replies included;
- ``quoted``: history: ``>`` lines, the "On <date>, <name> wrote:" line above them,
  and everything after an Outlook-style header block or "Original Message" rule
  (Outlook quotes without ``>``);
- ``signature``: after an RFC 3676 ``-- `` line, or a mobile footer;
- ``forwarded``: a message forwarded inline, which is new to this thread.

The rules are line-based and conservative: text that matches none stays ``new``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Split", "split_text"]

_ATTRIBUTION = re.compile(
    r"^(?:"
    r"On\s.{4,300}\swrote\s?:"
    r"|Le\s.{4,300}\sa\sécrit\s?:"
    r"|Am\s.{4,300}\sschrieb\s.{0,300}:"
    r"|El\s.{4,300}\sescribió\s?:"
    r"|Op\s.{4,300}\sschreef\s.{0,300}:"
    r"|Il\s.{4,300}\sha\sscritto\s?:"
    r"|Em\s.{4,300}\sescreveu\s?:"
    r"|\d{4}年\d{1,2}月\d{1,2}日.{0,200}:"
    r")\s*$",
    re.IGNORECASE,
)
_HISTORY_RULE = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|"
    r"Mensaje original|Messaggio originale|Oorspronkelijk bericht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD_RULE = re.compile(
    r"^\s*(?:-{2,}\s*(?:Forwarded message|Weitergeleitete Nachricht|"
    r"Message transféré|Mensaje reenviado)\s*-{2,}|Begin forwarded message:)\s*$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_HEADER_FROM = re.compile(r"^\s*\**(?:From|De|Von|Da|Van)\s*:\**\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\**(?:Sent|Date|Gesendet|Envoyé|Enviado|Inviato|Verzonden|To|Subject)"
    r"\s*:\**\s*\S",
    re.IGNORECASE,
)
_SIG_DASH = re.compile(r"^--\s?$")
_MOBILE_FOOTER = re.compile(
    r"^\s*(?:Sent from my \w|Sent from Mail for Windows|Get Outlook for \w|"
    r"Envoyé de mon \w|Von meinem \w.{0,40} gesendet)",
    re.IGNORECASE,
)
_BLANKS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Split:
    new: str
    quoted: str = ""
    signature: str = ""
    forwarded: str = ""


def _is_quote(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution(lines: list[str], i: int) -> int:
    """How many lines (1-3) from ``i`` form an attribution line; 0 if none.

    Gmail wraps a long attribution, so the line may continue on the next ones.
    """
    joined = ""
    for span in range(1, 4):
        if i + span > len(lines):
            return 0
        joined = f"{joined} {lines[i + span - 1].strip()}".strip()
        if not joined or _is_quote(lines[i + span - 1]):
            return 0
        if _ATTRIBUTION.match(joined):
            return span
    return 0


def _outlook_header(lines: list[str], i: int) -> bool:
    """A "From: ... / Sent: ..." block that Outlook puts above unquoted history."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    following = [line for line in lines[i + 1 : i + 5] if line.strip()]
    return sum(1 for line in following if _HEADER_NEXT.match(line)) >= 2


def _next_content(lines: list[str], start: int) -> str | None:
    for line in lines[start:]:
        if line.strip():
            return line
    return None


def _history_starts(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _HISTORY_RULE.match(line) or _outlook_header(lines, i):
        return True
    return bool(
        _UNDERSCORES.match(line)
        and any(_HEADER_FROM.match(n) for n in lines[i + 1 : i + 3])
    )


def split_text(text: str) -> Split:
    """Split a message's plain text into new text, history, signature, forward."""
    lines = text.split("\n")
    parts: dict[str, list[str]] = {"new": [], "quoted": [], "signature": []}
    forwarded: list[str] = []
    mode = "new"
    i = 0
    while i < len(lines):
        line = lines[i]
        if _is_quote(line):
            parts["quoted"].append(line)
            i += 1
            continue
        if _FORWARD_RULE.match(line):
            forwarded = lines[i:]
            break
        if _history_starts(lines, i):
            parts["quoted"].extend(lines[i:])
            break
        span = _attribution(lines, i)
        if span:
            parts["quoted"].extend(lines[i : i + span])
            following = _next_content(lines, i + span)
            if following is not None and not _is_quote(following):
                # An attribution followed by unquoted text: history without ">".
                parts["quoted"].extend(lines[i + span :])
                break
            i += span
            continue
        if mode == "new" and _SIG_DASH.match(line):
            mode = "signature"
            i += 1
            continue
        if mode == "new" and _MOBILE_FOOTER.match(line):
            mode = "signature"
        parts[mode].append(line)
        i += 1
    return Split(
        new=_clean(parts["new"]),
        quoted=_clean(parts["quoted"]),
        signature=_clean(parts["signature"]),
        forwarded=_clean(forwarded),
    )


def _clean(lines: list[str]) -> str:
    while lines and (not lines[-1].strip() or _SIG_DASH.match(lines[-1].strip())):
        lines = lines[:-1]
    text = "\n".join(line.rstrip() for line in lines)
    return _BLANKS.sub("\n\n", text).strip("\n")
