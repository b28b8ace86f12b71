"""Screenshots, good and bad, for the image checks: each bad one with the words of the refusal
that names its fault, so that a test fails when the check that should refuse it is removed
(another check refusing it instead says something else)."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image


def _webcam_like(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A gradient with sensor-like noise, as a webcam frame would be (not one flat colour,
    which a decoder could fill in from almost nothing): a 1080p JPEG of it is about 200 KB."""
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 20).convert("RGB")
    return Image.blend(gradient, noise, 0.3).convert(mode)


def jpeg(width: int = 320, height: int = 240, **save: object) -> bytes:
    buffer = io.BytesIO()
    _webcam_like(width, height).save(buffer, "JPEG", quality=70, **save)
    return buffer.getvalue()


def png(width: int = 320, height: int = 240, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    _webcam_like(width, height, mode).save(buffer, "PNG")
    return buffer.getvalue()


def flat_png(width: int, height: int) -> bytes:
    """A real PNG of one colour: tiny on the wire however large it is decoded."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def header_only_png(width: int, height: int) -> bytes:
    """Signature, an IHDR claiming the size, one tiny IDAT, IEND: under 80 bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def corrupt_png() -> bytes:
    """Every chunk well formed (CRCs right, IEND last), but the pixel data is not zlib."""
    good = png()
    ihdr_end = 8 + 25
    ihdr = good[:ihdr_end]
    return ihdr + png_chunk(b"IDAT", b"\x78\x9c" + b"\xa5" * 500) + png_chunk(b"IEND", b"")


def _sof(width: int, height: int) -> bytes:
    return (
        b"\xff\xc0\x00\x11\x08"
        + height.to_bytes(2, "big")
        + width.to_bytes(2, "big")
        + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    )


def jpeg_without_pixels(width: int = 320, height: int = 240) -> bytes:
    """Start of image, a frame header, end of image: a JPEG to a header check, no scan."""
    return b"\xff\xd8" + _sof(width, height) + b"\xff\xd9"


def jpeg_with_scan_first() -> bytes:
    """A start-of-scan segment before the real JPEG's frame header."""
    scan = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + scan + jpeg()[2:]


def jpeg_with_two_sizes(width: int = 2000, height: int = 2000) -> bytes:
    """A real 320x240 JPEG with a second frame header, declaring another size, after its own:
    a header check reads the first, a decoder the last (and allocates from it)."""
    real = jpeg()
    at = real.index(b"\xff\xc0")
    own = real[at : at + 2 + int.from_bytes(real[at + 2 : at + 4], "big")]
    return real[: at + len(own)] + _sof(width, height) + real[at + len(own) :]


def first_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


@dataclass(frozen=True)
class BadImage:
    name: str
    make: Callable[[], bytes]
    refusal: str  # words of the error message that name this fault


BAD_IMAGES = [
    BadImage("jpeg without its end-of-image marker", lambda: jpeg()[:-2], "end-of-image"),
    BadImage("jpeg cut off mid-scan", lambda: first_half(jpeg()), "end-of-image"),
    BadImage("jpeg with bytes after its end", lambda: jpeg() + b"\x00" * 8, "end-of-image"),
    BadImage("jpeg 1x1", lambda: jpeg(1, 1), "at least 16"),
    BadImage("jpeg 15x240", lambda: jpeg(15, 240), "at least 16"),
    BadImage("png 1x1", lambda: png(1, 1), "at least 16"),
    BadImage("jpeg 1921x1080, over the pixel cap", lambda: jpeg(1921, 1080), "2073600 pixels"),
    BadImage("png 1080x1921, over the pixel cap", lambda: flat_png(1080, 1921), "2073600 pixels"),
    BadImage("png without IEND", lambda: png()[:-12], "IEND"),
    BadImage("png with bytes after IEND", lambda: png() + b"\x00" * 8, "IEND"),
    BadImage("jpeg with a scan before its frame header", jpeg_with_scan_first, "scan before"),
    BadImage("gif", lambda: b"GIF89a" + b"\x00" * 100, "not a JPEG or PNG"),
    BadImage("text", lambda: b"hello, this is not a picture", "not a JPEG or PNG"),
    BadImage("nothing", lambda: b"", "not a JPEG or PNG"),
    BadImage(
        "png header alone claiming 4096x4096",
        lambda: header_only_png(4096, 4096),
        "16777216 pixels",
    ),
    BadImage("real png 4096x4096", lambda: flat_png(4096, 4096), "16777216 pixels"),
    BadImage("png with corrupt pixel data", corrupt_png, "could not be decoded"),
    BadImage("png header alone, 320x240", lambda: header_only_png(320, 240), "not be decoded"),
    BadImage("jpeg headers without a scan", jpeg_without_pixels, "could not be decoded"),
    BadImage("jpeg with a second frame header", jpeg_with_two_sizes, "declare both"),
]
