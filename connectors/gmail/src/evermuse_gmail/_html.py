"""HTML bodies to readable text, keeping the quoted history and signature apart.

inscriptis renders the layout (paragraphs, lists, tables) as plain text. Mail
clients mark quoted history and signatures in HTML with well-known containers
(Gmail's ``gmail_quote`` and ``gmail_signature``, Outlook's ``divRplyFwdMsg``,
Thunderbird's ``moz-cite-prefix``, ``blockquote type=cite``); those marks vanish in
text, so a sentinel line is put in front of the first of each before rendering and
the text is cut there afterwards.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from dataclasses import dataclass

from inscriptis import get_text

__all__ = ["HtmlText", "html_charset", "html_to_text"]

logger = logging.getLogger(__name__)

_QUOTE_MARK = "\ue000evermuse-quote\ue000"
_SIGNATURE_MARK = "\ue000evermuse-signature\ue000"
_QUOTE_START = re.compile(
    r"<(?:div|blockquote)\b[^>]*?(?:"
    r"class\s*=\s*[\"'][^\"']*\b(?:gmail_quote|moz-cite-prefix|yahoo_quoted|"
    r"protonmail_quote)\b"
    r"|type\s*=\s*[\"']?cite"
    r"|id\s*=\s*[\"']?(?:divRplyFwdMsg|appendonsend)\b)",
    re.IGNORECASE,
)
_SIGNATURE_START = re.compile(
    r"<div\b[^>]*?class\s*=\s*[\"'][^\"']*\bgmail_signature\b", re.IGNORECASE
)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", re.I)
_TAG = re.compile(r"<[^>]+>")
_HEAD = re.compile(r"<(head|style|script)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BLANKS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class HtmlText:
    text: str
    quoted: str = ""
    signature: str = ""
    whole: str = ""  # all of it, in document order


def html_charset(data: bytes) -> str | None:
    """The charset a ``<meta>`` tag declares in the first kilobytes, if any."""
    found = _META_CHARSET.search(data[:4096])
    return found.group(1).decode("ascii") if found else None


def _mark(html: str) -> str:
    quote = _QUOTE_START.search(html)
    signature = _SIGNATURE_START.search(html)
    cut_quote = quote.start() if quote else -1
    cut_sig = signature.start() if signature else -1
    if cut_quote >= 0 and (cut_sig < 0 or cut_quote < cut_sig):
        # A signature inside the quoted history belongs to someone else.
        cut_sig = -1
    cuts = [(p, m) for p, m in ((cut_quote, _QUOTE_MARK), (cut_sig, _SIGNATURE_MARK))]
    # Insert from the back so that the earlier position stays valid.
    for position, mark in sorted(c for c in cuts if c[0] >= 0)[::-1]:
        html = f"{html[:position]}<div>{mark}</div>{html[position:]}"
    return html


def _render(html: str) -> str:
    try:
        text = get_text(html)
    except Exception as exc:  # lxml refuses some broken documents outright
        logger.warning("HTML body could not be parsed (%s); tags stripped", exc)
        text = html_lib.unescape(_TAG.sub(" ", _HEAD.sub(" ", html)))
    lines = [line.rstrip() for line in text.replace("\r", "").split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip("\n")


def html_to_text(html: str) -> HtmlText:
    """Readable text of an HTML body, with its quoted history and signature apart."""
    rendered = _render(_mark(html))
    text, _, quoted = rendered.partition(_QUOTE_MARK)
    text, _, signature = text.partition(_SIGNATURE_MARK)
    unmarked = rendered.replace(_QUOTE_MARK, "").replace(_SIGNATURE_MARK, "")
    whole = "\n".join(line.rstrip() for line in unmarked.split("\n"))
    return HtmlText(
        text=_dedent(text).strip(),
        quoted=_dedent(quoted).strip(),
        signature=_dedent(signature).strip(),
        whole=_BLANKS.sub("\n\n", _dedent(whole)).strip(),
    )


def _dedent(text: str) -> str:
    # inscriptis indents nested blocks; common indentation carries no meaning here.
    lines = text.split("\n")
    widths = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip()]
    cut = min(widths, default=0)
    return "\n".join(line[cut:] for line in lines)
