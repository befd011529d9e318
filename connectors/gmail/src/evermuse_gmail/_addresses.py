"""Address headers (From, To, Cc) to names, addresses and Evermuse participants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses

from evermuse_connectors.envelope import Participant, ParticipantType, Role

__all__ = ["Address", "domain_of", "parse_addresses", "participant", "role_of"]

_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+$")
_BOTS = re.compile(
    r"^(?:no-?reply|do-?not-?reply|notifications?|alerts?|bounces?|"
    r"mailer|automated|calendar-notification)\b",
    re.IGNORECASE,
)
_SYSTEM = re.compile(r"^(?:mailer-daemon|postmaster)$", re.IGNORECASE)


@dataclass(frozen=True)
class Address:
    name: str | None
    email: str | None

    def to_json(self) -> dict[str, str | None]:
        return {"name": self.name, "email": self.email}

    @property
    def key(self) -> str | None:
        """The participant id: the address, else the name, else nothing."""
        if self.email:
            return self.email
        return f"name:{self.name}"[:256] if self.name else None


def parse_addresses(value: str | None) -> list[Address]:
    """Every mailbox in an address header; groups and junk are skipped, not fatal."""
    if not value:
        return []
    found: list[Address] = []
    for raw_name, raw_address in getaddresses([value]):
        name = " ".join(raw_name.split()).strip("'\" ") or None
        address = raw_address.strip().strip("<>").lower()
        email = address if _EMAIL.match(address) and len(address) <= 320 else None
        if email is None and address and not name:
            name = address  # "bob" alone: keep what was written
        if name is None and email is None:
            continue
        found.append(Address(name=name[:256] if name else None, email=email))
    return found


def domain_of(email: str | None) -> str:
    return email.rsplit("@", 1)[1] if email and "@" in email else ""


def role_of(address: Address, internal_domains: list[str]) -> Role:
    domain = domain_of(address.email)
    if not domain:
        return Role.UNKNOWN
    for internal in internal_domains:
        if domain == internal or domain.endswith(f".{internal}"):
            return Role.INTERNAL
    return Role.EXTERNAL


def _kind(address: Address, role: Role) -> ParticipantType:
    local = address.email.split("@", 1)[0] if address.email else ""
    if _SYSTEM.match(local):
        return ParticipantType.SYSTEM
    if _BOTS.match(local):
        return ParticipantType.BOT
    if role is Role.INTERNAL:
        return ParticipantType.USER
    if role is Role.EXTERNAL:
        return ParticipantType.CONTACT
    return ParticipantType.UNKNOWN


def participant(address: Address, internal_domains: list[str]) -> Participant | None:
    key = address.key
    if key is None:
        return None
    role = role_of(address, internal_domains)
    return Participant(
        id=key,
        role=role,
        name=address.name,
        email=address.email,
        type=_kind(address, role),
    )
