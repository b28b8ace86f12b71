"""Webcam-like JPEG screenshots for the load generator: real JPEGs (the server decodes
every pixel, as a browser would), 640x480, of a chosen size.

Each image is a gradient blended with sensor-like noise and a few coloured shapes; the JPEG
quality is searched so that the file lands on its target size, since noise, not resolution,
is what makes a webcam frame 30-80 KB.
"""

from __future__ import annotations

import io
import random

WIDTH, HEIGHT = 640, 480


def _picture(rng: random.Random) -> object:
    from PIL import Image, ImageDraw

    base = Image.linear_gradient("L").resize((WIDTH, HEIGHT)).convert("RGB")
    noise = Image.effect_noise((WIDTH, HEIGHT), 30).convert("RGB")
    picture = Image.blend(base, noise, 0.5)
    draw = ImageDraw.Draw(picture)
    for _ in range(12):
        x, y = rng.randrange(WIDTH), rng.randrange(HEIGHT)
        box = (x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 200))
        draw.ellipse(box, fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    return picture


def _encode(picture: object, quality: int) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)  # type: ignore[attr-defined]
    return buffer.getvalue()


def webcam_jpeg(target_bytes: int, seed: int = 0) -> bytes:
    """A 640x480 JPEG whose size is as close to ``target_bytes`` as a quality step allows."""
    picture = _picture(random.Random(seed))
    low, high = 5, 95
    best = _encode(picture, 50)
    while low <= high:
        quality = (low + high) // 2
        data = _encode(picture, quality)
        if abs(len(data) - target_bytes) < abs(len(best) - target_bytes):
            best = data
        if len(data) < target_bytes:
            low = quality + 1
        else:
            high = quality - 1
    return best


def webcam_jpegs(kb_range: tuple[int, int], count: int = 8, seed: int = 0) -> list[bytes]:
    """``count`` different JPEGs with sizes spread evenly over ``kb_range`` (in KB)."""
    low, high = kb_range
    step = (high - low) / max(1, count - 1)
    return [webcam_jpeg(round((low + i * step) * 1000), seed + i) for i in range(count)]
