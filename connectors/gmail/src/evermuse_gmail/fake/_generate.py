"""A deterministic sample workspace: conversations delivered to several mailboxes.

Conversations between customers and support, some with Alice in CC (from the first
message, or joining later), one internal Alice-Bob thread a day, promotions and
social noise, spam, a draft reply, and a message without a Message-ID. Each
message's body uses one of the styles in ``_STYLES`` in turn, so every few days of
data hold HTML-only mail, odd charsets, quoted-printable and base64, forwards,
calendar invites, inline images and attachments. Same seed and ``now``: same bytes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.message import Message
from email.utils import format_datetime

from evermuse_gmail.fake import _mime as m
from evermuse_gmail.fake._content import (
    ALICE,
    BOB,
    CUSTOMERS,
    JAPANESE_LINE,
    MOBILE_FOOTER,
    NOISE,
    SCENARIOS,
    SUPPORT,
    SUPPORT_SIGNATURE,
    Person,
    Scenario,
)

__all__ = ["Delivery", "Workspace", "generate"]

_STYLES = (
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


@dataclass(frozen=True)
class Delivery:
    """One message as one mailbox holds it."""

    mailbox: str
    conversation: str
    internal_ms: int
    raw: bytes
    labels: tuple[str, ...]


@dataclass
class Workspace:
    deliveries: list[Delivery] = field(default_factory=list)
    users: tuple[str, ...] = (SUPPORT.email, ALICE.email, BOB.email)


@dataclass
class _Said:
    sender: Person
    to: list[Person]
    cc: list[Person]
    when: datetime
    message_id: str | None
    subject: str
    text: str  # the plain text as sent, quotes included (the next reply quotes it)


class _Writer:
    """Builds one conversation's messages and delivers them."""

    def __init__(self, rng: random.Random, workspace: Workspace, now: datetime) -> None:
        self.rng = rng
        self.workspace = workspace
        self.now = now
        self.counter = 0

    def boundary(self) -> str:
        return f"=_evm_{self.rng.getrandbits(64):016x}"

    def message_id(self, sender: Person) -> str:
        domain = sender.email.split("@", 1)[1]
        return f"<{self.rng.getrandbits(56):014x}.{self.counter}@{domain}>"

    def style(self) -> str:
        self.counter += 1
        return _STYLES[self.counter % len(_STYLES)]

    def deliver(
        self,
        conversation: str,
        said: _Said,
        message: Message,
        *,
        labels: tuple[str, ...] = ("CATEGORY_PERSONAL",),
        only: tuple[str, ...] | None = None,
    ) -> None:
        raw = m.serialise(message)
        people = [said.sender, *said.to, *said.cc]
        mailboxes = [p.email for p in people if p.email in self.workspace.users]
        for mailbox in dict.fromkeys(only or tuple(mailboxes)):
            own = mailbox == said.sender.email
            base: tuple[str, ...] = ("SENT",) if own else ("INBOX", "UNREAD")
            if "DRAFT" in labels or "SPAM" in labels:
                base = ()
            # Each mailbox records its own receipt time: seconds apart.
            delay = 0 if own else self.rng.randint(400, 9000)
            millis = int(said.when.timestamp() * 1000) + delay
            stamped = f"Delivered-To: {mailbox}\r\n".encode() + raw
            self.workspace.deliveries.append(
                Delivery(mailbox, conversation, millis, stamped, (*base, *labels))
            )


def _local(moment: datetime, person: Person) -> str:
    zone = timezone(timedelta(hours=person.utc_offset_hours))
    return format_datetime(moment.astimezone(zone))


def _quote_gmail(previous: _Said) -> str:
    lines = "\n".join(
        f"> {line}" if line else ">" for line in previous.text.split("\n")
    )
    when = previous.when.strftime("%a, %b %d, %Y at %H:%M")
    return f"On {when} {previous.sender.name} <{previous.sender.email}> wrote:\n{lines}"


def _quote_outlook(previous: _Said) -> str:
    to = "; ".join(p.name for p in previous.to)
    when = previous.when.strftime("%A, %B %d, %Y %H:%M")
    return (
        "-----Original Message-----\n"
        f"From: {previous.sender.name} <{previous.sender.email}>\n"
        f"Sent: {when}\nTo: {to}\nSubject: {previous.subject}\n\n{previous.text}"
    )


def _html(text: str, quoted: str = "", signature: str = "") -> str:
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


def _ics(said: _Said, uid: str) -> str:
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


class _Bodies:
    """The MIME body of one message in one style."""

    def __init__(self, writer: _Writer) -> None:
        self.w = writer

    def build(self, style: str, said: _Said, new: str, quote: str, sig: str) -> Message:
        full = "\n\n".join(p for p in (new, f"-- \n{sig}" if sig else "", quote) if p)
        said.text = full
        build = getattr(self, f"_{style}")
        message: Message = build(said, new, quote, sig, full)
        return message

    def _plain(self, said: _Said, new: str, quote: str, sig: str, full: str) -> Message:
        return m.text_part(full)

    def _alternative(
        self, said: _Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        html = m.text_part(_html(new, quote, sig), subtype="html", cte="base64")
        return m.multipart("alternative", self.w.boundary(), [m.text_part(full), html])

    def _html_only(
        self, said: _Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        return m.text_part(_html(new, quote, sig), subtype="html")

    def _latin1(
        self, said: _Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        # Labelled iso-8859-1 but written by Windows: curly quotes are cp1252 bytes.
        text = f"{full}\n\nMerci et à bientôt, “the café team”".replace("€", "EUR")
        data = text.encode("cp1252", errors="replace")
        return m.text_part(text, charset="iso-8859-1", data=data)

    def _cp1252(
        self, said: _Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        text = f"{full}\n\nPrices in € — “as agreed”."
        return m.text_part(text, charset="windows-1252", cte="base64")

    def _shift_jis(
        self, said: _Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        text = f"{JAPANESE_LINE}\n\n{full}".replace("€", "EUR")
        said.text = text
        return m.text_part(text, charset="shift_jis", cte="base64")

    def _broken_charset(
        self, said: _Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        # Declares UTF-8, sends Latin-1: "Grüße" arrives as invalid UTF-8.
        text = f"{full}\n\nGrüße aus München".replace("€", "EUR")
        return m.text_part(text, data=text.encode("latin-1", errors="replace"))

    def _unknown_charset(
        self, said: _Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        return m.text_part(full, charset="x-evermuse-unknown", data=full.encode())

    def _flowed(
        self, said: _Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
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
        self, said: _Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        return m.text_part(full, cte="base64")

    def _attachment(
        self, said: _Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        pdf = (
            b"%PDF-1.4\n% invented invoice\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
        )
        parts = [m.text_part(full), m.attachment(pdf, "application/pdf", "invoice.pdf")]
        return m.multipart("mixed", self.w.boundary(), parts)

    def _inline_image(
        self, said: _Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        cid = f"logo.{self.w.counter}@acme.example"
        html = _html(new, quote, sig).replace(
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
        self, said: _Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        inner = m.text_part(
            "The export button does nothing in Safari.\n\nRegards,\nKim"
        )
        inner["From"] = m.address("Kim Park", "kim@partner.example")
        inner["To"] = m.address(said.sender.name, said.sender.email)
        inner["Subject"] = "Export broken"
        inner["Date"] = _local(said.when - timedelta(days=2), said.sender)
        note = m.text_part(f"{full}\n\nForwarding the original report below.")
        return m.multipart("mixed", self.w.boundary(), [note, m.rfc822(inner)])

    def _forward_inline(
        self, said: _Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        forwarded = (
            "---------- Forwarded message ---------\n"
            "From: Kim Park <kim@partner.example>\n"
            f"Date: {_local(said.when - timedelta(days=1), said.sender)}\n"
            "Subject: Export broken\n\nThe export button does nothing in Safari."
        )
        return m.text_part(f"{full}\n\n{forwarded}")

    def _calendar(
        self, said: _Said, new: str, quote: str, sig: str, full: str
    ) -> Message:
        ics = _ics(said, f"{self.w.rng.getrandbits(40):010x}@acme.example")
        alternative = m.multipart(
            "alternative",
            self.w.boundary(),
            [
                m.text_part(full),
                m.text_part(_html(new, quote, sig), subtype="html"),
                m.text_part(ics, subtype="calendar", extra="; method=REQUEST"),
            ],
        )
        invite = m.attachment(ics.encode(), "application/ics", "invite.ics")
        return m.multipart("mixed", self.w.boundary(), [alternative, invite])


def _headers(message: Message, said: _Said, previous: list[_Said]) -> None:
    message["From"] = m.address(said.sender.name, said.sender.email)
    message["To"] = ", ".join(m.address(p.name, p.email) for p in said.to)
    if said.cc:
        message["Cc"] = ", ".join(m.address(p.name, p.email) for p in said.cc)
    message["Subject"] = m.encoded_subject(said.subject)
    message["Date"] = _local(said.when, said.sender)
    if said.message_id:
        message["Message-ID"] = said.message_id
    known = [p.message_id for p in previous if p.message_id]
    if known:
        message["In-Reply-To"] = known[-1]
        message["References"] = " ".join(known)
    message["MIME-Version"] = "1.0"


def _conversation(
    w: _Writer, key: str, scenario: Scenario, customer: Person, start: datetime
) -> None:
    rng = w.rng
    cc_mode = rng.choices(["none", "shared", "late"], weights=[5, 4, 1])[0]
    ref, amount = f"INV-{rng.randint(1000, 9999)}", rng.randint(20, 900)
    turns = scenario.turns[: rng.randint(1, len(scenario.turns))]
    said_so_far: list[_Said] = []
    when = start
    bodies = _Bodies(w)
    for index, template in enumerate(turns):
        if when >= w.now - timedelta(minutes=1):
            break
        from_customer = index % 2 == 0
        sender = customer if from_customer else SUPPORT
        to = [SUPPORT] if from_customer else [customer]
        cc = [ALICE] if cc_mode == "shared" or (cc_mode == "late" and index > 0) else []
        subject = (
            scenario.subject.format(ref=ref)
            if index == 0
            else f"Re: {scenario.subject.format(ref=ref)}"
        )
        said = _Said(sender, to, cc, when, w.message_id(sender), subject, "")
        style = w.style()
        if style == "calendar" and from_customer:
            style = "plain"
        new = template.format(first=customer.first, ref=ref, amount=amount)
        previous = said_so_far[-1] if said_so_far else None
        quote = ""
        if previous is not None:
            quote = (
                _quote_outlook(previous)
                if style == "outlook"
                else _quote_gmail(previous)
            )
        sig = (
            SUPPORT_SIGNATURE
            if not from_customer
            else (MOBILE_FOOTER if rng.random() < 0.3 else "")
        )
        message = bodies.build(style, said, new, quote, sig)
        _headers(message, said, said_so_far)
        w.deliver(key, said, message)
        said_so_far.append(said)
        gap = (
            rng.choice([20, 45, 90, 180, 240])
            if rng.random() < 0.8
            else rng.randint(1200, 1800)
        )
        when = when + timedelta(minutes=gap)


def _internal(w: _Writer, key: str, start: datetime) -> None:
    said = _Said(
        ALICE, [BOB], [], start, w.message_id(ALICE), "Notes for the renewal call", ""
    )
    message = _Bodies(w).build(
        "plain", said, "Bob, can you prepare the usage numbers?", "", ""
    )
    _headers(message, said, [])
    w.deliver(key, said, message)


def _noise(w: _Writer, key: str, start: datetime, kind: int) -> None:
    category, email, name, subject = NOISE[kind % len(NOISE)]
    sender = Person(name, email)
    said = _Said(sender, [SUPPORT], [], start, w.message_id(sender), subject, "")
    message = m.text_part(_html(subject), subtype="html")
    _headers(message, said, [])
    message["List-Unsubscribe"] = f"<mailto:unsubscribe@{email.split('@')[1]}>"
    w.deliver(key, said, message, labels=(f"CATEGORY_{category.upper()}",))


def _oddities(w: _Writer, day: int, start: datetime) -> None:
    """Spam, a draft reply, a message without Message-ID, a bogus Date header."""
    spammer = Person("Prize Team", "winner@lottery.example")
    said = _Said(spammer, [SUPPORT], [], start, w.message_id(spammer), "You won!", "")
    message = m.text_part("Claim your prize now.")
    _headers(message, said, [])
    w.deliver(f"spam-{day}", said, message, labels=("SPAM",))

    customer = CUSTOMERS[day % len(CUSTOMERS)]
    later = start + timedelta(minutes=30)
    said = _Said(customer, [SUPPORT], [], later, None, "no id here", "")
    message = m.text_part(
        "Our mail server forgets Message-IDs. Can you still read this?"
    )
    _headers(message, said, [])
    if day % 2:
        message.replace_header("Date", "sometime last week")  # not a date at all
    w.deliver(f"noid-{day}", said, message)

    draft = _Said(
        SUPPORT,
        [customer],
        [],
        later + timedelta(minutes=5),
        w.message_id(SUPPORT),
        "Re: no id here",
        "",
    )
    message = m.text_part("Draft: we are looking into it (not sent yet).")
    _headers(message, draft, [])
    w.deliver(f"noid-{day}", draft, message, labels=("DRAFT",), only=(SUPPORT.email,))


def _days(now: datetime, days: int) -> Iterator[tuple[int, datetime]]:
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for back in range(days, -1, -1):
        yield back, today - timedelta(days=back)


def generate(
    *, seed: int, now: datetime, days: int = 14, conversations_per_day: int = 6
) -> Workspace:
    """The sample workspace: ``days`` days before ``now`` plus today until ``now``."""
    rng = random.Random(seed)  # noqa: S311 (sample data, not secrets)
    workspace = Workspace()
    w = _Writer(rng, workspace, now)
    for back, day in _days(now, days):
        for n in range(conversations_per_day):
            start = day + timedelta(minutes=rng.randint(6 * 60, 20 * 60))
            scenario = SCENARIOS[rng.randrange(len(SCENARIOS))]
            customer = CUSTOMERS[rng.randrange(len(CUSTOMERS))]
            _conversation(w, f"c{back}-{n}", scenario, customer, start)
        offsets = [rng.randint(7 * 60, 19 * 60) for _ in range(3)]
        if day + timedelta(minutes=max(offsets)) < now:
            _internal(w, f"internal-{back}", day + timedelta(minutes=offsets[0]))
            _noise(w, f"noise-{back}", day + timedelta(minutes=offsets[1]), back)
            _oddities(w, back, day + timedelta(minutes=offsets[2]))
    workspace.deliveries.sort(key=lambda d: (d.mailbox, d.internal_ms))
    return workspace
