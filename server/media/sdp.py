"""The checks an ``rtc.offer`` passes before the server makes a peer for it. Pure: text in, a
``ProtocolError`` with the ``rtc_*`` code out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from aiortc.sdp import SessionDescription

from server.config import Settings
from server.errors import ProtocolError
from server.protocol.codes import ErrorCode
from server.protocol.messages import VideoLimit

MAX_SDP_BYTES = 64 * 1024
# What aiortc can decode; an offer naming none of these for audio has no usable codec.
AUDIO_CODECS = frozenset({"opus", "pcmu", "pcma"})
VIDEO_CODECS = frozenset({"vp8", "h264"})
_SENDS = frozenset({"sendonly", "sendrecv"})
_RECEIVES = frozenset({"recvonly", "sendrecv"})


@dataclass(frozen=True, slots=True)
class CheckedOffer:
    sdp: str
    audio: bool
    video: bool


def check_offer(
    sdp: str,
    role: Literal["candidate", "watcher"],
    client_id: str | None = None,
    *,
    limit: VideoLimit | None = None,
) -> CheckedOffer:
    """The offer if a peer can be made for it: parseable, at most MAX_SDP_BYTES, with ICE
    candidates (non-trickle) and, from a candidate, audio sent with a codec aiortc decodes
    and video that asks for no more than ``limit``."""

    def refuse(code: ErrorCode, message: str) -> ProtocolError:
        return ProtocolError(code, message, client_id)

    if len(sdp.encode()) > MAX_SDP_BYTES:
        raise refuse(ErrorCode.RTC_BAD_SDP, f"an SDP offer may be at most {MAX_SDP_BYTES} bytes")
    if not sdp.startswith("v=0"):
        raise refuse(ErrorCode.RTC_BAD_SDP, "not an SDP session description (no v=0 line)")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception:  # aiortc's parser raises whatever a bad line makes it raise
        raise refuse(ErrorCode.RTC_BAD_SDP, "the SDP offer could not be parsed") from None
    media = [m for m in parsed.media if m.kind in ("audio", "video")]
    if not media:
        raise refuse(ErrorCode.RTC_BAD_SDP, "the SDP offer has no audio or video section")
    if not any(m.ice_candidates for m in media) or any(
        m.ice is None or not m.ice.usernameFragment or not m.dtls for m in media
    ):
        raise refuse(
            ErrorCode.RTC_BAD_SDP,
            "the SDP offer lacks ICE candidates or credentials: send it once ICE gathering"
            " is complete",
        )
    wanted = _SENDS if role == "candidate" else _RECEIVES
    audio = [m for m in media if m.kind == "audio" and m.direction in wanted]
    video = [m for m in media if m.kind == "video" and m.direction in wanted]
    if role == "candidate":
        if not audio:
            raise refuse(ErrorCode.RTC_NO_AUDIO, "a candidate's offer must send audio")
        if not any(c.name.lower() in AUDIO_CODECS for m in audio for c in m.rtp.codecs):
            raise refuse(
                ErrorCode.RTC_NO_AUDIO,
                f"no usable audio codec; the server decodes {', '.join(sorted(AUDIO_CODECS))}",
            )
        if limit is not None:
            sections = _sections(sdp)
            for m, lines in zip(parsed.media, sections[1:], strict=False):
                if m.kind == "video" and m.direction in wanted:
                    over = over_limit(sections[0] + lines, limit)
                    if over is not None:
                        raise refuse(ErrorCode.RTC_VIDEO_LIMIT, over)
    return CheckedOffer(sdp=sdp, audio=bool(audio), video=bool(video))


def video_limit(settings: Settings) -> VideoLimit:
    """``session.ready.media.max_video``, from the settings."""
    return VideoLimit(
        width=settings.max_video_width,
        height=settings.max_video_height,
        fps=settings.max_video_fps,
        bitrate_kbps=settings.max_media_bitrate_kbps,
    )


def _sections(sdp: str) -> list[list[str]]:
    """The SDP's lines: the session's, then each m= section's (in parsed.media's order)."""
    sections: list[list[str]] = [[]]
    for line in sdp.splitlines():
        if line.startswith("m="):
            sections.append([])
        sections[-1].append(line.strip())
    return sections


def fits(width: int, height: int, limit: VideoLimit) -> bool:
    """Within the limit either way round (a phone held upright sends 720x1280)."""
    return (width <= limit.width and height <= limit.height) or (
        width <= limit.height and height <= limit.width
    )


_SET = re.compile(r"\[([^\[\]]*(?:\[[^\]]*\][^\[\]]*)*)\]")
_XY = re.compile(r"\b([xy])=(\[[^\]]*\]|\d+)")


def _least(value: str) -> int:
    """The least of an imageattr value: ``640``, ``[320:640]``, ``[320:16:640]``, ``[320,640]``."""
    return min(int(n) for n in re.findall(r"\d+", value.split(":")[0] if ":" in value else value))


def over_limit(lines: list[str], limit: VideoLimit) -> str | None:
    """What in a video section's lines (with the session's) asks for more than ``limit``:
    ``b=AS``/``b=TIAS`` over the bitrate, ``a=framerate`` over the frame rate, or an
    ``a=imageattr`` whose every ``send`` size is over the frame size. None: nothing."""
    for line in lines:
        try:
            if line.startswith("b=AS:") and int(line[5:]) > limit.bitrate_kbps:
                return f"the offer asks for {line[5:]} kbit/s; at most {limit.bitrate_kbps}"
            if line.startswith("b=TIAS:") and int(line[7:]) > limit.bitrate_kbps * 1000:
                return (
                    f"the offer asks for {int(line[7:]) // 1000} kbit/s;"
                    f" at most {limit.bitrate_kbps}"
                )
            if line.startswith("a=framerate:") and float(line[12:]) > limit.fps:
                return f"the offer asks for {line[12:]} frames a second; at most {limit.fps}"
        except ValueError:
            continue
        if line.startswith("a=imageattr:"):
            send = line.partition(" send ")[2].partition(" recv ")[0].strip()
            if not send or send.startswith("*"):
                continue
            sizes = []
            for group in _SET.findall(send):
                values = dict(_XY.findall(group))
                if "x" in values and "y" in values:
                    sizes.append((_least(values["x"]), _least(values["y"])))
            if sizes and not any(fits(w, h, limit) for w, h in sizes):
                w, h = min(sizes)
                return (
                    f"the offer sends video of {w}x{h} at the least;"
                    f" at most {limit.width}x{limit.height}"
                )
    return None
