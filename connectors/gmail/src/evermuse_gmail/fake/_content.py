"""The people and words of the generated sample workspace (all invented)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALICE",
    "BOB",
    "CUSTOMERS",
    "DOMAIN",
    "NOISE",
    "SCENARIOS",
    "SUPPORT",
    "Person",
    "Scenario",
]

DOMAIN = "acme.example"


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    utc_offset_hours: int = 0

    @property
    def first(self) -> str:
        return self.name.split()[0]


SUPPORT = Person("Acme Support", f"support@{DOMAIN}", 0)
ALICE = Person("Alice Martin", f"alice@{DOMAIN}", 1)
BOB = Person("Bob Okafor", f"bob@{DOMAIN}", -5)

CUSTOMERS = (
    Person("José Núñez", "jose@cliente.example", -3),
    Person("Zoë Müller", "zoe@kunde.example", 1),
    Person("山田 太郎", "taro@kaisha.example", 9),
    Person("Priya Raman", "priya@globex.example", 5),
    Person("Liam O'Brien", "liam@initech.example", 0),
    Person("Chloé Dubois", "chloe@societe.example", 1),
    Person("Mateo Rossi", "mateo@azienda.example", 1),
    Person("Grace Lee", "grace@umbrella.example", -8),
)


@dataclass(frozen=True)
class Scenario:
    subject: str
    # Alternating turns, customer first; {first}, {ref} and {amount} are filled in.
    turns: tuple[str, ...]


SCENARIOS = (
    Scenario(
        "Invoice {ref} charges us twice",
        (
            "Hello,\n\nour invoice {ref} charges the annual plan twice. Please "
            "refund the duplicate charge of €{amount}.\n\nCall me on +1 415 555 0134 "
            "if anything is unclear.",
            "Hi {first},\n\nsorry about that. I have asked billing to refund the "
            "duplicate charge; it should arrive within five business days.",
            "Thanks. A week later the refund is still not there. When will it come?",
            "Hi {first},\n\nthe refund went out today with reference RF-{ref}.",
            "Received, thank you!",
        ),
    ),
    Scenario(
        "Feature request: export reports to CSV",
        (
            "Hi team,\n\nwe need to export the monthly report to CSV for our finance "
            "people. Copying tables by hand takes hours every month.",
            "Hi {first},\n\nthanks for the suggestion, I have passed it to the "
            "product team. Which columns matter most to you?",
            "Date, account, amount and the cost centre. Excel-friendly dates please.",
        ),
    ),
    Scenario(
        "Login fails after the update",
        (
            "Since this morning's update nobody on our team can log in. The page "
            'says "session expired" right after the password step.',
            "Hi {first},\n\ncould you tell me which browser you use and whether "
            "clearing cookies helps?",
            "Chrome 122 on Windows. Clearing cookies does not help, it is blocking "
            "forty people.",
            "Hi {first},\n\nwe found the bug and rolled out a fix. Please try again.",
            "Works again. Please tell us next time before such an update.",
        ),
    ),
    Scenario(
        "Question about renewal pricing",
        (
            "Hello,\n\nour contract renews next month. Is the 20% discount from "
            "last year still valid? Otherwise we may have to look elsewhere.",
            "Hi {first},\n\nthe discount can be extended for a two-year renewal. "
            "Shall I send an offer?",
        ),
    ),
    Scenario(
        "Dashboard slow since Monday",
        (
            "The dashboard takes more than 30 seconds to load since Monday. It used "
            "to be instant. This is hurting our daily stand-up.",
            "Hi {first},\n\nthanks for reporting it. Our engineers see the slowdown "
            "too and are on it.",
            "Still slow today. Any news?",
        ),
    ),
    Scenario(
        "Quarterly review meeting",
        (
            "Hi,\n\ncan we schedule our quarterly review? Any afternoon next week "
            "works for us.",
            "Hi {first},\n\nI have sent an invite for Tuesday 15:00 UTC.",
            "Accepted, see you then.",
        ),
    ),
)

# Mail that is not a conversation with a customer; excluded by the default query.
NOISE = (
    (
        "promotions",
        "deals@shop.example",
        "Deals Weekly",
        "50% off everything this week",
    ),
    ("social", "notify@social.example", "Social Network", "You have 3 new connections"),
)

JAPANESE_LINE = "お世話になっております。請求書の件でご連絡いたしました。"
SUPPORT_SIGNATURE = "Acme Support\nacme.example | +1 555 0100 2030"
MOBILE_FOOTER = "Sent from my iPhone"
