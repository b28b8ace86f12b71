"""Media over the configured limits (issue 13's bad input): an offer asking for more video than
``session.ready.media.max_video`` is refused, and a peer sending larger frames or more bits
than allowed is closed with ``rtc_video_limit`` and a ``media`` ``over_limit`` entry, while the
interview goes on. Real aiortc peers over loopback, through a real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from clients.interview_client import CandidateSession
from clients.media import PatternTrack, ToneTrack
from tests.conftest import (
    DatabaseBackend,
    ServerProcess,
    free_port,
    running_server,
)
from tests.live_helpers import Interview, close_clients, jpeg, new_interview
from tests.test_media_live import (
    MEDIA_ENV,
    _media_peers,
    candidate_peer,
    events_of,
    resources_within,
    server_resources,
    state,
    wait_for,
)
from tests.test_media_units import with_video_lines

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow, pytest.mark.one_backend]


@pytest.fixture(scope="module")
def limits_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend
) -> Iterator[ServerProcess]:
    """A server with the default limits (1280x720, 4000 kbit/s)."""
    data_dir = tmp_path_factory.mktemp("media-limits") / "data"
    with running_server(
        database_backend,
        data_dir,
        OPENHIRE_METRICS_PORT=str(free_port()),
        **MEDIA_ENV,
        check_exit=True,
    ) as srv:
        yield srv


@pytest.fixture
async def interview(limits_server: ServerProcess) -> AsyncIterator[Interview]:
    iv = await new_interview(limits_server)
    yield iv
    await close_clients(iv)


def sending(width: int, height: int, fps: int = 5) -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.addTransceiver(ToneTrack(), direction="sendonly")
    pc.addTransceiver(PatternTrack(width, height, fps), direction="sendonly")
    return pc


async def over_limit_entries(iv: Interview) -> list[dict[str, Any]]:
    return [
        e["data"]
        for e in await events_of(iv)
        if e["kind"] == "media" and e["data"]["event"] == "over_limit"
    ]


async def closed_for_the_limit(session: CandidateSession, pc: RTCPeerConnection) -> str:
    """Offer ``pc``; the server answers, then refuses what it sends: ``rtc_video_limit``
    (no client_id: nothing of the client's was refused) and the peer ``closed``. The
    error's message."""
    assert (await session.offer_media(pc))["type"] == "rtc.answer"
    error = await session.receive_until("error", timeout=30)
    assert (error["code"], error["client_id"]) == ("rtc_video_limit", None), error
    await state(session, "closed")
    message: str = error["message"]
    return message


async def test_an_offer_asking_for_more_than_the_limit_is_refused_and_nothing_stored(
    limits_server: ServerProcess, interview: Interview
) -> None:
    iv = interview
    pc = candidate_peer()
    await pc.setLocalDescription(await pc.createOffer())
    good: str = pc.localDescription.sdp
    await pc.close()
    asks = {
        "imageattr": "a=imageattr:* send [x=1920,y=1080]",
        "as": "b=AS:8000",
        "tias": "b=TIAS:8000000",
        "framerate": "a=framerate:60",
    }
    async with await CandidateSession.open(iv.candidate, iv.id) as session:
        assert session.ready is not None
        assert session.ready["media"]["max_video"] == {
            "width": 1280,
            "height": 720,
            "fps": 30,
            "bitrate_kbps": 4000,
        }
        await session.next_question()
        await session.proctor("window_focus")  # so that the log has settled
        before = await events_of(iv)
        for cid, line in asks.items():
            sdp = with_video_lines(good, line)
            reply = await session.request({"type": "rtc.offer", "client_id": cid, "sdp": sdp})
            assert (reply["type"], reply["code"], reply["client_id"]) == (
                "error",
                "rtc_video_limit",
                cid,
            ), reply
        # No peer was made for any of them, and nothing was logged.
        assert await _media_peers(limits_server, 0)
        ack = await session.proctor("window_focus")
        after = await events_of(iv)
    assert [e["kind"] for e in after[len(before) :]] == ["proctor"]
    assert after[-1]["offset"] == ack["offset"]


async def test_video_over_the_size_limit_is_closed_and_the_interview_goes_on(
    limits_server: ServerProcess, interview: Interview
) -> None:
    iv = interview

    async def refused_once() -> None:
        pc = sending(1920, 1080)
        try:
            async with await CandidateSession.open(iv.candidate, iv.id) as session:
                message = await closed_for_the_limit(session, pc)
                assert "1920x1080" in message and "1280x720" in message
                # The interview goes on: signals, and snapshots sent as binary frames.
                assert (await session.proctor("window_focus"))["type"] == "ack"
                await asyncio.sleep(1.1)  # OPENHIRE_SCREENSHOT_INTERVAL since the last round's
                shot = await session.screenshot(jpeg())
                assert shot["type"] == "ack", shot
        finally:
            await pc.close()
        await wait_for(lambda: _media_peers(limits_server, 0))

    # Warm up (codecs, thread pools), then the baseline.
    async with await CandidateSession.open(iv.candidate, iv.id) as session:
        await session.next_question()
    await refused_once()
    await asyncio.sleep(2)
    fds, threads, rss = server_resources(limits_server)
    for _ in range(4):
        await refused_once()
    await asyncio.sleep(2)
    after = await resources_within(limits_server, (fds, threads, rss))
    assert after[0] <= fds + 4, (fds, after)
    assert after[1] <= threads + 2, (threads, after)
    assert after[2] <= rss + 40, (rss, after)
    entries = await over_limit_entries(iv)
    assert len(entries) == 5, entries
    assert all(
        (e["track"], e["limit"], e["width"], e["height"]) == ("video", "resolution", 1920, 1080)
        for e in entries
    )
    # Within the limit (upright, as a phone sends it): the peer stays.
    pc = sending(720, 1280)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            assert (await session.offer_media(pc))["type"] == "rtc.answer"
            await state(session, "connected")

            async def shots() -> bool:
                return any(
                    e["kind"] == "screenshot" and e["data"].get("source") == "webrtc"
                    for e in await events_of(iv)
                )

            await wait_for(shots)
            assert pc.connectionState == "connected"
    finally:
        await pc.close()
    assert len(await over_limit_entries(iv)) == 5


async def test_a_bitrate_over_the_limit_for_long_is_closed(make_server: Any) -> None:
    server: ServerProcess = make_server(
        OPENHIRE_MAX_MEDIA_BITRATE="200",
        OPENHIRE_MEDIA_OVER_LIMIT="2",
        OPENHIRE_METRICS_PORT=str(free_port()),
        **MEDIA_ENV,
    )
    server.start()
    iv = await new_interview(server)
    pc = sending(640, 360, fps=15)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            assert session.ready is not None
            assert session.ready["media"]["max_video"]["bitrate_kbps"] == 200
            await session.next_question()
            # The audio alone (Opus at about 100 kbit/s) is within the limit: it stays.
            audio = candidate_peer(video=False)
            try:
                assert (await session.offer_media(audio))["type"] == "rtc.answer"
                await state(session, "connected")
                await asyncio.sleep(4)
                assert audio.connectionState == "connected"
                assert await over_limit_entries(iv) == []
                await session.ws.send('{"type": "rtc.close", "client_id": "stop"}')
                await state(session, "closed")
            finally:
                await audio.close()
            started = asyncio.get_running_loop().time()
            message = await closed_for_the_limit(session, pc)
            # Not at the first second over: only once it has lasted the setting's 2 s.
            assert asyncio.get_running_loop().time() - started >= 2
            assert "kbit/s" in message and "at most 200" in message
            assert (await session.proctor("window_focus"))["type"] == "ack"
        await wait_for(lambda: _media_peers(server, 0))
        [entry] = await over_limit_entries(iv)
        assert (entry["track"], entry["limit"]) == (None, "bitrate")
        assert entry["kbps"] > 200 and entry["seconds"] >= 2
    finally:
        await pc.close()
        await close_clients(iv)
