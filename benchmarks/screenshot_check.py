"""What a screenshot costs the server, check and store, for docs/benchmarks.md (run by hand).

    .venv/bin/python -m benchmarks.screenshot_check [--images 8] [--rounds 50] [--repeat 3]
                                                    [--batches 40] [--dir .]

1. The check: the load test's webcam-like JPEGs (640x480, 30-80 KB:
   ``clients/loadtest/images.py``) through ``verify_image`` as the server runs it
   (``server/protocol/images.py``: the header checks, then a decode at an eighth of the size),
   and, for comparison, with a full-size decode. Process CPU per check, best of ``--repeat``.
2. The store: batches of 1, 4 and 16 of those screenshots (each of another interview, as in a
   writer's batch) into a ``LocalBlobStore`` in a new directory under ``--dir`` (put it on the
   disk the server's data is on), written as the writer does (``put_many``: one thread's work,
   one flush of the directories) and one ``put`` each at once (what a store without
   ``put_many`` does). Wall time per batch, median and slowest of ``--batches``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from clients.loadtest.images import webcam_jpegs
from server.protocol.images import inspect_image, verify_image
from server.store.blobs import BlobStore, LocalBlobStore

MAX_PIXELS = 1920 * 1080


def full_size(data: bytes) -> None:
    """The check with every pixel decoded at full size: the reference the server's check is
    held to (``tests/test_images.py``). Raises whatever refuses the image."""
    info = inspect_image(data, MAX_PIXELS)
    with Image.open(io.BytesIO(data)) as pic:
        if pic.size != (info.width, info.height):
            raise ValueError(f"headers declare {info.width}x{info.height} and {pic.size}")
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


async def store_ms(root: Path, images: list[bytes], size: int, batches: int) -> dict[str, str]:
    store = LocalBlobStore(root)
    out: dict[str, str] = {}
    for name in ("put_many", "a put each"):
        times = []
        for _ in range(batches):
            blobs = [
                (f"screenshots/{uuid.uuid4()}/000001.jpg", images[i % len(images)], "image/jpeg")
                for i in range(size)
            ]
            started = time.perf_counter()
            if name == "put_many":
                await store.put_many(blobs)
            else:
                await BlobStore.put_many(store, blobs)  # the default: one put each, at once
            times.append(1000 * (time.perf_counter() - started))
        out[name] = f"{statistics.median(times):6.1f} / {max(times):6.1f} ms"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--dir", type=Path, default=Path("."))
    args = parser.parse_args()
    images = webcam_jpegs((30, 80), args.images)
    sizes = ", ".join(f"{len(image) // 1000}" for image in images)
    print(f"{len(images)} JPEGs of 640x480 ({sizes} KB), {args.rounds} rounds,", end=" ")
    print(f"best of {args.repeat}")
    for name, check in (("as the server checks", as_served), ("decoded at full size", full_size)):
        print(f"  {name:22} {cpu_ms(check, images, args.rounds, args.repeat):.3f} ms CPU per image")
    root = Path(tempfile.mkdtemp(prefix="openhire-blobs-", dir=args.dir))
    try:
        print(f"storing batches in {root} (median / slowest of {args.batches}):")
        for size in (1, 4, 16):
            figures = asyncio.run(store_ms(root, images, size, args.batches))
            line = ", ".join(f"{name} {value}" for name, value in figures.items())
            print(f"  {size:2} screenshots: {line}")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
