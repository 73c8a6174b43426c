"""The CJK font embedded in certificates: Noto Sans CJK SC, from Debian's fonts-noto-cjk.

Parsing and subsetting the whole font (some 65,000 glyphs) costs most of a second per PDF,
so certificates use a smaller font made from it once: every character of GB 2312 (the
6,763 common Chinese characters), Latin, punctuation and full-width forms, with TrueType
outlines. It is written
under CERTIFICATE_FONT_CACHE (`manage.py prepare_certificate_font`, which `make setup`
runs; otherwise the first certificate makes it), named by the source font's size and
time, so a new font version makes a new file. A name with a character outside it (a rare
character, say 䶮) falls back to the whole font for that PDF, which is slower but prints it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_lock = threading.Lock()


class FontMissing(ImproperlyConfigured):
    pass


def source_font() -> Path:
    """The full font file, or a plain error naming the package that provides it."""
    path = Path(settings.CERTIFICATE_FONT_PATH)
    if not path.is_file():
        raise FontMissing(
            f"The certificate font {path} is missing. Install Debian's fonts-noto-cjk "
            "(`make setup` does when run as root: scripts/ensure-fonts.sh) or point "
            "CERTIFICATE_FONT_PATH at another font with Simplified Chinese."
        )
    return path


def _common_characters() -> list[int]:
    codes = set(range(0x20, 0x7F)) | set(range(0xA0, 0x180))
    codes |= set(range(0x2000, 0x2070)) | set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                codes.add(ord(bytes([high, low]).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return sorted(codes)


def _cache_name(source: Path) -> str:
    stat = source.stat()
    key = f"{source}:{settings.CERTIFICATE_FONT_INDEX}:{stat.st_size}:{int(stat.st_mtime)}"
    return f"certificate-{hashlib.sha256(key.encode()).hexdigest()[:12]}.ttf"


def _to_truetype(font: Any) -> None:
    """Replace CFF outlines by TrueType ones (quadratic, within one font unit).

    fontTools subsets TrueType outlines glyph by glyph, but a CFF font's charstrings and
    subroutines as a whole: each PDF's subset then costs about a third less. Glyph names
    are dropped (post format 3): the PDF never needs them.
    """
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attribute in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attribute, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 3.0
    for table in ("CFF ", "VORG"):
        if table in font:
            del font[table]
    font.sfntVersion = "\x00\x01\x00\x00"


def common_font() -> Path:
    """The smaller font with the common characters, made on first use."""
    source = source_font()
    cache = Path(settings.CERTIFICATE_FONT_CACHE)
    target = cache / _cache_name(source)
    if target.is_file():
        return target
    with _lock:
        if target.is_file():
            return target
        from fontTools import subset, ttLib

        font = ttLib.TTFont(source, fontNumber=settings.CERTIFICATE_FONT_INDEX)
        options = subset.Options()
        options.layout_features = []
        options.hinting = False
        options.notdef_outline = True
        options.name_IDs = ["*"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=_common_characters())
        subsetter.subset(font)
        _to_truetype(font)
        cache.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: another process never reads half a font.
        handle, temporary = tempfile.mkstemp(dir=cache, suffix=".tmp")
        os.close(handle)
        font.save(temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    return target


@lru_cache(maxsize=4)
def _covered(path: str) -> frozenset[int]:
    from fontTools import ttLib

    font = ttLib.TTFont(path, lazy=True)
    return frozenset(font.getBestCmap())


def covered_by_common() -> frozenset[int]:
    """The characters the common font has (read once per process)."""
    return _covered(str(common_font()))
