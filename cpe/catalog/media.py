"""Lesson media: reading a video's length from its file, and handing files to the browser.

Development serves course files from local disk with HTTP Range requests (so seeking in the
player works); production points the `course_media` storage at object storage and
redirects to its signed, expiring URL, so that the application never streams large files.
"""

from __future__ import annotations

import mimetypes
import re
import struct
from collections.abc import Iterator
from typing import IO

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db.models.fields.files import FieldFile
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.utils.translation import gettext as _

CHUNK_SIZE = 64 * 1024


class MediaError(ValueError):
    """The file is not a video whose length we can read."""


# --- MP4 (ISO base media file format): the length is in the movie header box, mvhd.

_CONTAINERS = {b"moov", b"mvex"}


def _boxes(stream: IO[bytes], start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload offset, payload end) of each box between `start` and `end`."""
    offset = start
    while offset + 8 <= end:
        stream.seek(offset)
        header = _read_exact(stream, 8)
        size, kind = struct.unpack(">I4s", header)
        payload = offset + 8
        if size == 1:  # a 64-bit size follows the type
            size = struct.unpack(">Q", _read_exact(stream, 8))[0]
            payload += 8
        elif size == 0:  # the box runs to the end of the file
            size = end - offset
        if size < payload - offset:
            raise MediaError(_("This is not a video file we can read."))
        box_end = offset + size
        if box_end > end:
            raise MediaError(_("The video file is cut short."))
        yield kind, payload, box_end
        offset = box_end


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) < size:
        raise MediaError(_("The video file is cut short."))
    return data


def mp4_duration_seconds(stream: IO[bytes]) -> float:
    """The length of an MP4 (or MOV) movie from its mvhd box, wherever the moov box sits.

    Fragmented files write 0 in mvhd and give the length in mvex/mehd instead.
    """
    stream.seek(0)
    first = stream.read(8)
    if len(first) < 8 or first[4:8] not in (b"ftyp", b"moov", b"mdat", b"free", b"wide"):
        raise MediaError(_("This is not an MP4 video."))
    timescale = 0
    duration = 0
    fragment_duration = 0

    def walk(start: int, end: int) -> None:
        nonlocal timescale, duration, fragment_duration
        for kind, payload, box_end in _boxes(stream, start, end):
            if kind in _CONTAINERS:
                walk(payload, box_end)
            elif kind == b"mvhd":
                stream.seek(payload)
                version = _read_exact(stream, 4)[0]
                if version == 1:
                    _created, _modified, timescale, duration = struct.unpack(
                        ">QQIQ", _read_exact(stream, 28)
                    )
                else:
                    _created, _modified, timescale, duration = struct.unpack(
                        ">IIII", _read_exact(stream, 16)
                    )
            elif kind == b"mehd":
                stream.seek(payload)
                version = _read_exact(stream, 4)[0]
                size = 8 if version == 1 else 4
                fragment_duration = int.from_bytes(_read_exact(stream, size), "big")

    stream.seek(0, 2)
    walk(0, stream.tell())
    if not timescale:
        raise MediaError(_("The video file has no movie header: it may be incomplete."))
    length = duration if duration not in (0, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF) else fragment_duration
    if not length:
        raise MediaError(_("The video file does not say how long it is."))
    return length / timescale


def video_duration_seconds(stream: IO[bytes]) -> int:
    """Whole seconds (rounded down, so a lesson never claims more than it holds), at least 1."""
    seconds = mp4_duration_seconds(stream)
    stream.seek(0)
    return max(1, int(seconds))


# --- Serving files.

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """The (first, last) byte of a single-range request, inclusive.

    None: no usable Range header (serve the whole file; RFC 9110 lets a server ignore a
    header it cannot parse, and we ignore multiple ranges too). False: a well-formed range
    that lies outside the file (416).
    """
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # a suffix: the last N bytes
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            return False
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None  # not a valid range at all: ignored
    if first >= size:
        return False
    return first, min(last, size - 1)


def _chunks(handle: IO[bytes], first: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(first)
        remaining = length
        while remaining > 0:
            data = handle.read(min(CHUNK_SIZE, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        handle.close()


def serve_course_file(
    request: HttpRequest, field_file: FieldFile, *, content_type: str | None = None
) -> HttpResponse:
    """Hand a lesson's file to the browser. The caller has already checked who may see it.

    Local disk with COURSE_MEDIA_STREAM on (development): the bytes, honouring Range.
    Otherwise a redirect to the storage's own URL, which the S3 backend signs and lets expire.
    """
    if not field_file:
        raise Http404
    storage = field_file.storage
    name = field_file.name
    if not (isinstance(storage, FileSystemStorage) and settings.COURSE_MEDIA_STREAM):
        response: HttpResponse = HttpResponseRedirect(storage.url(name))
        response["Cache-Control"] = "private, no-store"
        return response
    if not storage.exists(name):
        raise Http404
    size = storage.size(name)
    content_type = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    wanted = parse_range(request.headers.get("Range", ""), size)
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = wanted if wanted else (0, size - 1)
    length = max(0, last - first + 1)
    handle = storage.open(name, "rb")
    response = StreamingHttpResponse(
        _chunks(handle, first, length),
        status=206 if wanted else 200,
        content_type=content_type,
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if wanted:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    # Only people allowed to study the lesson get it: shared caches must not keep it.
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = "inline"
    return response
