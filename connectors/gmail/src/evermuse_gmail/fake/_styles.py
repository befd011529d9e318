"""The body of one generated message in one MIME style.

Each style is a method of :class:`Styles`; ``STYLES`` lists them in the order the
generator cycles through, so that a few days of mail hold every one of them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import Message
from email.utils import format_datetime
from typing import Protocol

from evermuse_gmail.fake import _mime as m
from evermuse_gmail.fake._content import JAPANESE_LINE, Person

__all__ = ["STYLES", "Said", "Styles", "html_page", "local_date"]

STYLES = (
    "plain",
    "alternative",
    "html_only",
    "latin1",
    "cp1252",
    "shift_jis",
    "broken_charset",
    "unknown_charset",
    "flowed",
    "outlook",
    "attachment",
    "inline_image",
    "forward_rfc822",
    "forward_inline",
    "calendar",
)


class Boundaries(Protocol):
    rng: random.Random
    counter: int

    def boundary(self) -> str: ...


@dataclass
class Said:
    sender: Person
    to: list[Person]
    cc: list[Person]
    when: datetime
    message_id: str | None
    subject: str
    text: str  # the plain text as sent, quotes included (the next reply quotes it)


def local_date(moment: datetime, person: Person) -> str:
    zone = timezone(timedelta(hours=person.utc_offset_hours))
    return format_datetime(moment.astimezone(zone))


def html_page(text: str, quoted: str = "", signature: str = "") -> str:
    def paragraphs(value: str) -> str:
        escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return "".join(
            f"<p>{p.replace(chr(10), '<br>')}</p>" for p in escaped.split("\n\n")
        )

    body = f'<div dir="ltr">{paragraphs(text)}'
    if signature:
        inner = paragraphs(signature)
        body += f'<div>-- <br><div class="gmail_signature">{inner}</div></div>'
    body += "</div>"
    if quoted:
        head, _, rest = quoted.partition("\n")
        rest = "\n".join(
            line[2:] if line.startswith("> ") else line.lstrip(">")
            for line in rest.split("\n")
        )
        body += (
            '<br><div class="gmail_quote">'
            f'<div class="gmail_attr">{paragraphs(head)}</div>'
            f'<blockquote class="gmail_quote" style="margin:0 0 0 .8ex">'
            f"{paragraphs(rest)}</blockquote></div>"
        )
    return f"<html><head><style>p {{margin:0}}</style></head><body>{body}</body></html>"


def _ics(said: Said, uid: str) -> str:
    start = (said.when + timedelta(days=7)).replace(hour=15, minute=0, second=0)
    end = start + timedelta(hours=1)
    attendees = "".join(
        f"ATTENDEE;CN={p.name};RSVP=TRUE:mailto:{p.email}\r\n" for p in said.to
    )
    return (
        "BEGIN:VCALENDAR\r\nPRODID:-//Acme//Fake Calendar//EN\r\nVERSION:2.0\r\n"
        "METHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
        f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}\r\n"
        f"DTEND:{end.strftime('%Y%m%dT%H%M%SZ')}\r\n"
        f"SUMMARY:Quarterly review\\, {said.to[0].name if said.to else 'customer'}\r\n"
        "LOCATION:https://meet.acme.example/q-review\r\n"
        f"ORGANIZER;CN={said.sender.name}:mailto:{said.sender.email}\r\n"
        f"{attendees}UID:{uid}\r\n"
        "DESCRIPTION:Agenda:\\n1. Renewal\\n2. Roadmap\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


class Styles:
    """The MIME body of one message in one style."""

    def __init__(self, writer: Boundaries) -> None:
        self.w = writer

    def build(self, style: str, said: Said, new: str, quote: str, sig: str) -> Message:
        full = "\n\n".join(p for p in (new, f"-- \n{sig}" if sig else "", quote) if p)
        said.text = full
        build = getattr(self, f"_{style}")
        message: Message = build(said, new, quote, sig, full)
        return message

    def _plain(self, said: Said, new: str, quote: str, sig: str, full: str) -> Message:
        return m.text_part(full)

    def _alternative(
        self, said: Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        html = m.text_part(html_page(new, quote, sig), subtype="html", cte="base64")
        return m.multipart("alternative", self.w.boundary(), [m.text_part(full), html])

    def _html_only(
        self, said: Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        return m.text_part(html_page(new, quote, sig), subtype="html")

    def _latin1(self, said: Said, new: str, quote: str, sig: str, full: str) -> Message:
        # Labelled iso-8859-1 but written by Windows: curly quotes are cp1252 bytes.
        text = f"{full}\n\nMerci et à bientôt, “the café team”".replace("€", "EUR")
        data = text.encode("cp1252", errors="replace")
        return m.text_part(text, charset="iso-8859-1", data=data)

    def _cp1252(self, said: Said, new: str, quote: str, sig: str, full: str) -> Message:
        text = f"{full}\n\nPrices in € — “as agreed”."
        return m.text_part(text, charset="windows-1252", cte="base64")

    def _shift_jis(
        self, said: Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        text = f"{JAPANESE_LINE}\n\n{full}".replace("€", "EUR")
        said.text = text
        return m.text_part(text, charset="shift_jis", cte="base64")

    def _broken_charset(
        self, said: Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        # Declares UTF-8, sends Latin-1: "Grüße" arrives as invalid UTF-8.
        text = f"{full}\n\nGrüße aus München".replace("€", "EUR")
        return m.text_part(text, data=text.encode("latin-1", errors="replace"))

    def _unknown_charset(
        self, said: Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        return m.text_part(full, charset="x-evermuse-unknown", data=full.encode())

    def _flowed(self, said: Said, new: str, quote: str, sig: str, full: str) -> Message:
        lines = []
        for line in full.split("\n"):
            words, current = line.split(" "), ""
            for word in words:
                if current and len(current) + len(word) > 60:
                    lines.append(current + " ")
                    current = word
                else:
                    current = f"{current} {word}" if current else word
            lines.append(current)
        return m.text_part("\n".join(lines), extra="; format=flowed")

    def _outlook(
        self, said: Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        return m.text_part(full, cte="base64")

    def _attachment(
        self, said: Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        pdf = (
            b"%PDF-1.4\n% invented invoice\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
        )
        parts = [m.text_part(full), m.attachment(pdf, "application/pdf", "invoice.pdf")]
        return m.multipart("mixed", self.w.boundary(), parts)

    def _inline_image(
        self, said: Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        cid = f"logo.{self.w.counter}@acme.example"
        html = html_page(new, quote, sig).replace(
            "<body>", f'<body><img src="cid:{cid}" alt="Acme logo">'
        )
        related = m.multipart(
            "related",
            self.w.boundary(),
            [
                m.text_part(html, subtype="html"),
                m.attachment(
                    m.tiny_png(200, 30, 30),
                    "image/png",
                    "logo.png",
                    inline=True,
                    content_id=cid,
                ),
            ],
        )
        return m.multipart(
            "alternative", self.w.boundary(), [m.text_part(full), related]
        )

    def _forward_rfc822(
        self, said: Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        inner = m.text_part(
            "The export button does nothing in Safari.\n\nRegards,\nKim"
        )
        inner["From"] = m.address("Kim Park", "kim@partner.example")
        inner["To"] = m.address(said.sender.name, said.sender.email)
        inner["Subject"] = "Export broken"
        inner["Date"] = local_date(said.when - timedelta(days=2), said.sender)
        note = m.text_part(f"{full}\n\nForwarding the original report below.")
        return m.multipart("mixed", self.w.boundary(), [note, m.rfc822(inner)])

    def _forward_inline(
        self, said: Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        forwarded = (
            "---------- Forwarded message ---------\n"
            "From: Kim Park <kim@partner.example>\n"
            f"Date: {local_date(said.when - timedelta(days=1), said.sender)}\n"
            "Subject: Export broken\n\nThe export button does nothing in Safari."
        )
        return m.text_part(f"{full}\n\n{forwarded}")

    def _calendar(
        self, said: Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        ics = _ics(said, f"{self.w.rng.getrandbits(40):010x}@acme.example")
        alternative = m.multipart(
            "alternative",
            self.w.boundary(),
            [
                m.text_part(full),
                m.text_part(html_page(new, quote, sig), subtype="html"),
                m.text_part(ics, subtype="calendar", extra="; method=REQUEST"),
            ],
        )
        invite = m.attachment(ics.encode(), "application/ics", "invite.ics")
        return m.multipart("mixed", self.w.boundary(), [alternative, invite])
