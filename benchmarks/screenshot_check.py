"""CPU of the screenshot check, for docs/benchmarks.md (run it by hand).

    .venv/bin/python -m benchmarks.screenshot_check [--images 8] [--rounds 50] [--repeat 3]

The load test's webcam-like JPEGs (640x480, 30-80 KB: ``clients/loadtest/images.py``) through
``verify_image`` as the server runs it (``server/protocol/images.py``: the header checks, then a
decode at an eighth of the size), and, for comparison, the same checks with a full-size decode.
Prints the process CPU per check, best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable

from PIL import Image

from clients.loadtest.images import webcam_jpegs
from server.protocol.images import inspect_image, verify_image

MAX_PIXELS = 1920 * 1080


def full_size(data: bytes) -> None:
    info = inspect_image(data, MAX_PIXELS)
    with Image.open(io.BytesIO(data)) as pic:
        assert pic.size == (info.width, info.height)
        pic.load()


def as_served(data: bytes) -> None:
    verify_image(data, MAX_PIXELS)


def cpu_ms(check: Callable[[bytes], None], images: list[bytes], rounds: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(rounds):
            for image in images:
                check(image)
        best = min(best, (time.process_time() - started) / (rounds * len(images)))
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    images = webcam_jpegs((30, 80), args.images)
    sizes = ", ".join(f"{len(image) // 1000}" for image in images)
    print(f"{len(images)} JPEGs of 640x480 ({sizes} KB), {args.rounds} rounds,", end=" ")
    print(f"best of {args.repeat}")
    for name, check in (("as the server checks", as_served), ("decoded at full size", full_size)):
        print(f"  {name:22} {cpu_ms(check, images, args.rounds, args.repeat):.3f} ms CPU per image")


if __name__ == "__main__":
    main()
