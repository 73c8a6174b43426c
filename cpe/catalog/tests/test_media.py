"""Reading a video's length from its bytes, and serving lesson files with HTTP Range."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db.models.fields.files import FieldFile
from django.test import RequestFactory

from cpe.catalog.media import (
    MediaError,
    mp4_duration_seconds,
    parse_range,
    serve_course_file,
    video_duration_seconds,
)
from cpe.catalog.models import Lesson, course_media_storage

DEMO_MEDIA = Path(__file__).resolve().parents[1] / "demo_media"


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mvhd(timescale: int, duration: int, version: int = 0) -> bytes:
    if version == 1:
        body = struct.pack(">QQIQ", 0, 0, timescale, duration)
    else:
        body = struct.pack(">IIII", 0, 0, timescale, duration)
    return box(b"mvhd", bytes([version, 0, 0, 0]) + body + b"\0" * 80)


FTYP = box(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41")


def test_it_reads_the_length_of_every_demo_video():
    videos = sorted(DEMO_MEDIA.glob("*.mp4"))
    assert len(videos) >= 14
    for video in videos:
        with video.open("rb") as handle:
            assert mp4_duration_seconds(handle) == pytest.approx(6.0, abs=0.1), video.name


def test_the_demo_videos_stay_small():
    assert sum(v.stat().st_size for v in DEMO_MEDIA.glob("*.mp4")) < 2 * 1024 * 1024


def test_it_finds_the_movie_header_after_the_media_data():
    data = FTYP + box(b"mdat", b"\0" * 5000) + box(b"moov", mvhd(1000, 93_500))
    assert mp4_duration_seconds(io.BytesIO(data)) == 93.5


def test_it_reads_a_64_bit_header_and_a_64_bit_box_size():
    large_mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + 10) + b"\0" * 10
    data = FTYP + large_mdat + box(b"moov", mvhd(90_000, 90_000 * 3600 * 5, version=1))
    assert mp4_duration_seconds(io.BytesIO(data)) == 5 * 3600


def test_a_fragmented_file_gives_its_length_in_the_movie_extends_header():
    mehd = box(b"mehd", bytes(4) + struct.pack(">I", 12_000))
    data = FTYP + box(b"moov", mvhd(1000, 0) + box(b"mvex", mehd))
    assert mp4_duration_seconds(io.BytesIO(data)) == 12


def test_whole_seconds_are_rounded_down_so_a_lesson_never_claims_more_than_it_holds():
    data = FTYP + box(b"moov", mvhd(1000, 59_999))
    assert video_duration_seconds(io.BytesIO(data)) == 59


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4 not a video at all",
        b"",
        FTYP + box(b"mdat", b"\0" * 100),  # no movie header
        FTYP + box(b"moov", mvhd(1000, 5000))[:40],  # cut short
        FTYP + struct.pack(">I4s", 4, b"moov"),  # a box smaller than its own header
        FTYP + box(b"moov", mvhd(0, 5000)),  # no time scale
        FTYP + box(b"moov", mvhd(1000, 0)),  # no length anywhere
    ],
)
def test_it_refuses_files_it_cannot_read_a_length_from(data):
    with pytest.raises(MediaError):
        mp4_duration_seconds(io.BytesIO(data))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-200", (800, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=1000-", False),
        ("bytes=-0", False),
        ("bytes=5-2", None),
        ("bytes=0-1,5-9", None),
        ("items=0-9", None),
        ("bytes=-", None),
    ],
)
def test_range_headers_are_read_as_rfc_9110_says(header, expected):
    assert parse_range(header, 1000) == expected


@pytest.fixture
def stored_video(settings) -> FieldFile:
    settings.COURSE_MEDIA_STREAM = True
    content = bytes(range(256)) * 40  # 10,240 bytes we can recognise by offset
    name = course_media_storage().save("lessons/test/clip.mp4", ContentFile(content))
    return FieldFile(instance=None, field=Lesson._meta.get_field("video"), name=name)


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_whole_file_is_served_with_its_length_and_range_support(db, stored_video):
    response = serve_course_file(RequestFactory().get("/"), stored_video)
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == "10240"
    assert response["Content-Type"] == "video/mp4"
    assert response["Cache-Control"].startswith("private")
    assert _body(response) == bytes(range(256)) * 40


def test_a_range_request_gets_exactly_those_bytes(db, stored_video):
    request = RequestFactory().get("/", HTTP_RANGE="bytes=256-511")
    response = serve_course_file(request, stored_video)
    assert response.status_code == 206
    assert response["Content-Range"] == "bytes 256-511/10240"
    assert response["Content-Length"] == "256"
    assert _body(response) == bytes(range(256))


def test_an_open_ended_and_a_suffix_range_reach_the_end_of_the_file(db, stored_video):
    tail = serve_course_file(RequestFactory().get("/", HTTP_RANGE="bytes=10000-"), stored_video)
    assert tail.status_code == 206
    assert tail["Content-Range"] == "bytes 10000-10239/10240"
    assert _body(tail) == (bytes(range(256)) * 40)[10000:]
    suffix = serve_course_file(RequestFactory().get("/", HTTP_RANGE="bytes=-16"), stored_video)
    assert suffix["Content-Range"] == "bytes 10224-10239/10240"
    assert _body(suffix) == bytes(range(240, 256))


def test_a_range_beyond_the_end_is_refused_with_416_and_the_size(db, stored_video):
    response = serve_course_file(RequestFactory().get("/", HTTP_RANGE="bytes=20000-"), stored_video)
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */10240"


def test_a_range_we_do_not_handle_is_ignored_and_the_whole_file_sent(db, stored_video):
    request = RequestFactory().get("/", HTTP_RANGE="bytes=0-1,4-5")
    response = serve_course_file(request, stored_video)
    assert response.status_code == 200
    assert response["Content-Length"] == "10240"


def test_with_streaming_off_it_redirects_to_the_storage_url(db, stored_video, settings):
    settings.COURSE_MEDIA_STREAM = False
    response = serve_course_file(RequestFactory().get("/"), stored_video)
    assert response.status_code == 302
    assert response["Location"] == stored_video.storage.url(stored_video.name)


class SignedUrlStorage(Storage):
    """Stands in for django-storages' S3 backend: only its URL matters here."""

    def url(self, name: str | None) -> str:
        return f"https://media.example.com/{name}?X-Amz-Expires=600&X-Amz-Signature=abc"


def test_object_storage_is_never_streamed_by_the_app_even_in_development(db, stored_video):
    stored_video.storage = SignedUrlStorage()
    response = serve_course_file(RequestFactory().get("/"), stored_video)
    assert response.status_code == 302
    assert response["Location"].startswith("https://media.example.com/lessons/test/clip")
    assert "X-Amz-Signature" in response["Location"]


def test_a_missing_file_is_not_found(db, settings):
    from django.http import Http404

    settings.COURSE_MEDIA_STREAM = True
    gone = FieldFile(instance=None, field=Lesson._meta.get_field("video"), name="lessons/x.mp4")
    with pytest.raises(Http404):
        serve_course_file(RequestFactory().get("/"), gone)
    with pytest.raises(Http404):
        serve_course_file(
            RequestFactory().get("/"),
            FieldFile(instance=None, field=Lesson._meta.get_field("video"), name=""),
        )
