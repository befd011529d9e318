import pytest
from evermuse_zoom import Turn, parse_vtt

ZOOM = """WEBVTT

1
00:00:01.110 --> 00:00:04.230
Ana Souza: Thanks for joining.

2
00:00:04.500 --> 00:00:06.000
Ana Souza: Can you see my screen?

3
00:00:06.200 --> 00:00:09.999
Jürgen Weiß: Ja, perfekt.
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            ZOOM,
            [
                Turn(
                    "Ana Souza", 1.11, 6.0, "Thanks for joining. Can you see my screen?"
                ),
                Turn("Jürgen Weiß", 6.2, 9.999, "Ja, perfekt."),
            ],
            id="zoom-format-merges-one-speaker",
        ),
        pytest.param(
            ZOOM.replace("\n", "\r\n"),
            [
                Turn(
                    "Ana Souza", 1.11, 6.0, "Thanks for joining. Can you see my screen?"
                ),
                Turn("Jürgen Weiß", 6.2, 9.999, "Ja, perfekt."),
            ],
            id="crlf",
        ),
        pytest.param(
            "\ufeffWEBVTT\n\n00:01.000 --> 00:02.500\nBob: hi\n",
            [Turn("Bob", 1.0, 2.5, "hi")],
            id="bom-and-minutes-only",
        ),
        pytest.param(
            "WEBVTT\n\n1\n00:00:01,000 --> 00:00:02,000 align:start position:10%\n"
            "A: x\n",
            [Turn("A", 1.0, 2.0, "x")],
            id="comma-decimals-and-cue-settings",
        ),
        pytest.param(
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n"
            "<v Dr. Emma Brown>Hello <b>there</b></v>\n",
            [Turn("Dr. Emma Brown", 1.0, 2.0, "Hello there")],
            id="voice-tag",
        ),
        pytest.param(
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nno speaker here\n\n"
            "00:00:03.000 --> 00:00:04.000\nnor here\n",
            [Turn(None, 1.0, 2.0, "no speaker here"), Turn(None, 3.0, 4.0, "nor here")],
            id="unattributed-cues-stay-apart",
        ),
        pytest.param(
            "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nA: one\n"
            "2\n00:00:03.000 --> 00:00:04.000\nB: two\n",
            [Turn("A", 1.0, 2.0, "one"), Turn("B", 3.0, 4.0, "two")],
            id="no-blank-line-between-cues",
        ),
        pytest.param(
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nA: first line\nsecond line\n",
            [Turn("A", 1.0, 2.0, "first line second line")],
            id="multi-line-cue",
        ),
        pytest.param(
            "WEBVTT\n\nNOTE a comment\nspanning lines\n\n"
            "STYLE\n::cue { color: red }\n\n00:00:05.000 --> 00:00:06.000\nA: kept\n",
            [Turn("A", 5.0, 6.0, "kept")],
            id="note-and-style-blocks",
        ),
        pytest.param(
            "WEBVTT\n00:00:01.000 --> 00:00:02.000\nA: header without blank line\n",
            [Turn("A", 1.0, 2.0, "header without blank line")],
            id="header-runs-into-first-cue",
        ),
        pytest.param(
            "WEBVTT\n\n00:00:03.000 --> 00:00:01.000\nA: end before start\n",
            [Turn("A", 3.0, 3.0, "end before start")],
            id="end-clamped-to-start",
        ),
        pytest.param(
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nThe time is 10:30: late\n",
            [Turn(None, 1.0, 2.0, "The time is 10:30: late")],
            id="colon-inside-a-time-is-no-speaker",
        ),
        pytest.param(
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nAgenda: pricing\n",
            [Turn("Agenda", 1.0, 2.0, "pricing")],
            id="known-limit-a-label-reads-as-a-speaker",
        ),
        pytest.param(
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nAT&amp;T: Q&amp;A time\n",
            [Turn("AT&T", 1.0, 2.0, "Q&A time")],
            id="entities",
        ),
        pytest.param(
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n   \n\n", [], id="empty-cue"
        ),
        pytest.param("", [], id="empty-file"),
        pytest.param("not a vtt file at all", [], id="garbage"),
        pytest.param(
            "WEBVTT\n\n101:00:00.000 --> 101:00:01.000\nA: long call\n",
            [Turn("A", 363600.0, 363601.0, "long call")],
            id="hours-beyond-two-digits",
        ),
    ],
)
def test_turns(text, expected):
    assert list(parse_vtt(text).turns) == expected


def test_unreadable_timing_skips_only_that_cue():
    text = (
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nA: fine\n\n"
        "2\n00:00:xx.000 --> 00:00:04.000\nB: lost\nstill lost\n\n"
        "3\n00:00:05.000 --> 00:00:06.000\nC: fine too\n"
    )
    transcript = parse_vtt(text)
    assert [t.speaker for t in transcript.turns] == ["A", "C"]
    assert (transcript.cues, transcript.skipped) == (2, 1)


def test_seconds_out_of_range_are_unreadable():
    transcript = parse_vtt("WEBVTT\n\n00:61:00.000 --> 00:62:00.000\nA: no\n")
    assert transcript.turns == ()
    assert transcript.skipped == 1


def test_turn_json_has_the_four_fields():
    turn = parse_vtt(ZOOM).turns[0]
    assert turn.to_json() == {
        "speaker": "Ana Souza",
        "start": 1.11,
        "end": 6.0,
        "text": "Thanks for joining. Can you see my screen?",
    }
