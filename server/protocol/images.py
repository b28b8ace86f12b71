"""Check that a screenshot is one whole JPEG or PNG, of a webcam frame's size at most.

Two steps, so that nothing large is ever decoded:

1. ``inspect_image`` reads the structure only (cheap enough for the event loop): the format by
   its signature, the size from the JPEG frame header or the PNG IHDR chunk, and the end
   marker as the very last bytes. A side under ``MIN_SIDE``, or more than ``max_pixels``
   pixels (``Settings.max_screenshot_pixels``: 1920x1080 by default), is refused here, before
   a single pixel is decoded: a 74-byte PNG header claiming 4096x4096 costs nothing. This is
   the decompression-bomb defence.
2. ``verify_image`` then decodes the whole image with Pillow (it takes about a millisecond,
   so callers run it in a worker thread) after checking that the decoder read the size the
   header declared: Pillow takes the *last* JPEG frame header, this module the first, and it
   allocates the decoded image from its own reading. A JPEG is decoded at an eighth of its
   size (libjpeg's DCT scaling, ``Image.draft``): every byte of its entropy-coded data is still
   read and every block decoded, so it refuses what a full-size decode refuses, for half the
   CPU (0.6 against 1.1 ms for the load test's 640x480 webcam frames); only the inverse
   transform is done on fewer pixels. (At either size libjpeg only warns of a scan whose data
   is corrupt or cut short before its end marker, and fills it in: such an image passes.)

Anything else (a renamed file, truncated or undecodable data, trailing bytes, a 1x1 tracking
pixel) raises ``ImageError`` with a message naming what was wrong.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import Image

from server.errors import ImageError as ImageError  # re-exported: what the checks raise

MIN_SIDE = 16

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The IEND chunk never varies: length 0, its type, and the CRC of its type.
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_JPEG_END = b"\xff\xd9"
# Start-of-frame markers that carry the image size (not DHT 0xC4, JPG 0xC8, DAC 0xCC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


@dataclass(frozen=True, slots=True)
class ImageInfo:
    content_type: str
    width: int
    height: int


def inspect_image(data: bytes, max_pixels: int) -> ImageInfo:
    """The format and size an image declares, if they are acceptable; no pixel is decoded."""
    if data.startswith(_PNG_SIGNATURE):
        info = _png(data)
    elif data.startswith(b"\xff\xd8\xff"):
        info = _jpeg(data)
    else:
        raise ImageError("not a JPEG or PNG image")
    if info.width < MIN_SIDE or info.height < MIN_SIDE:
        raise ImageError(
            f"image is {info.width}x{info.height}; each side must be at least {MIN_SIDE} pixels"
        )
    if info.width * info.height > max_pixels:
        raise ImageError(
            f"image is {info.width}x{info.height} ({info.width * info.height} pixels);"
            f" at most {max_pixels} pixels are accepted"
        )
    return info


def verify_image(data: bytes, max_pixels: int) -> ImageInfo:
    """``inspect_image``, then decode all of it: the image is whole and what it claims."""
    info = inspect_image(data, max_pixels)
    try:
        with Image.open(io.BytesIO(data), formats=(_PILLOW_FORMATS[info.content_type],)) as pic:
            if pic.size != (info.width, info.height):
                raise ImageError(
                    f"malformed image: its headers declare both {info.width}x{info.height}"
                    f" and {pic.size[0]}x{pic.size[1]}"
                )
            if info.content_type == "image/jpeg":
                pic.draft(pic.mode, (max(1, info.width // 8), max(1, info.height // 8)))
            pic.load()
    except ImageError:
        raise
    # Pillow reports hostile bytes with many exception types (OSError, SyntaxError,
    # ValueError, struct.error, its DecompressionBombError...); to the sender they all mean
    # the same, and its wording is not part of our protocol.
    except Exception:
        raise ImageError("corrupt image: its pixels could not be decoded") from None
    return info


def _png(data: bytes) -> ImageInfo:
    # Signature, then the IHDR chunk: length (13), "IHDR", width, height, ...; and IEND last.
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageError("truncated or malformed PNG header")
    width, height = struct.unpack(">II", data[16:24])
    if not data.endswith(_PNG_END):
        raise ImageError("truncated PNG (it does not end with an IEND chunk)")
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
            if not data.endswith(_JPEG_END):
                raise ImageError("truncated JPEG (it does not end with an end-of-image marker)")
            return ImageInfo("image/jpeg", width, height)
        if marker == 0xDA:  # start of scan before any frame header
            raise ImageError("malformed JPEG (a scan before its frame header)")
        pos += 2 + length
    raise ImageError("malformed JPEG (no frame header)")
