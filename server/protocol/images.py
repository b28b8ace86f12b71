"""Recognise a JPEG or PNG by its bytes and read its dimensions, without decoding pixels.

A screenshot is accepted only if its header parses as one of the two formats and declares
sane dimensions; anything else (a renamed file, truncated data, a 1x1 tracking pixel, a
50,000-pixel-wide bomb) is refused before it is stored.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MIN_SIDE = 16
MAX_SIDE = 4096

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers that carry the image size (not DHT 0xC4, JPG 0xC8, DAC 0xCC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


class ImageError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ImageInfo:
    content_type: str
    width: int
    height: int


def inspect_image(data: bytes) -> ImageInfo:
    if data.startswith(_PNG_SIGNATURE):
        info = _png(data)
    elif data.startswith(b"\xff\xd8\xff"):
        info = _jpeg(data)
    else:
        raise ImageError("not a JPEG or PNG image")
    if not (MIN_SIDE <= info.width <= MAX_SIDE and MIN_SIDE <= info.height <= MAX_SIDE):
        raise ImageError(
            f"image is {info.width}x{info.height}; each side must be {MIN_SIDE}-{MAX_SIDE} pixels"
        )
    return info


def _png(data: bytes) -> ImageInfo:
    # Signature, then the IHDR chunk: length (13), "IHDR", width, height, ...; and IEND last.
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageError("truncated or malformed PNG header")
    width, height = struct.unpack(">II", data[16:24])
    if b"IEND" not in data[-12:]:
        raise ImageError("truncated PNG (no IEND chunk)")
    return ImageInfo("image/png", width, height)


def _jpeg(data: bytes) -> ImageInfo:
    pos = 2
    size = len(data)
    while pos + 4 <= size:
        if data[pos] != 0xFF:
            raise ImageError("malformed JPEG (expected a marker)")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > size:
            raise ImageError("truncated JPEG segment")
        if marker in _SOF_MARKERS:
            if length < 7:
                raise ImageError("malformed JPEG frame header")
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
                raise ImageError("truncated JPEG (no end-of-image marker)")
            return ImageInfo("image/jpeg", width, height)
        if marker == 0xDA:  # start of scan before any frame header
            break
        pos += 2 + length
    raise ImageError("malformed JPEG (no frame header)")
