"""The words of the generated workspace: people, customers, sentences, channels.

Names and sentences mix scripts and accents on purpose (Zoë, 李雷, Ørjan, شكرا, emoji
display names), because real workspaces do and encodings break on them.
"""

from __future__ import annotations

from evermuse_slack._config import ChannelType

__all__ = ["CHANNELS", "CUSTOMERS", "EXTERNAL", "INTERNAL", "REPLIES", "SENTENCES"]

INTERNAL = [
    ("Ana Lima", "ana", "ana"),
    ("Zoë Åkesson", "zoë", "zoe"),
    ("José Núñez", "José", "jose"),
    ("李雷", "Li Lei", "lilei"),
    ("Amélie Dubois", "", "amelie"),
    ("Ørjan Øvrebø", "ørjan", "orjan"),
    ("Priya Natarajan", "🚀 Priya", "priya"),
    ("Sam O'Neil", "sam", "sam"),
]
EXTERNAL = [("陈伟", "Chen Wei"), ("Olga Petrova", "olga"), ("Marcus Brown", "")]
CUSTOMERS = ["Acme GmbH", "Globex", "Initech", "Umbrella Ltd", "Soylent & Co", "Hooli"]
SENTENCES = [
    "Customer {c} reports the export button does nothing on Safari 17.",
    "Can someone look at ticket #{n}? {c} is waiting 🙏",
    "Feature request from {c}: dark mode for the dashboard ✨",
    "The CSV import chokes on names like Ørsted &amp; Søn again.",
    "谢谢! The Chinese locale looks right now.",
    "شكرا — the RTL layout is fixed in the preview build.",
    "{c} asks whether the API limit is per user or per workspace.",
    "Invoice totals are off by one cent for {c} &lt;rounding again&gt;.",
    "Onboarding call with {c} went well, they want SSO next quarter.",
    "Bug: emoji in file names (📎 plan.pdf) break the upload for {c}.",
    "Churn risk: {c} says the mobile app is too slow on Android.",
    "Straße, naïve café, résumé — search should match all of these.",
]
REPLIES = [
    "Looking into it now.",
    "I can reproduce it, filing a bug.",
    "Fixed in the next release 🎉",
    "They confirmed it works, thanks!",
    "Is there a workaround we can share?",
    "Same issue at {c}, +1.",
    "Merci, c'est réglé.",
    "Done ✅",
]
CHANNELS: list[tuple[str, ChannelType, int]] = [
    # name, kind, weight of new threads
    ("general", "public_channel", 15),
    ("support", "public_channel", 30),
    ("product-feedback", "public_channel", 20),
    ("random", "public_channel", 7),
    ("escalations", "private_channel", 8),
    ("ext-contoso", "public_channel", 15),
    ("old-project", "public_channel", 4),
    ("mpdm-ana--jose--evermuse-1", "mpim", 3),
    ("dm", "im", 2),
]
