"""The media module's pure parts: an offer's checks, the media settings, the proctoring counts,
and a recorder's segments (real PyAV encodes, read back)."""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor

import av
import pytest
from aiortc import RTCPeerConnection

from clients.media import PatternTrack, ToneTrack
from server.config import IceServer, Settings
from server.errors import ConfigurationError, ProtocolError
from server.media.recorder import Segment, SegmentRecorder
from server.media.sdp import MAX_SDP_BYTES, check_offer, video_limit
from server.protocol.codes import ErrorCode
from server.sessions.proctoring import Proctoring


async def offer(*, audio: str | None = "sendonly", video: str | None = "sendonly") -> str:
    pc = RTCPeerConnection()
    if audio:
        pc.addTransceiver("audio", direction=audio)
    if video:
        pc.addTransceiver("video", direction=video)
    await pc.setLocalDescription(await pc.createOffer())
    sdp: str = pc.localDescription.sdp
    await pc.close()
    return sdp


def refused(sdp: str, role: str = "candidate") -> ErrorCode:
    with pytest.raises(ProtocolError) as caught:
        check_offer(sdp, role, "c1")  # type: ignore[arg-type]
    assert caught.value.client_id == "c1"
    return caught.value.code


async def test_an_offers_checks() -> None:
    good = await offer()
    checked = check_offer(good, "candidate")
    assert (checked.audio, checked.video) == (True, True)
    assert check_offer(await offer(video=None), "candidate").video is False
    assert refused("") == ErrorCode.RTC_BAD_SDP
    assert refused("v=0\r\nthis is not sdp") == ErrorCode.RTC_BAD_SDP
    assert refused(good + "a=x:" + "y" * MAX_SDP_BYTES + "\r\n") == ErrorCode.RTC_BAD_SDP
    without = "\r\n".join(line for line in good.split("\r\n") if "candidate" not in line)
    assert refused(without) == ErrorCode.RTC_BAD_SDP
    assert refused(await offer(audio=None)) == ErrorCode.RTC_NO_AUDIO
    assert refused(await offer(audio="recvonly")) == ErrorCode.RTC_NO_AUDIO
    # A watcher receives: a receive-only offer is its kind, audio or not.
    watcher = check_offer(await offer(audio="recvonly", video="recvonly"), "watcher")
    assert (watcher.audio, watcher.video) == (True, True)
    assert check_offer(await offer(audio=None, video="recvonly"), "watcher").audio is False


def with_video_lines(sdp: str, *lines: str) -> str:
    """``sdp`` with ``lines`` added to its video section (after its m= line)."""
    head, _, video = sdp.partition("m=video")
    first, _, rest = video.partition("\r\n")
    return head + "m=video" + first + "\r\n" + "".join(f"{x}\r\n" for x in lines) + rest


async def test_an_offer_asking_for_more_video_than_the_limit_is_refused() -> None:
    limit = video_limit(
        Settings.from_env(
            {"OPENHIRE_MAX_VIDEO_WIDTH": "1280", "OPENHIRE_MAX_MEDIA_BITRATE": "2000"},
            dotenv=False,
        )
    )
    assert (limit.width, limit.height, limit.fps, limit.bitrate_kbps) == (1280, 720, 30, 2000)
    good = await offer()

    def check(*lines: str, role: str = "candidate", sdp: str = good) -> ErrorCode | None:
        try:
            check_offer(with_video_lines(sdp, *lines), role, "c1", limit=limit)  # type: ignore[arg-type]
        except ProtocolError as exc:
            assert exc.client_id == "c1" and "at most" in exc.message, exc.message
            return exc.code
        return None

    over = ErrorCode.RTC_VIDEO_LIMIT
    assert check() is None
    assert check("b=AS:2000", "b=TIAS:2000000", "a=framerate:30") is None
    assert check("b=AS:2001") == over
    assert check("b=TIAS:2000001") == over
    assert check("a=framerate:60") == over
    assert check("a=imageattr:97 send [x=1920,y=1080] recv *") == over
    assert check("a=imageattr:* send [x=[1600:16:1920],y=[900:16:1080]]") == over
    # One size within the limit is enough; upright (720x1280) is within it too.
    assert check("a=imageattr:97 send [x=1920,y=1080] [x=1280,y=720] recv *") is None
    assert check("a=imageattr:97 send [x=720,y=1280]") is None
    assert check("a=imageattr:97 send [x=[640:1920],y=[360:1080]]") is None
    assert check("a=imageattr:97 recv [x=1920,y=1080] send *") is None
    # What the server receives asks nothing of what the candidate sends; nor a watcher's.
    receiving = await offer(video="recvonly")
    assert check("b=AS:99999", sdp=receiving) is None
    watcher = await offer(audio="recvonly", video="recvonly")
    assert check("b=AS:99999", role="watcher", sdp=watcher) is None


def test_the_media_settings() -> None:
    defaults = Settings.from_env({}, dotenv=False)
    assert defaults.webrtc and defaults.ice_servers == () and defaults.max_media_sessions == 50
    assert (defaults.rtc_port_min, defaults.rtc_port_max) == (None, None)
    assert (defaults.max_video_width, defaults.max_video_height, defaults.max_video_fps) == (
        1280,
        720,
        30,
    )
    assert defaults.max_media_bitrate_kbps == 4000 and defaults.media_over_limit_s == 5
    env = {
        "OPENHIRE_WEBRTC": "0",
        "OPENHIRE_ICE_SERVERS": '[{"urls": "stun:stun.example.com:3478"},'
        ' {"urls": ["turn:t.example.com"], "username": "u", "credential": "s3cret"}]',
        "OPENHIRE_RTC_PORT_MIN": "40000",
        "OPENHIRE_RTC_PORT_MAX": "40099",
        "OPENHIRE_RECORD_VIDEO": "1",
        "OPENHIRE_RECORDING_SEGMENT": "5",
    }
    chosen = Settings.from_env(env, dotenv=False)
    assert chosen.ice_servers == (
        IceServer(("stun:stun.example.com:3478",)),
        IceServer(("turn:t.example.com",), "u", "s3cret"),
    )
    assert "s3cret" not in repr(chosen)
    assert (chosen.rtc_port_min, chosen.rtc_port_max, chosen.record_video) == (40000, 40099, True)
    assert chosen.recording_segment_s == 5 and not chosen.webrtc
    for name, value, says in [
        ("OPENHIRE_ICE_SERVERS", "stun:x", "JSON list"),
        ("OPENHIRE_ICE_SERVERS", '[{"urls": "http://x"}]', "not a stun: or turn: URL"),
        ("OPENHIRE_ICE_SERVERS", '[{"url": "stun:x"}]', "each server"),
        ("OPENHIRE_ICE_SERVERS", '[{"urls": []}]', "non-empty"),
        ("OPENHIRE_RTC_PORT_MIN", "40000", "set both"),
        ("OPENHIRE_RECORDING_SEGMENT", "0", "OPENHIRE_RECORDING_SEGMENT"),
        ("OPENHIRE_MAX_VIDEO_WIDTH", "8", "OPENHIRE_MAX_VIDEO_WIDTH"),
        ("OPENHIRE_MAX_MEDIA_BITRATE", "0", "OPENHIRE_MAX_MEDIA_BITRATE"),
        ("OPENHIRE_MEDIA_OVER_LIMIT", "0", "OPENHIRE_MEDIA_OVER_LIMIT"),
    ]:
        with pytest.raises(ConfigurationError, match=says):
            Settings.from_env({name: value}, dotenv=False)
    with pytest.raises(ConfigurationError, match=r"within 1024\.\.65535"):
        Settings.from_env(
            {"OPENHIRE_RTC_PORT_MIN": "50000", "OPENHIRE_RTC_PORT_MAX": "40000"}, dotenv=False
        )


def test_media_entries_are_counted_in_the_proctoring_summary() -> None:
    proctoring = Proctoring()
    for data in [
        {"event": "muted", "track": "audio"},
        {"event": "muted", "track": "audio"},
        {"event": "no_media", "track": "video", "seconds": 5.0},
        {"event": "connection", "track": None, "state": "failed"},
    ]:
        proctoring.media(data)
    counts = proctoring.summary(None, None).counts
    assert counts == {
        "media.muted": 2,
        "media.muted.audio": 2,
        "media.no_media": 1,
        "media.no_media.video": 1,
        "media.connection": 1,
        "media.connection.failed": 1,
    }


@pytest.mark.parametrize("track", ["audio", "video"])
async def test_a_recorder_cuts_closed_segments_that_decode(track: str) -> None:
    stored: list[Segment] = []

    async def store(segment: Segment) -> None:
        stored.append(segment)

    threads = ThreadPoolExecutor(1)
    recorder = SegmentRecorder(
        track,  # type: ignore[arg-type]
        segment_s=1.0,
        threads=threads,
        store=store,
    )
    source = ToneTrack() if track == "audio" else PatternTrack(320, 180, fps=15)
    step = 0.02 if track == "audio" else 1 / 15
    frames = round(2.5 / step)
    source._start = -1e9  # no pacing: frames as fast as they are made
    for n in range(frames):
        recorder.push(await source.recv(), 1000.0 + n * step)
        if n % 10 == 0:
            await asyncio.sleep(0.005)  # as frames arrive in real life: the thread keeps up
    await recorder.close()
    threads.shutdown()
    assert recorder.dropped == 0
    # Two whole seconds closed as they filled, and the half second still open at the close.
    assert len(stored) == 3
    assert [round(s.started_at - 1000.0, 1) for s in stored] == [0.0, 1.0, 2.0]
    for segment in stored:
        assert segment.content_type == f"{track}/webm"
        with av.open(io.BytesIO(segment.data)) as container:
            decoded = list(container.decode(**{track: 0}))
        assert decoded, segment
