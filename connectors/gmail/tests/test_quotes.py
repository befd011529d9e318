"""Separating new text from quoted history, signatures and inline forwards."""

from __future__ import annotations

import pytest
from evermuse_gmail._html import html_to_text
from evermuse_gmail._quotes import split_text

SIG = "-- "  # RFC 3676 signature separator, trailing space included

GMAIL_REPLY = """Thanks, the refund arrived.

On Mon, Mar 9, 2026 at 10:00 AM Acme Support <support@acme.example> wrote:
> Hi José,
>
> the refund went out today.
>
> On Sun, Mar 8, 2026 at 9:00 AM José Núñez <jose@cliente.example> wrote:
>> Our invoice charges us twice!"""

WRAPPED_ATTRIBUTION = """Short answer: yes.

On Mon, Mar 9, 2026 at 10:00 AM Somebody With A Long Name <
somebody.with.a.long.name@example.com> wrote:
> Can we renew?"""

OUTLOOK = """We still see the error.

Best,
Zoë

From: Acme Support <support@acme.example>
Sent: Monday, March 9, 2026 10:00
To: Zoë Müller <zoe@kunde.example>
Subject: RE: Login fails

Please clear your cookies."""

ORIGINAL_MESSAGE = """Any news?

-----Original Message-----
From: Acme Support
Please wait."""

INLINE_REPLIES = f"""On Mon, Mar 9, 2026 at 10:00 AM Bob <bob@x.example> wrote:
> Which browser?
Chrome 122.
> Does clearing cookies help?
No, it does not.

{SIG}
Priya"""

SIGNATURE_THEN_QUOTE = f"""Fixed now.

{SIG}
Acme Support
+1 555 0100 2030

On Sun, Mar 8, 2026 at 9:00 AM Liam <liam@x.example> wrote:
> It is broken."""

MOBILE = """Sounds good.

Sent from my iPhone

> On 9 Mar 2026, at 10:00, Bob <bob@x.example> wrote:
>
> Tuesday?"""

FORWARD = """FYI, see below.

---------- Forwarded message ---------
From: Kim Park <kim@partner.example>
Subject: Export broken

The export button does nothing."""

FRENCH = """Merci !

Le lun. 9 mars 2026 à 10:00, Support <support@acme.example> a écrit :
> C'est réglé."""


@pytest.mark.parametrize(
    ("text", "new", "quoted_starts", "signature", "forwarded_starts"),
    [
        (GMAIL_REPLY, "Thanks, the refund arrived.", "On Mon, Mar 9", "", ""),
        (WRAPPED_ATTRIBUTION, "Short answer: yes.", "On Mon, Mar 9", "", ""),
        (
            OUTLOOK,
            "We still see the error.\n\nBest,\nZoë",
            "From: Acme Support",
            "",
            "",
        ),
        (ORIGINAL_MESSAGE, "Any news?", "-----Original Message-----", "", ""),
        (INLINE_REPLIES, "Chrome 122.\nNo, it does not.", "On Mon, Mar 9", "Priya", ""),
        (
            SIGNATURE_THEN_QUOTE,
            "Fixed now.",
            "On Sun, Mar 8",
            "Acme Support\n+1 555 0100 2030",
            "",
        ),
        (MOBILE, "Sounds good.", "> On 9 Mar 2026", "Sent from my iPhone", ""),
        (FORWARD, "FYI, see below.", "", "", "---------- Forwarded message"),
        (FRENCH, "Merci !", "Le lun. 9 mars", "", ""),
        ("Just one line.", "Just one line.", "", "", ""),
        ("", "", "", "", ""),
    ],
)
def test_split_text(
    text: str, new: str, quoted_starts: str, signature: str, forwarded_starts: str
) -> None:
    split = split_text(text)
    assert split.new == new
    assert split.quoted.startswith(quoted_starts)
    assert bool(split.quoted) is bool(quoted_starts)
    assert split.signature == signature
    assert split.forwarded.startswith(forwarded_starts)
    assert bool(split.forwarded) is bool(forwarded_starts)


def test_a_complaint_quoted_five_times_is_new_only_once() -> None:
    complaint = "Your invoice INV-1234 charges us twice."
    texts, previous = [], ""
    for n in range(6):
        body = complaint if n == 0 else f"Reply number {n}."
        if previous:
            quoted = "\n".join(f"> {line}" for line in previous.split("\n"))
            attribution = f"On Mon, Mar 9, 2026 at 10:0{n} AM X <x@y.example> wrote:"
            body += f"\n\n{attribution}\n{quoted}"
        texts.append(body)
        previous = body
    assert sum(t.count(complaint) for t in texts) == 6
    assert sum(split_text(t).new.count(complaint) for t in texts) == 1


def test_quote_markers_mid_sentence_are_not_history() -> None:
    text = (
        "We compared it with the previous version and found:\n"
        "- it is slower\n- On some days it wrote: nothing"
    )
    assert split_text(text).new == text


def test_html_quote_and_signature_containers_are_kept_apart() -> None:
    html = (
        '<div dir="ltr"><p>It works now, thanks!</p><div>-- <br>'
        '<div class="gmail_signature">Zoë<br>Kunde GmbH</div></div></div>'
        '<div class="gmail_quote"><div class="gmail_attr">'
        "On Mon, Mar 9, 2026 Support wrote:</div>"
        '<blockquote class="gmail_quote">Please retry.'
        '<div class="gmail_signature">Acme</div></blockquote></div>'
    )
    out = html_to_text(html)
    assert out.text.splitlines()[0] == "It works now, thanks!"
    assert "Please retry." not in out.text
    assert out.signature == "Zoë\nKunde GmbH"
    assert out.quoted.startswith("On Mon, Mar 9, 2026 Support wrote:")
    assert "Please retry." in out.quoted
    assert "Acme" in out.quoted
    # The whole rendering keeps all of it, in order.
    assert out.whole.index("It works now") < out.whole.index("Please retry.")
    assert "Kunde GmbH" in out.whole


@pytest.mark.parametrize(
    "html",
    [
        '<p>Yes.</p><blockquote type="cite">old text</blockquote>',
        '<p>Yes.</p><div id="divRplyFwdMsg">From: someone</div><div>old text</div>',
        '<p>Yes.</p><div class="moz-cite-prefix">On Monday X wrote:</div>'
        "<blockquote>old text</blockquote>",
    ],
)
def test_other_clients_html_quotes(html: str) -> None:
    out = html_to_text(html)
    assert out.text == "Yes."
    assert "old text" in out.quoted


@pytest.mark.parametrize(
    "html", ["", "<p>unclosed <b>bold", "<<<>>>", "\x00\x01 binary"]
)
def test_broken_html_never_raises(html: str) -> None:
    assert isinstance(html_to_text(html).text, str)
