"""A deterministic sample workspace: conversations delivered to several mailboxes.

Conversations between customers and support, some with Alice in CC (from the first
message, or joining later), one internal Alice-Bob thread a day, promotions and
social noise, spam, a draft reply, and a message without a Message-ID. Each
message's body uses the next style of ``_styles.STYLES``, so every few days of
data hold HTML-only mail, odd charsets, quoted-printable and base64, forwards,
calendar invites, inline images and attachments. Same seed and ``now``: same bytes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message

from evermuse_gmail.fake import _mime as m
from evermuse_gmail.fake._content import (
    ALICE,
    BOB,
    CUSTOMERS,
    MOBILE_FOOTER,
    NOISE,
    SCENARIOS,
    SUPPORT,
    SUPPORT_SIGNATURE,
    Person,
    Scenario,
)
from evermuse_gmail.fake._styles import STYLES, Said, Styles, html_page, local_date

__all__ = ["Delivery", "Workspace", "generate"]


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
        return STYLES[self.counter % len(STYLES)]

    def deliver(
        self,
        conversation: str,
        said: Said,
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


def _quote_gmail(previous: Said) -> str:
    lines = "\n".join(
        f"> {line}" if line else ">" for line in previous.text.split("\n")
    )
    when = previous.when.strftime("%a, %b %d, %Y at %H:%M")
    return f"On {when} {previous.sender.name} <{previous.sender.email}> wrote:\n{lines}"


def _quote_outlook(previous: Said) -> str:
    to = "; ".join(p.name for p in previous.to)
    when = previous.when.strftime("%A, %B %d, %Y %H:%M")
    return (
        "-----Original Message-----\n"
        f"From: {previous.sender.name} <{previous.sender.email}>\n"
        f"Sent: {when}\nTo: {to}\nSubject: {previous.subject}\n\n{previous.text}"
    )


def _headers(message: Message, said: Said, previous: list[Said]) -> None:
    message["From"] = m.address(said.sender.name, said.sender.email)
    message["To"] = ", ".join(m.address(p.name, p.email) for p in said.to)
    if said.cc:
        message["Cc"] = ", ".join(m.address(p.name, p.email) for p in said.cc)
    message["Subject"] = m.encoded_subject(said.subject)
    message["Date"] = local_date(said.when, said.sender)
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
    said_so_far: list[Said] = []
    when = start
    bodies = Styles(w)
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
        said = Said(sender, to, cc, when, w.message_id(sender), subject, "")
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
    said = Said(
        ALICE, [BOB], [], start, w.message_id(ALICE), "Notes for the renewal call", ""
    )
    message = Styles(w).build(
        "plain", said, "Bob, can you prepare the usage numbers?", "", ""
    )
    _headers(message, said, [])
    w.deliver(key, said, message)


def _noise(w: _Writer, key: str, start: datetime, kind: int) -> None:
    category, email, name, subject = NOISE[kind % len(NOISE)]
    sender = Person(name, email)
    said = Said(sender, [SUPPORT], [], start, w.message_id(sender), subject, "")
    message = m.text_part(html_page(subject), subtype="html")
    _headers(message, said, [])
    message["List-Unsubscribe"] = f"<mailto:unsubscribe@{email.split('@')[1]}>"
    w.deliver(key, said, message, labels=(f"CATEGORY_{category.upper()}",))


def _oddities(w: _Writer, day: int, start: datetime) -> None:
    """Spam, a draft reply, a message without Message-ID, a bogus Date header."""
    spammer = Person("Prize Team", "winner@lottery.example")
    said = Said(spammer, [SUPPORT], [], start, w.message_id(spammer), "You won!", "")
    message = m.text_part("Claim your prize now.")
    _headers(message, said, [])
    w.deliver(f"spam-{day}", said, message, labels=("SPAM",))

    customer = CUSTOMERS[day % len(CUSTOMERS)]
    later = start + timedelta(minutes=30)
    said = Said(customer, [SUPPORT], [], later, None, "no id here", "")
    message = m.text_part(
        "Our mail server forgets Message-IDs. Can you still read this?"
    )
    _headers(message, said, [])
    if day % 2:
        message.replace_header("Date", "sometime last week")  # not a date at all
    w.deliver(f"noid-{day}", said, message)

    draft = Said(
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
