"""Delivering lesson files: streamed with HTTP Range in development, redirected to the
storage's (signed, expiring) URL otherwise.

A minimal version written for the study pages; the catalog's own (with its tests) replaces it.
"""

from __future__ import annotations

import mimetypes
import re

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db.models.fields.files import FieldFile
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


def _chunks(handle, start: int, length: int):  # type: ignore[no-untyped-def]
    handle.seek(start)
    left = length
    try:
        while left > 0:
            data = handle.read(min(CHUNK, left))
            if not data:
                break
            left -= len(data)
            yield data
    finally:
        handle.close()


def serve_course_file(request: HttpRequest, field_file: FieldFile) -> HttpResponse:
    storage = field_file.storage
    stream = getattr(settings, "COURSE_MEDIA_STREAM", settings.DEBUG)
    if not (stream and isinstance(getattr(storage, "_wrapped", storage), FileSystemStorage)):
        return HttpResponseRedirect(storage.url(field_file.name))
    size = storage.size(field_file.name)
    content_type = mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if not match or not (match.group(1) or match.group(2)):
        response: HttpResponse = FileResponse(
            storage.open(field_file.name, "rb"), content_type=content_type
        )
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    else:
        start, end = max(0, size - int(last)), size - 1
    if start >= size or start > end:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    length = end - start + 1
    response = StreamingHttpResponse(
        _chunks(storage.open(field_file.name, "rb"), start, length),
        status=206,
        content_type=content_type,
    )
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    return response
