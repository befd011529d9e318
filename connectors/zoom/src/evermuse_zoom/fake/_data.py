"""A generated Zoom account for the fake server: deterministic from a seed.

Every day of the ``days`` before ``now`` holds a few meeting instances of the
account's users, each with cloud recordings (video, audio, sometimes a transcript,
chat, closed captions, a timeline), participants from inside and outside the
company, and the quirks of real data: UUIDs that start with ``/`` or contain ``//``,
file entries without ids or sizes, guests without emails, dial-in callers, people
who rejoin, a deleted user's empty entry, unicode names, a meeting that crosses
midnight, and a meeting whose participant list Zoom no longer has.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "FakeAccount",
    "FakeFile",
    "FakeMeeting",
    "FakeOptions",
    "FakeUser",
    "generate",
]

COMPANY_DOMAIN = "northwind.example"
_USERS = [
    ("Ana", "Souza", "ana.souza"),
    ("Zoë", "Ångström", "zoe.angstrom"),
    ("José", "Núñez", "jose.nunez"),
    ("Priya", "Raghunathan", "priya.r"),
    ("李", "雷", "li.lei"),
    ("Anna-Lena", "Müller-Lüdenscheidt", "anna-lena.mueller"),
    ("Oluwaseun", "Adébáyọ̀", "seun.adebayo"),
    ("Mateus", "Ferreira", "mateus.ferreira"),
]
_CUSTOMERS = [
    ("Acme Robotics", "acme-robotics.example", ["Wile Coyote", "Road Runner"]),
    ("Café Müller GmbH", "cafe-mueller.example", ["Jürgen Weiß", "Dörte Blum"]),
    ("Zürich Assurance", "zurich-assurance.example", ["Élodie Favre", "Marco Rossi"]),
    ("株式会社サクラ", "sakura-kk.example", ["佐藤 花子", "Kenji Watanabe"]),
    ("Nordlys AS", "nordlys.example", ["Åse Nordmann", "Ola Nordmann"]),
    ("Olá Pagamentos", "ola-pagamentos.example", ["Conceição Lima", "João Pires"]),
]
_TOPICS = [
    "{customer}: renewal call",
    "Discovery call — {customer}",
    "{customer} × Northwind: onboarding",
    "Customer interview: {customer}",
    "Demo for {customer}",
    "Support escalation with {customer}",
]
_RECURRING = ("Weekly pipeline review", 81234567890)
_PHRASES = [
    "Thanks for joining, everyone.",
    "Can you see my screen?",
    "The export to CSV keeps timing out for our finance team.",
    "We'd love a way to tag calls by region.",
    "Pricing for the enterprise tier is the main blocker.",
    "Let's circle back on the SSO integration next week.",
    "Honestly the onboarding was smoother than we expected.",
    "Our admins can't find the audit log.",
    "Could you send the recording afterwards?",
    "Das Dashboard lädt bei uns sehr langsam.",
    "Est-ce que l'API gère les webhooks ?",
    "ダッシュボードの読み込みが遅いです。",
    "Sounds good — I'll follow up by email.",
]
_PII_LINES = [
    "You can reach me directly at +44 20 7946 0958.",
    "Send the contract to {email}, please.",
]


@dataclass(frozen=True)
class FakeOptions:
    """Knobs for the generated account (the defaults make a small demo account)."""

    days: int = 14
    meetings_per_day: tuple[int, int] = (3, 5)
    users: int = 6
    externals_per_meeting: tuple[int, int] = (1, 4)
    transcript_ratio: float = 0.6
    media_scale: float = 1.0


@dataclass
class FakeUser:
    id: str
    first_name: str
    last_name: str
    email: str
    status: str = "active"
    timezone: str = "Europe/Berlin"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "display_name": f"{self.first_name} {self.last_name}",
            "email": self.email,
            "type": 2,
            "timezone": self.timezone,
            "verified": 1,
            "status": self.status,
            "role_id": "2",
        }


@dataclass
class FakeFile:
    key: str  # the path part of its download URL
    file_type: str
    file_extension: str
    start: datetime
    end: datetime
    id: str | None
    recording_type: str | None
    size: int
    text: bytes | None = None  # the content of text files; media is generated

    @property
    def complete_metadata(self) -> bool:
        # Zoom omits id, status, file_size, recording_type and play_url for these.
        return self.file_type not in ("CC", "TB", "TIMELINE")

    def body(self) -> bytes:
        if self.text is not None:
            return self.text
        head = b"\x00\x00\x00\x20ftyp" + (
            b"M4A " if self.file_type == "M4A" else b"isom"
        )
        rest = random.Random(self.key).randbytes(  # noqa: S311 (not crypto)
            max(0, self.size - len(head))
        )
        return (head + rest)[: self.size]

    def to_json(self, base_url: str, meeting_uuid: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "meeting_id": meeting_uuid,
            "recording_start": _iso(self.start),
            "recording_end": _iso(self.end),
            "file_type": self.file_type,
            "file_extension": self.file_extension,
            "download_url": f"{base_url}/rec/download/{self.key}",
        }
        if self.complete_metadata:
            entry.update(
                id=self.id,
                file_size=self.size,
                play_url=f"{base_url}/rec/play/{self.key}",
                status="completed",
                recording_type=self.recording_type,
            )
        return entry


@dataclass
class FakeMeeting:
    uuid: str
    number: int
    host: FakeUser
    topic: str
    start: datetime
    duration: int
    files: list[FakeFile] = field(default_factory=list)
    participants: list[dict[str, Any]] = field(default_factory=list)
    participants_gone: bool = False
    type: int = 2

    def to_json(self, base_url: str, account_id: str) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "id": self.number,
            "account_id": account_id,
            "host_id": self.host.id,
            "topic": self.topic,
            "type": self.type,
            "start_time": _iso(self.start),
            "timezone": self.host.timezone,
            "duration": self.duration,
            "total_size": sum(f.size for f in self.files if f.complete_metadata),
            "recording_count": len(self.files),
            "share_url": f"{base_url}/rec/share/{self.uuid[-8:].strip('=/')}",
            "recording_files": [f.to_json(base_url, self.uuid) for f in self.files],
        }


@dataclass
class FakeAccount:
    id: str
    users: list[FakeUser]
    meetings: list[FakeMeeting]  # newest first, as Zoom lists them
    files: dict[str, tuple[FakeMeeting, FakeFile]]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _token(rng: random.Random, length: int = 22) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(rng.choice(alphabet) for _ in range(length))


def _uuid(rng: random.Random, quirk: int) -> str:
    value = base64.b64encode(rng.randbytes(16)).decode()
    if quirk == 0:
        return "/" + value[1:]  # must be encoded twice in a path
    if quirk == 1:
        return value[:7] + "//" + value[9:]  # likewise
    return value


def generate(
    seed: int, now: datetime, options: FakeOptions | None = None
) -> FakeAccount:
    """The account: same seed, now and options, same account (byte for byte)."""
    options = options or FakeOptions()
    rng = random.Random(seed)  # noqa: S311 (fake data, not cryptography)
    users = [
        FakeUser(_token(rng), first, last, f"{local}@{COMPANY_DOMAIN}")
        for first, last, local in (_USERS * 4)[: options.users]
    ]
    users[-1].status = "inactive"  # deactivated, yet their recordings remain
    account = FakeAccount(_token(rng), users, [], {})
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for back in range(options.days, -1, -1):
        day = today - timedelta(days=back)
        count = rng.randint(*options.meetings_per_day)
        for index in range(count):
            meeting = _meeting(rng, account, day, index, count, back, options)
            if meeting.start + timedelta(minutes=meeting.duration) < now:
                account.meetings.append(meeting)
    account.meetings.sort(key=lambda m: m.start, reverse=True)
    for meeting in account.meetings:
        for file in meeting.files:
            account.files[file.key] = (meeting, file)
    return account


def _meeting(
    rng: random.Random,
    account: FakeAccount,
    day: datetime,
    index: int,
    count: int,
    back: int,
    options: FakeOptions,
) -> FakeMeeting:
    host = rng.choice(account.users)
    company, domain, contacts = rng.choice(_CUSTOMERS)
    if index == count - 1:
        start = day + timedelta(
            hours=23, minutes=rng.choice((40, 45, 50))
        )  # crosses midnight
    else:
        start = day + timedelta(
            hours=8 + (index * 9) // count, minutes=5 * rng.randint(0, 11)
        )
    if index == 2 and back % 3 == 0:
        topic, number = _RECURRING[0], _RECURRING[1]
    else:
        topic = rng.choice(_TOPICS).format(customer=company)
        number = rng.randint(10**9, 10**11 - 1)
    if index == 1 and back % 4 == 1:
        topic += " (dial-in +1 646 555 0192, notes to ops@northwind.example)"
    meeting = FakeMeeting(
        uuid=_uuid(rng, index),
        number=number,
        host=host,
        topic=topic,
        start=start,
        duration=rng.randint(15, 70),
        participants_gone=(index == 2 and back % 4 == 2),
    )
    meeting.participants = _participants(
        rng, meeting, account, domain, contacts, options
    )
    meeting.files = _files(rng, meeting, options)
    return meeting


def _join(
    rng: random.Random,
    meeting: FakeMeeting,
    name: str,
    email: str,
    zoom_id: str,
    internal: bool,
) -> dict[str, Any]:
    joined = meeting.start + timedelta(seconds=rng.randint(0, 240))
    left = meeting.start + timedelta(
        minutes=meeting.duration, seconds=-rng.randint(0, 120)
    )
    return {
        "id": zoom_id,
        "user_id": str(16778240 + rng.randint(0, 10**6)),
        "name": name,
        "user_email": email,
        "join_time": _iso(joined),
        "leave_time": _iso(max(left, joined)),
        "duration": max(0, int((left - joined).total_seconds())),
        "registrant_id": "",
        "failover": False,
        "status": "in_meeting",
        "internal_user": internal,
    }


def _participants(
    rng: random.Random,
    meeting: FakeMeeting,
    account: FakeAccount,
    domain: str,
    contacts: list[str],
    options: FakeOptions,
) -> list[dict[str, Any]]:
    host = meeting.host
    joins = [
        _join(
            rng,
            meeting,
            f"{host.first_name} {host.last_name}",
            host.email,
            host.id,
            True,
        )
    ]
    for colleague in rng.sample(account.users, k=rng.randint(0, 2)):
        if colleague is not host:
            name = f"{colleague.first_name} {colleague.last_name}"
            joins.append(_join(rng, meeting, name, colleague.email, colleague.id, True))
    for n in range(rng.randint(*options.externals_per_meeting)):
        name = contacts[n % len(contacts)] + ("" if n < len(contacts) else f" {n}")
        local = name.split()[0].lower().encode("ascii", "ignore").decode() or "guest"
        # Zoom hides most guests' emails; some signed in to their own Zoom account.
        email = f"{local}{n}@{domain}" if rng.random() < 0.6 else ""
        zoom_id = _token(rng) if rng.random() < 0.3 else ""
        joins.append(_join(rng, meeting, name, email, zoom_id, False))
    if rng.random() < 0.3:
        joins.append(_join(rng, meeting, "+1 646 555 0147", "", "", False))  # dial-in
    if rng.random() < 0.3 and len(joins) > 1:
        joins.append({**joins[-1], "join_time": joins[-1]["leave_time"]})  # rejoined
    if rng.random() < 0.15:
        joins.append(_join(rng, meeting, "", "", "", False))  # a deleted user
    return joins


def _text_file(
    rng: random.Random,
    meeting: FakeMeeting,
    file_type: str,
    ext: str,
    rtype: str | None,
    text: str,
) -> FakeFile:
    end = meeting.start + timedelta(minutes=meeting.duration)
    body = text.encode()
    return FakeFile(
        _token(rng, 40),
        file_type,
        ext,
        meeting.start,
        end,
        _file_id(rng),
        rtype,
        len(body),
        body,
    )


def _file_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _files(
    rng: random.Random, meeting: FakeMeeting, options: FakeOptions
) -> list[FakeFile]:
    files: list[FakeFile] = []
    segments = 2 if rng.random() < 0.1 else 1  # the recording was stopped and resumed
    span = timedelta(minutes=meeting.duration) / segments
    for segment in range(segments):
        start = meeting.start + timedelta(seconds=30) + span * segment
        end = start + span - timedelta(seconds=30)
        views = ["shared_screen_with_speaker_view"] + (
            ["gallery_view"] if rng.random() < 0.3 else []
        )
        for view in views:
            size = int(rng.randint(20_000, 60_000) * options.media_scale)
            files.append(
                FakeFile(
                    _token(rng, 40), "MP4", "MP4", start, end, _file_id(rng), view, size
                )
            )
        size = int(rng.randint(4_000, 16_000) * options.media_scale)
        files.append(
            FakeFile(
                _token(rng, 40),
                "M4A",
                "M4A",
                start,
                end,
                _file_id(rng),
                "audio_only",
                size,
            )
        )
    if rng.random() < options.transcript_ratio:
        files.append(
            _text_file(
                rng,
                meeting,
                "TRANSCRIPT",
                "VTT",
                "audio_transcript",
                _vtt(rng, meeting),
            )
        )
    if rng.random() < 0.3:
        chat = (
            "10:02:11\t From Ana Souza to Everyone:\tslides: https://example.com/deck\n"
        )
        files.append(_text_file(rng, meeting, "CHAT", "TXT", "chat_file", chat))
    if rng.random() < 0.2:
        files.append(
            _text_file(
                rng,
                meeting,
                "CC",
                "VTT",
                None,
                "WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.000\nHello\n",
            )
        )
    if rng.random() < 0.15:
        files.append(
            _text_file(rng, meeting, "TIMELINE", "JSON", None, '{"timeline": []}')
        )
    if rng.random() < 0.1:
        files.append(_text_file(rng, meeting, "TB", "JSON", None, '{"tb": []}'))
    return files


def _vtt(rng: random.Random, meeting: FakeMeeting) -> str:
    speakers = [
        p["name"]
        for p in meeting.participants
        if p["name"] and not p["name"].startswith("+")
    ]
    speakers = list(dict.fromkeys(speakers))
    lines = ["WEBVTT", ""]
    at = 1.0
    for number in range(1, rng.randint(6, 14) + 1):
        length = rng.uniform(1.5, 7.0)
        speaker = rng.choice(speakers)
        text = rng.choice(_PHRASES)
        if rng.random() < 0.08:
            text = rng.choice(_PII_LINES).format(
                email=f"{speaker.split()[0].lower()}@example.org"
            )
        spoken = text if rng.random() < 0.1 else f"{speaker}: {text}"  # unattributed
        lines += [str(number), f"{_stamp(at)} --> {_stamp(at + length)}", spoken, ""]
        at += length + rng.uniform(0.1, 2.0)
    return "\n".join(lines)


def _stamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"
