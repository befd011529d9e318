"""normalise on hand-made raw items: pure, no server."""

import copy
import logging

import pytest
from evermuse_zoom import ZoomConfig, ZoomConnector

from evermuse_connectors.connector import NormaliseContext, RawItem, Routing
from evermuse_connectors.envelope import AttachmentType, Record, RecordType, Role
from evermuse_connectors.errors import RecordError

CONNECTOR = ZoomConnector()
CTX = NormaliseContext(
    "zoom-test", Routing(product_id="p", project_ids=["j"], tags=["calls"])
)
TOKEN = "eyJdownload.SECRET-TOKEN"
UUID = "/ajXp112QmuoKj4854875=="
VTT = (
    "WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.500\n"
    "Ana Souza: Hi, call me on +1 415 555 0134.\n"
)


def media(file_type, **extra):
    base = {
        "id": f"{file_type.lower()}-1",
        "meeting_id": UUID,
        "recording_start": "2026-03-09T14:00:30Z",
        "recording_end": "2026-03-09T14:40:00Z",
        "file_type": file_type,
        "file_extension": file_type,
        "file_size": 1234,
        "play_url": "https://zoom.us/rec/play/abc",
        "download_url": f"https://zoom.us/rec/download/{file_type.lower()}",
        "status": "completed",
        "recording_type": "audio_only" if file_type == "M4A" else "gallery_view",
    }
    return {**base, **extra}


def raw(**changes):
    data = {
        "meeting": {
            "uuid": UUID,
            "id": 81234567890,
            "host_id": "host-1",
            "topic": "Renewal — Café Müller",
            "start_time": "2026-03-09T14:00:00Z",
            "duration": 40,
            "timezone": "Europe/Berlin",
            "type": 2,
            "total_size": 2468,
            "recording_files": [
                media("MP4"),
                media("M4A"),
                {
                    "id": "tr-1",
                    "file_type": "TRANSCRIPT",
                    "file_extension": "VTT",
                    "status": "completed",
                    "download_url": "https://zoom.us/rec/download/t",
                },
                # Zoom's CC and TB entries lack id, status, size, type and play_url.
                {
                    "meeting_id": UUID,
                    "file_type": "CC",
                    "file_extension": "VTT",
                    "recording_start": "2026-03-09T14:00:30Z",
                    "download_url": "https://zoom.us/rec/download/cc",
                },
                {"meeting_id": UUID, "file_type": "TB", "file_extension": "JSON"},
            ],
        },
        "download_access_token": TOKEN,
        "participants": [
            {
                "id": "host-1",
                "name": "Ana Souza",
                "user_email": "ana@northwind.example",
                "internal_user": True,
            },
            {
                "id": "",
                "name": "Jürgen Weiß",
                "user_email": "juergen@cafe.example",
                "internal_user": False,
            },
            {
                "id": "",
                "name": "Jürgen Weiß",
                "user_email": "juergen@cafe.example",
                "internal_user": False,
                "join_time": "2026-03-09T14:20:00Z",
            },
            {"id": "", "name": "iPhone", "user_email": ""},
            {"id": "", "name": "", "user_email": ""},
        ],
        "transcripts": {"tr-1": VTT},
        "listed_for": None,
    }
    data.update(changes)
    return RawItem(id=f"meeting:{UUID}", kind="meeting", data=data)


def run(item, **settings):
    return CONNECTOR.normalise(item, ZoomConfig(**settings), CTX)


def by_type(records, kind):
    return [r for r in records if r.type is kind]


def test_a_call_and_its_transcription():
    records = run(raw())
    assert [r.type for r in records] == [RecordType.CALL, RecordType.CALL_TRANSCRIPTION]
    call, transcription = records
    assert call.vendor_ids == {"meeting_uuid": UUID}
    assert call.event_at_text == "2026-03-09T14:00:00Z"
    assert transcription.vendor_ids == {
        "meeting_uuid": UUID,
        "transcript_file_id": "tr-1",
    }
    assert transcription.event_at == call.event_at
    assert transcription.thread_id == call.thread_id == UUID
    assert call.tags == ["calls", "zoom"]
    assert call.product_id == "p"
    assert call.project_ids == ["j"]


def test_call_data_has_topic_duration_host_and_file_metadata_without_urls():
    call = run(raw())[0]
    assert call.data["topic"] == "Renewal — Café Müller"
    assert call.data["duration_minutes"] == 40
    assert call.data["host"] == {"id": "host-1"}
    files = call.data["recording_files"]
    assert [f["file_type"] for f in files] == ["MP4", "M4A", "TRANSCRIPT", "CC", "TB"]
    assert files[3] == {
        "file_type": "CC",
        "file_extension": "VTT",
        "recording_start": "2026-03-09T14:00:30Z",
    }
    assert "url" not in str(files)


def test_attachments_audio_first_with_token_bearing_urls():
    attachments = run(raw())[0].attachments
    assert [a.type for a in attachments] == [AttachmentType.AUDIO, AttachmentType.VIDEO]
    audio, video = attachments
    assert audio.mime_type == "audio/mp4"
    assert video.mime_type == "video/mp4"
    assert audio.size == 1234
    assert audio.filename == "Renewal-Café-Müller_audio_only_20260309T140030Z.m4a"
    assert audio.vendor_url == f"https://zoom.us/rec/download/m4a?access_token={TOKEN}"
    assert TOKEN not in repr(audio)
    assert TOKEN not in repr(run(raw())[0])


def test_download_url_that_already_has_a_query_keeps_it():
    item = raw()
    item.data["meeting"]["recording_files"][1]["download_url"] += "?type=fast"
    audio = run(item)[0].attachments[0]
    assert (
        audio.vendor_url
        == f"https://zoom.us/rec/download/m4a?type=fast&access_token={TOKEN}"
    )


def test_plain_http_download_url_is_attached_without_the_token(caplog):
    item = raw()
    item.data["meeting"]["recording_files"][1]["download_url"] = (
        "http://evil.example/rec/x"
    )
    with caplog.at_level(logging.WARNING):
        audio = run(item)[0].attachments[0]
    assert audio.vendor_url is None
    assert TOKEN not in caplog.text
    assert "evil" not in caplog.text


def test_a_url_over_the_envelope_limit_is_left_out():
    long_token = "x" * 2100
    attachments = run(raw(download_access_token=long_token))[0].attachments
    assert [a.vendor_url for a in attachments] == [None, None]


def test_no_token_means_no_vendor_url():
    assert all(
        a.vendor_url is None
        for a in run(raw(download_access_token=None))[0].attachments
    )


def test_at_most_ten_attachments_audio_kept_first():
    files = [
        media("MP4", id=f"v{n}", recording_start=f"2026-03-09T14:{n:02d}:00Z")
        for n in range(12)
    ]
    files.append(media("M4A", recording_start="2026-03-09T14:59:00Z"))
    item = raw()
    item.data["meeting"]["recording_files"] = files
    attachments = run(item)[0].attachments
    assert len(attachments) == 10
    assert attachments[0].type is AttachmentType.AUDIO
    assert all(a.type is AttachmentType.VIDEO for a in attachments[1:])


def test_unfinished_files_are_not_attached():
    item = raw()
    item.data["meeting"]["recording_files"][0]["status"] = "processing"
    assert [a.type for a in run(item)[0].attachments] == [AttachmentType.AUDIO]


def test_participants_deduplicated_with_roles():
    people = run(raw())[0].participants
    assert [(p.id, p.role, p.name) for p in people] == [
        ("ana@northwind.example", Role.INTERNAL, "Ana Souza"),
        ("juergen@cafe.example", Role.EXTERNAL, "Jürgen Weiß"),
        ("name:iPhone", Role.UNKNOWN, "iPhone"),
    ]
    assert people[0].type.value == "workspace_member"


def test_internal_domains_decide_when_zoom_has_no_flag():
    item = raw(
        participants=[
            {"name": "Zoë", "user_email": "zoe@Northwind.example"},
            {"name": "Guest", "user_email": "guest@other.example"},
            {"name": "Phone", "user_email": ""},
        ]
    )
    people = run(item, internal_domains=["northwind.example"])[0].participants
    assert [p.role for p in people] == [
        Role.INTERNAL,
        Role.INTERNAL,
        Role.EXTERNAL,
        Role.UNKNOWN,
    ]
    # Without the setting, an email alone says nothing about the role.
    people = run(item)[0].participants
    assert [p.role for p in people] == [
        Role.INTERNAL,
        Role.UNKNOWN,
        Role.UNKNOWN,
        Role.UNKNOWN,
    ]


def test_a_login_id_and_an_email_of_one_person_merge():
    item = raw(
        participants=[
            {"id": "u-9", "name": "Kenji", "user_email": ""},
            {"id": "u-9", "name": "Kenji W.", "user_email": "kenji@sakura.example"},
        ]
    )
    people = run(item)[0].participants
    assert [(p.id, p.name, p.email) for p in people][1:] == [
        ("kenji@sakura.example", "Kenji", "kenji@sakura.example")
    ]


def test_unavailable_participants_leave_the_host():
    call = run(raw(participants=None))[0]
    assert [(p.id, p.role) for p in call.participants] == [("host-1", Role.INTERNAL)]
    assert call.data["participants_available"] is False


def test_host_email_from_a_per_user_listing():
    item = raw(
        participants=None, listed_for={"id": "host-1", "email": "ana@northwind.example"}
    )
    call = run(item)[0]
    assert call.data["host"] == {"id": "host-1", "email": "ana@northwind.example"}
    assert call.participants[0].email == "ana@northwind.example"


def test_pii_flags():
    call, transcription = run(raw())
    assert call.pii.contains_email is True  # participants' emails
    assert call.pii.contains_phone is False
    assert transcription.pii.contains_phone is True  # said in the call
    quiet = run(raw(participants=[], transcripts={}))[0]
    assert (quiet.pii.contains_email, quiet.pii.contains_phone) == (False, False)


@pytest.mark.parametrize(
    ("topic", "phone"),
    [
        ("Call +49 30 1234567", True),
        ("Dial (415) 555-0134", True),
        ("Q1 review 2026-03-09 14:00", False),
        ("Meeting 81234567890", False),
        ("Budget 1.200.000", False),
    ],
)
def test_phone_detection(topic, phone):
    item = raw(participants=[], transcripts={})
    item.data["meeting"]["topic"] = topic
    assert run(item)[0].pii.contains_phone is phone


def test_transcription_turns():
    transcription = run(raw())[1]
    assert transcription.data["turns"] == [
        {
            "speaker": "Ana Souza",
            "start": 1.0,
            "end": 3.5,
            "text": "Hi, call me on +1 415 555 0134.",
        }
    ]
    assert transcription.data["speakers"] == ["Ana Souza"]


def test_transcript_without_speech_gives_no_record():
    records = run(raw(transcripts={"tr-1": "WEBVTT\n\n"}))
    assert [r.type for r in records] == [RecordType.CALL]


def test_malformed_items_raise_record_error_naming_the_field():
    with pytest.raises(RecordError, match=r"meeting\.start_time.*'soon'"):
        CONNECTOR.normalise(CONNECTOR.malformed_item(), ZoomConfig(), CTX)
    with pytest.raises(RecordError, match=r"meeting\.uuid"):
        run(raw(meeting={"start_time": "2026-03-09T14:00:00Z"}))
    with pytest.raises(RecordError, match=r"meeting: expected an object"):
        run(raw(meeting="oops"))
    with pytest.raises(RecordError, match=r"transcripts\.'tr-1'"):
        run(raw(transcripts={"tr-1": 42}))
    with pytest.raises(RecordError, match="kind"):
        run(RawItem(id="x", kind="channel", data={}))


def test_messy_fields_are_tolerated():
    item = raw()
    meeting = item.data["meeting"]
    del meeting["topic"], meeting["duration"]
    meeting["recording_files"].append("not an object")
    meeting["recording_files"][0]["file_size"] = "big"
    records = run(item)
    assert records[0].data["topic"] == ""
    assert records[0].attachments[1].size is None
    assert records[0].attachments[1].filename.startswith("zoom-call_")


def test_normalise_is_pure_and_does_not_touch_the_item():
    item = raw()
    before = copy.deepcopy(item.data)
    first = [r.to_bytes() for r in run(item)]
    assert [r.to_bytes() for r in run(item)] == first
    assert item.data == before
    assert all(Record.from_json(r.to_json()) for r in run(item))
