"""A forgiving WebVTT reader for Zoom transcripts: cues in, speaker turns out.

Zoom writes one cue per phrase, the speaker as a ``Name: text`` prefix::

    WEBVTT

    1
    00:00:01.110 --> 00:00:04.230
    Ana Souza: Thanks for joining.

Real files stray from that: a byte-order mark, CRLF line ends, cue settings after
the timing, ``<v Name>`` voice tags, MM:SS timestamps, comma decimals, cues with no
blank line between them, lines with no speaker. Each of those is read; a cue whose
timing cannot be read is counted in ``skipped`` and left out, never fatal.
Consecutive cues of one speaker are merged into one turn.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

__all__ = ["Transcript", "Turn", "parse_vtt"]

_TIMESTAMP = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?$")
_TIMING = re.compile(r"^(\S+)\s+-->\s+(\S+)")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
# "Name: text" where the name is short, has a letter, and no sentence punctuation;
# a ": " later in a sentence ("Agenda: pricing") can still be mistaken for a name.
_SPEAKER = re.compile(r"^([^:?!;<>]{1,80}?):\s+(.+)$", re.DOTALL)
_BLOCK_STARTS = ("WEBVTT", "NOTE", "STYLE", "REGION")


@dataclass(frozen=True)
class Turn:
    """What one speaker said without interruption; times in seconds from the start."""

    speaker: str | None
    start: float
    end: float
    text: str

    def to_json(self) -> dict[str, object]:
        return {
            "speaker": self.speaker,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


@dataclass(frozen=True)
class Transcript:
    turns: tuple[Turn, ...]
    cues: int
    skipped: int


@dataclass
class _Cue:
    start: float
    end: float
    lines: list[str] = field(default_factory=list)


def _seconds(value: str) -> float | None:
    match = _TIMESTAMP.match(value)
    if not match:
        return None
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        return None
    millis = int((fraction or "0").ljust(3, "0"))
    total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return round(total + millis / 1000, 3)


def _timing(line: str) -> tuple[float, float] | None:
    match = _TIMING.match(line)
    if not match:
        return None
    start, end = _seconds(match.group(1)), _seconds(match.group(2))
    if start is None or end is None:
        return None
    return start, max(start, end)


def _speaker_and_text(lines: list[str]) -> tuple[str | None, str]:
    raw = " ".join(lines)
    voice = _VOICE.search(raw)
    text = html.unescape(_TAG.sub("", raw))
    text = " ".join(text.split())
    if voice:
        return " ".join(voice.group(1).split()) or None, text
    match = _SPEAKER.match(text)
    if match and any(ch.isalpha() for ch in match.group(1)):
        return match.group(1).strip(), match.group(2).strip()
    return None, text


def _cues(text: str) -> tuple[list[_Cue], int]:
    lines = text.replace("\ufeff", "").replace("\0", "").splitlines()
    cues: list[_Cue] = []
    current: _Cue | None = None
    skipping = False
    skipped = 0
    for raw in lines:
        line = raw.strip()
        if not line:
            current, skipping = None, False
            continue
        timing = _timing(line) if "-->" in line else None
        if skipping and timing is None:
            # Inside a header, NOTE or STYLE block; a readable timing line ends it
            # even without the blank line the format asks for.
            continue
        if current is None and timing is None and line.startswith(_BLOCK_STARTS):
            skipping = True
            continue
        skipping = False
        if timing is not None:
            if current is not None and current.lines and current.lines[-1].isdigit():
                # No blank line before this cue: the line above was its number.
                current.lines.pop()
            current = _Cue(*timing)
            cues.append(current)
            continue
        if "-->" in line and current is None:
            # A timing line that cannot be read: the whole cue is lost.
            skipped += 1
            skipping = True
            continue
        if current is not None:
            current.lines.append(line)
        # A line outside any cue is a cue number or stray text: nothing to keep.
    return cues, skipped


def parse_vtt(text: str) -> Transcript:
    """The speaker turns of a WebVTT transcript, however messy the file."""
    cues, skipped = _cues(text)
    turns: list[Turn] = []
    for cue in cues:
        speaker, spoken = _speaker_and_text(cue.lines)
        if not spoken:
            continue
        last = turns[-1] if turns else None
        if last is not None and speaker is not None and last.speaker == speaker:
            turns[-1] = Turn(
                speaker, last.start, max(last.end, cue.end), f"{last.text} {spoken}"
            )
        else:
            turns.append(Turn(speaker, cue.start, cue.end, spoken))
    return Transcript(tuple(turns), cues=len(cues), skipped=skipped)
