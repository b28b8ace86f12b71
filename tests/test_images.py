"""The screenshot checks as units: every image fault named in the protocol is refused by the
check that names it and real webcam frames pass (``server.protocol.images``); `taken_at` near
the server's clock (``server.protocol.codec``); the pixel cap setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pydantic
import pytest

from benchmarks.screenshot_check import full_size
from server.config import Settings
from server.errors import ConfigurationError, ImageError, ProtocolError
from server.protocol.codec import check_taken_at
from server.protocol.images import ImageInfo, inspect_image, verify_image
from server.protocol.messages import ScreenshotHeader
from tests.image_samples import BAD_IMAGES, BadImage, flat_png, header_only_png, jpeg, png

# The server's default cap: a 1080p webcam frame.
CAP = Settings().max_screenshot_pixels


@pytest.mark.parametrize("bad", BAD_IMAGES, ids=lambda bad: bad.name)
def test_a_bad_image_is_refused_by_the_check_that_names_its_fault(bad: BadImage) -> None:
    with pytest.raises(ImageError, match=bad.refusal):
        verify_image(bad.make(), CAP)


@pytest.mark.parametrize(
    ("image", "info"),
    [
        (jpeg(320, 240), ImageInfo("image/jpeg", 320, 240)),
        (jpeg(16, 16), ImageInfo("image/jpeg", 16, 16)),
        (jpeg(1920, 1080), ImageInfo("image/jpeg", 1920, 1080)),
        (jpeg(640, 480, progressive=True), ImageInfo("image/jpeg", 640, 480)),
        (png(320, 240), ImageInfo("image/png", 320, 240)),
        (png(64, 48, mode="RGBA"), ImageInfo("image/png", 64, 48)),
        (png(64, 48, mode="L"), ImageInfo("image/png", 64, 48)),
        (flat_png(1080, 1920), ImageInfo("image/png", 1080, 1920)),
    ],
    ids=["jpeg", "jpeg-16x16", "jpeg-1080p", "jpeg-progressive", "png", "png-rgba", "png-grey",
         "png-portrait-1080p"],
)  # fmt: skip
def test_whole_images_up_to_a_webcam_frame_pass(image: bytes, info: ImageInfo) -> None:
    assert CAP == 1920 * 1080
    assert verify_image(image, CAP) == info


def test_the_pixel_cap_is_the_callers() -> None:
    qhd = flat_png(2560, 1440)
    with pytest.raises(ImageError, match="at most 2073600 pixels"):
        verify_image(qhd, CAP)
    assert verify_image(qhd, max_pixels=2560 * 1440) == ImageInfo("image/png", 2560, 1440)
    with pytest.raises(ImageError, match="at most 76800 pixels"):
        verify_image(jpeg(320, 241), max_pixels=320 * 240)


def test_a_size_bomb_is_refused_from_its_header_alone() -> None:
    # inspect_image decodes nothing: what it refuses never reaches the decoder.
    for bomb in (header_only_png(4096, 4096), flat_png(4096, 4096)):
        with pytest.raises(ImageError, match="16777216 pixels"):
            inspect_image(bomb, CAP)
    # A header that passes is not yet a picture: only decoding tells.
    assert inspect_image(header_only_png(320, 240), CAP) == ImageInfo("image/png", 320, 240)
    with pytest.raises(ImageError, match="could not be decoded"):
        verify_image(header_only_png(320, 240), CAP)


def test_taken_at_may_be_five_minutes_either_side_of_the_servers_clock() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def header(taken_at: datetime) -> ScreenshotHeader:
        return ScreenshotHeader(type="screenshot", client_id="s1", taken_at=taken_at)

    for within in (0, 299, -299, 300, -300):
        check_taken_at(header(now + timedelta(seconds=within)), now.timestamp())
    for beyond in (301, -301, 86_400):
        with pytest.raises(ProtocolError, match="taken_at") as refused:
            check_taken_at(header(now + timedelta(seconds=beyond)), now.timestamp())
        assert (refused.value.code, refused.value.client_id) == ("invalid", "s1")
    with pytest.raises(ProtocolError, match="ahead of the server's clock"):
        check_taken_at(header(datetime(2999, 1, 1, tzinfo=UTC)), now.timestamp())
    # A time with no UTC offset names no instant: the header itself is invalid.
    with pytest.raises(pydantic.ValidationError, match="timezone"):
        header(now.replace(tzinfo=None))


def test_the_pixel_cap_setting() -> None:
    def cap(value: str | None) -> int:
        env = {} if value is None else {"OPENHIRE_MAX_SCREENSHOT_PIXELS": value}
        return Settings.from_env(env, dotenv=False).max_screenshot_pixels

    assert cap(None) == 1920 * 1080
    assert cap(str(2560 * 1440)) == 2560 * 1440
    assert cap("256") == 16 * 16
    assert cap(str(4096 * 4096)) == 4096 * 4096
    for refused in ("255", str(4096 * 4096 + 1), "0", "-1", "lots"):
        with pytest.raises(ConfigurationError, match="OPENHIRE_MAX_SCREENSHOT_PIXELS"):
            cap(refused)


def _full_size_verdict(data: bytes) -> str:
    """What the check said before JPEGs were decoded at an eighth (the reference
    ``verify_image`` must agree with)."""
    try:
        full_size(data)
    except Exception:
        return "refused"
    return "passed"


def _jpeg_samples() -> list[tuple[str, bytes]]:
    good = jpeg(320, 240)
    sos = good.index(b"\xff\xda")  # the start of scan
    body = len(good) - sos
    return [
        ("whole", good),
        ("progressive", jpeg(640, 480, progressive=True)),
        ("odd size", jpeg(333, 97)),
        ("scan cut in half, end marker added", good[: sos + body // 2] + b"\xff\xd9"),
        ("scan zeroed", good[: sos + 20] + b"\x00" * (body - 22) + b"\xff\xd9"),
        ("scan cut right after its header", good[: sos + 14] + b"\xff\xd9"),
        *((bad.name, bad.make()) for bad in BAD_IMAGES if "jpeg" in bad.name),
    ]


@pytest.mark.parametrize(("name", "data"), _jpeg_samples(), ids=lambda v: str(v)[:40])
def test_a_jpeg_decoded_at_an_eighth_is_judged_as_at_full_size(name: str, data: bytes) -> None:
    try:
        verify_image(data, CAP)
        verdict = "passed"
    except ImageError:
        verdict = "refused"
    assert verdict == _full_size_verdict(data), name
