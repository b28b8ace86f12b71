"""WebRTC media (issue 13) through a real server: real aiortc peers over loopback, signalled
over the real candidate and watcher sockets (docs/protocol.md, section "Media")."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import orjson
import psutil
import pytest
from aiortc import RTCPeerConnection

from clients.interview_client import CandidateSession, WatcherSession
from clients.media import PatternTrack, ToneTrack, write_clip
from tests.conftest import (
    DatabaseBackend,
    ServerProcess,
    free_port,
    running_server,
)
from tests.live_helpers import Interview, close_clients, new_interview
from tests.test_metrics import scrape

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow, pytest.mark.one_backend]

ROOT = Path(__file__).resolve().parents[1]
MEDIA_ENV: dict[str, str] = {
    "OPENHIRE_SCREENSHOT_INTERVAL": "1",
    "OPENHIRE_RECORDING_SEGMENT": "1",
    "OPENHIRE_MEDIA_SILENCE": "2",
    "OPENHIRE_MEDIA_CONNECT_TIMEOUT": "4",
}


@pytest.fixture(scope="module")
def media_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend
) -> Iterator[ServerProcess]:
    """One server for the module's tests (they keep apart by their own interviews); a test
    that kills it starts it again."""
    data_dir = tmp_path_factory.mktemp("media") / "data"
    with running_server(
        database_backend,
        data_dir,
        OPENHIRE_METRICS_PORT=str(free_port()),
        **MEDIA_ENV,
        check_exit=True,
    ) as srv:
        yield srv


def candidate_peer(*, video: bool = True, silent: bool = False) -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.addTransceiver(ToneTrack(silent=silent), direction="sendonly")
    if video:
        pc.addTransceiver(PatternTrack(), direction="sendonly")
    return pc


async def events_of(iv: Interview) -> list[dict[str, Any]]:
    resp = await iv.recruiter.get(f"/interviews/{iv.id}/events", params={"since": 0})
    assert resp.status_code == 200
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def artifacts_of(iv: Interview) -> list[dict[str, Any]]:
    resp = await iv.recruiter.get(f"/interviews/{iv.id}/artifacts")
    assert resp.status_code == 200
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def wait_for(check: Any, timeout: float = 30.0, every: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {check}")
        await asyncio.sleep(every)


async def state(session: CandidateSession | WatcherSession, wanted: str) -> None:
    while True:
        message = await session.receive_until("rtc.state", timeout=30)
        if message["state"] == wanted:
            return
        assert message["state"] not in ("failed", "closed"), message


async def media_stopped(session: CandidateSession | WatcherSession) -> None:
    """``rtc.state`` ``closed``, or the socket's close (the interview's end may close the
    socket before the peer's last state goes out)."""
    async with asyncio.timeout(15):
        while True:
            message = await session.receive()
            if message["type"] == "_closed" or (
                message["type"] == "rtc.state" and message["state"] == "closed"
            ):
                return


@pytest.fixture
async def interview(media_server: ServerProcess) -> AsyncIterator[Interview]:
    iv = await new_interview(media_server)
    yield iv
    await close_clients(iv)


async def test_snapshots_and_recordings_from_the_candidates_tracks(
    media_server: ServerProcess, interview: Interview
) -> None:
    iv = interview
    pc = candidate_peer()
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            assert session.ready is not None
            media = session.ready["media"]
            assert media["ice_servers"] == [] and media["snapshot_interval_s"] == 1
            await session.next_question()
            reply = await session.offer_media(pc, "offer-1")
            assert (reply["type"], reply["client_id"]) == ("rtc.answer", "offer-1"), reply
            await state(session, "connected")

            async def webrtc_shots() -> list[dict[str, Any]]:
                return [
                    e
                    for e in await events_of(iv)
                    if e["kind"] == "screenshot" and e["data"].get("source") == "webrtc"
                ]

            shots = await wait_for(lambda: _at_least(webrtc_shots, 3))
            # A new offer on the same socket renegotiates the same peer: it stays connected.
            again = await session.offer_media(pc, "offer-2")
            assert (again["type"], again["client_id"]) == ("rtc.answer", "offer-2"), again
            assert pc.connectionState == "connected"
            await wait_for(lambda: _recordings(iv, 2))
            await session.end()
            await media_stopped(session)
    finally:
        await pc.close()
    # Nothing left open on the server once the interview is over.
    await wait_for(lambda: _media_peers(media_server, 0))
    # On the server's schedule: about one a second, never two within the interval.
    times = [e["at"] for e in shots]
    assert len(times) >= 3
    shot = shots[0]["data"]
    assert (shot["width"], shot["height"], shot["content_type"]) == (640, 360, "image/jpeg")
    events = await events_of(iv)
    kinds = [
        (e["data"].get("event"), e["data"].get("track")) for e in events if e["kind"] == "media"
    ]
    assert ("track_started", "audio") in kinds and ("track_started", "video") in kinds
    assert ("connection", None) in kinds
    artifacts = await artifacts_of(iv)
    recordings = [a for a in artifacts if a["kind"] == "recording"]
    screenshots = [a for a in artifacts if a["kind"] == "screenshot"]
    assert len(screenshots) == len([e for e in events if e["kind"] == "screenshot"])
    assert recordings and all(a["track"] == "audio" for a in recordings)
    async with httpx.AsyncClient(base_url=media_server.url) as http:
        total = 0.0
        for rec in recordings:
            assert rec["started_at"] <= rec["ended_at"]
            blob = await http.get(rec["url"])
            assert blob.status_code == 200
            with av.open(io.BytesIO(blob.content)) as container:
                [stream] = container.streams.audio
                assert stream.codec_context.name == "opus"
                frames = list(container.decode(stream))
                assert frames
                total += sum(f.samples for f in frames) / 48_000
        # Closed segments of about a second each; together the whole call.
        assert total >= len(recordings) * 0.5


async def _at_least(fetch: Any, n: int) -> Any:
    items = await fetch()
    return items if len(items) >= n else None


async def _recordings(iv: Interview, n: int) -> Any:
    return await _at_least(lambda: _kinds(iv, "recording"), n)


async def _kinds(iv: Interview, kind: str) -> list[dict[str, Any]]:
    return [a for a in await artifacts_of(iv) if a["kind"] == kind]


# --- bad input ------------------------------------------------------------------------------


async def offer_sdp(*, audio: bool = True, video: bool = True) -> str:
    """A complete offer (candidates gathered) from a peer that is then closed."""
    pc = RTCPeerConnection()
    if audio:
        pc.addTransceiver("audio", direction="sendonly")
    if video:
        pc.addTransceiver("video", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp: str = pc.localDescription.sdp
    await pc.close()
    return sdp


async def test_bad_offers_are_refused_with_their_code_and_nothing_is_logged(
    interview: Interview,
) -> None:
    iv = interview
    good = await offer_sdp()
    no_candidates = "\r\n".join(
        line for line in good.split("\r\n") if not line.startswith("a=candidate")
    )
    huge = good + "".join(f"a=x-padding:{'p' * 1000}\r\n" for _ in range(70))
    refusals = {
        "garbage": ("hello, server", "rtc_bad_sdp"),
        "truncated": (good[: len(good) // 3], "rtc_bad_sdp"),
        "no-candidates": (no_candidates, "rtc_bad_sdp"),
        "huge": (huge, "rtc_bad_sdp"),
        "video-only": (await offer_sdp(audio=False), "rtc_no_audio"),
        "receive-only": (good.replace("a=sendonly", "a=recvonly"), "rtc_no_audio"),
    }
    async with await CandidateSession.open(iv.candidate, iv.id) as session:
        await session.next_question()
        await session.proctor("window_focus")  # so that the log has settled
        before = await events_of(iv)
        for cid, (sdp, code) in refusals.items():
            reply = await session.request({"type": "rtc.offer", "client_id": cid, "sdp": sdp})
            assert (reply["type"], reply["code"], reply["client_id"]) == ("error", code, cid), (
                cid,
                reply,
            )
        # Ten offers a socket: the rest are refused before anything is parsed.
        for n in range(10 - len(refusals)):
            reply = await session.request({"type": "rtc.offer", "client_id": f"x{n}", "sdp": "x"})
            assert reply["code"] == "rtc_bad_sdp"
        reply = await session.request({"type": "rtc.offer", "client_id": "over", "sdp": good})
        assert (reply["code"], reply["client_id"]) == ("rtc_renegotiation_limit", "over")
        # The socket goes on, and nothing was logged for any of it.
        ack = await session.proctor("window_focus")
        after = await events_of(iv)
    assert [e["kind"] for e in after[len(before) :]] == ["proctor"]
    assert after[-1]["offset"] == ack["offset"]


async def test_a_peer_whose_ice_never_connects_is_closed_and_freed(
    media_server: ServerProcess, interview: Interview
) -> None:
    iv = interview
    # The offer's candidates point at sockets already closed: ICE can never complete.
    sdp = await offer_sdp()
    async with await CandidateSession.open(iv.candidate, iv.id) as session:
        await session.next_question()
        reply = await session.request({"type": "rtc.offer", "client_id": "dead", "sdp": sdp})
        assert reply["type"] == "rtc.answer"
        states = []
        async with asyncio.timeout(15):
            while not states or states[-1] != "closed":
                states.append((await session.receive_until("rtc.state"))["state"])
        assert "failed" in states
    assert await wait_for(lambda: _media_peers(media_server, 0))


# --- watchers -------------------------------------------------------------------------------


async def test_a_watcher_receives_the_candidates_tracks_relayed(
    media_server: ServerProcess, interview: Interview
) -> None:
    iv = interview
    pc = candidate_peer()
    watcher_pc = RTCPeerConnection()
    watcher_pc.addTransceiver("audio", direction="recvonly")
    watcher_pc.addTransceiver("video", direction="recvonly")
    tracks: asyncio.Queue[Any] = asyncio.Queue()
    watcher_pc.on("track", tracks.put_nowait)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            await session.next_question()
            async with await WatcherSession.open(iv.recruiter, iv.id) as watcher:
                assert watcher.ready is not None and watcher.ready["media"] is not None
                early = await offer_sdp(audio=False)  # recvonly-ish: before any media
                reply = await watcher.request({"type": "rtc.offer", "sdp": early})
                assert reply["code"] == "rtc_unavailable", reply
                assert (await session.offer_media(pc))["type"] == "rtc.answer"
                await state(session, "connected")
                await wait_for(lambda: _media_event(iv, "track_started", "video"))
                reply = await watcher.offer_media(watcher_pc)
                assert reply["type"] == "rtc.answer", reply
                await state(watcher, "connected")
                kinds = set()
                for _ in range(2):
                    track = await asyncio.wait_for(tracks.get(), 10)
                    kinds.add(track.kind)
                    frame = await asyncio.wait_for(track.recv(), 10)
                    if track.kind == "video":
                        assert (frame.width, frame.height) == (640, 360)
                    else:
                        assert frame.sample_rate == 48_000
                assert kinds == {"audio", "video"}
                # The interview ends: the candidate's peer and the watcher's close.
                await session.end()
                await media_stopped(session)
                await media_stopped(watcher)
    finally:
        await pc.close()
        await watcher_pc.close()
    await wait_for(lambda: _media_peers(media_server, 0))


# --- health ---------------------------------------------------------------------------------


async def test_muted_and_stalled_tracks_are_logged_and_counted(interview: Interview) -> None:
    iv = interview
    pc = RTCPeerConnection()
    pc.addTransceiver(ToneTrack(silent=True), direction="sendonly")
    video = pc.addTransceiver(PatternTrack(black=True), direction="sendonly")
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            await session.next_question()
            assert (await session.offer_media(pc))["type"] == "rtc.answer"
            await state(session, "connected")
            await wait_for(lambda: _media_event(iv, "muted", "audio"))
            await wait_for(lambda: _media_event(iv, "muted", "video"))
            video.sender.replaceTrack(None)  # the camera stops sending
            await wait_for(lambda: _media_event(iv, "no_media", "video"))
            await session.end()
            await media_stopped(session)
    finally:
        await pc.close()
    resp = await iv.recruiter.get(f"/interviews/{iv.id}")
    counts = await wait_for(lambda: _proctoring_counts(iv))
    assert resp.status_code == 200
    assert counts["media.muted.audio"] == 1 and counts["media.muted.video"] >= 1
    assert counts["media.no_media.video"] == 1
    assert counts["media.connection.connected"] == 1


# --- limits and settings ----------------------------------------------------------------------


async def test_media_sessions_over_the_limit_are_refused(make_server: Any) -> None:
    server: ServerProcess = make_server(
        OPENHIRE_MAX_MEDIA_SESSIONS="1", OPENHIRE_METRICS_PORT=str(free_port()), **MEDIA_ENV
    )
    server.start()
    first, second = await new_interview(server), await new_interview(server)
    pcs = [candidate_peer(video=False) for _ in range(3)]
    try:
        async with (
            await CandidateSession.open(first.candidate, first.id) as one,
            await CandidateSession.open(second.candidate, second.id) as two,
        ):
            assert (await one.offer_media(pcs[0]))["type"] == "rtc.answer"
            refused = await two.offer_media(pcs[1], "second")
            assert (refused["code"], refused["client_id"]) == ("rtc_media_limit", "second")
            await one.ws.send('{"type": "rtc.close", "client_id": "stop"}')
            await state(one, "closed")
            await wait_for(lambda: _media_peers(server, 0))
            assert (await two.offer_media(pcs[2]))["type"] == "rtc.answer"
    finally:
        for pc in pcs:
            await pc.close()
        await close_clients(first)
        await close_clients(second)


async def test_webrtc_off_and_the_port_range_are_settings(make_server: Any) -> None:
    off: ServerProcess = make_server(OPENHIRE_WEBRTC="0")
    off.start()
    iv = await new_interview(off)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            assert session.ready is not None and session.ready["media"] is None
            reply = await session.request({"type": "rtc.offer", "sdp": await offer_sdp()})
            assert reply["code"] == "rtc_unavailable"
    finally:
        await close_clients(iv)
    low = 41_000 + os.getpid() % 1000 * 10
    ranged: ServerProcess = make_server(
        OPENHIRE_RTC_PORT_MIN=str(low), OPENHIRE_RTC_PORT_MAX=str(low + 9)
    )
    ranged.start()
    iv = await new_interview(ranged)
    pc = candidate_peer(video=False)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            reply = await session.offer_media(pc)
            ports = [
                int(line.split()[5])
                for line in reply["sdp"].split("\r\n")
                if line.startswith("a=candidate") and " udp " in line.lower()
            ]
            assert ports and all(low <= port <= low + 9 for port in ports), ports
            await state(session, "connected")
    finally:
        await pc.close()
        await close_clients(iv)


# --- helpers ---------------------------------------------------------------------------------


async def _media_event(iv: Interview, event: str, track: str | None) -> bool:
    return any(
        e["kind"] == "media" and e["data"]["event"] == event and e["data"]["track"] == track
        for e in await events_of(iv)
    )


async def _proctoring_counts(iv: Interview) -> dict[str, int] | None:
    resp = await iv.recruiter.get(f"/interviews/{iv.id}")
    evaluation = resp.json().get("evaluation")
    if not evaluation:
        return None
    counts: dict[str, int] = evaluation["proctoring"]["counts"]
    return counts


async def _media_peers(server: ServerProcess, n: int) -> bool:
    """Whether the server holds ``n`` media peers (its gauge on /metrics)."""
    samples = await asyncio.to_thread(scrape, server)
    open_peers = sum(samples("openhire_media_peers", role=r) for r in ("candidate", "watcher"))
    return open_peers == n


# --- leaks and crashes ----------------------------------------------------------------------


def server_resources(server: ServerProcess) -> tuple[int, int, float]:
    """The server process's open file descriptors, threads and resident memory (MiB)."""
    assert server.proc is not None
    process = psutil.Process(server.proc.pid)
    return process.num_fds(), process.num_threads(), process.memory_info().rss / 2**20


async def resources_within(
    server: ServerProcess, baseline: tuple[int, int, float], timeout: float = 30.0
) -> tuple[int, int, float]:
    """The server's resources (``server_resources``) once within 4 file descriptors, 2
    threads and 40 MiB of ``baseline``, or as they are after ``timeout``: what closed peers
    held is let go a little after they close (threads end, sockets close), later on a loaded
    machine than on a quiet one."""
    fds, threads, rss = baseline
    deadline = time.monotonic() + timeout
    while True:
        now = server_resources(server)
        if now[0] <= fds + 4 and now[1] <= threads + 2 and now[2] <= rss + 40:
            return now
        if time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.5)


async def test_abandoned_peers_leave_nothing_behind(
    media_server: ServerProcess, interview: Interview
) -> None:
    iv = interview

    async def churn(rounds: int) -> None:
        """Each round: a new socket, a real peer that connects and sends, then the socket
        and the peer dropped without a word (rtc.close never sent)."""
        for _ in range(rounds):
            pc = candidate_peer()
            session = await CandidateSession.open(iv.candidate, iv.id)
            assert (await session.offer_media(pc))["type"] == "rtc.answer"
            await state(session, "connected")
            await pc.close()
            drop_socket(session)
            await session.close()
        await wait_for(lambda: _media_peers(media_server, 0), timeout=30)

    await churn(2)  # warm up: threads pools, codecs, imports
    await asyncio.sleep(2)
    fds, threads, rss = server_resources(media_server)
    await churn(12)
    await asyncio.sleep(2)
    after = await resources_within(media_server, (fds, threads, rss))
    assert after[0] <= fds + 4, (fds, after)
    assert after[1] <= threads + 2, (threads, after)
    # Each peer held decoders and buffers of megabytes; twelve leaked would show.
    assert after[2] <= rss + 40, (rss, after)


async def test_a_crash_loses_at_most_the_open_segment_and_a_fresh_offer_goes_on(
    media_server: ServerProcess, interview: Interview
) -> None:
    iv = interview
    pc = candidate_peer()
    session = await CandidateSession.open(iv.candidate, iv.id)
    try:
        await session.next_question()
        assert (await session.offer_media(pc))["type"] == "rtc.answer"
        await state(session, "connected")
        before = await wait_for(lambda: _recordings(iv, 2))
        media_server.kill()  # SIGKILL: no segment is closed on the way down
    finally:
        await pc.close()
        drop_socket(session)
        await session.close()
    media_server.start()
    pc = candidate_peer()
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as again:
            assert again.ready is not None and again.ready["resumed"] is True
            assert (await again.offer_media(pc))["type"] == "rtc.answer"
            await state(again, "connected")
            after = await wait_for(lambda: _recordings(iv, len(before) + 2))
            await again.end()
            await media_stopped(again)
    finally:
        await pc.close()
    # Every segment logged before the crash is still there, and plays.
    keys = {a["id"] for a in after}
    assert {a["id"] for a in before} <= keys
    async with httpx.AsyncClient(base_url=media_server.url) as http:
        for rec in before:
            listed = next(a for a in after if a["id"] == rec["id"])
            blob = await http.get(listed["url"])
            assert blob.status_code == 200
            with av.open(io.BytesIO(blob.content)) as container:
                assert any(True for _ in container.decode(audio=0))
    await wait_for(lambda: _media_peers(media_server, 0))


def drop_socket(session: CandidateSession) -> None:
    transport = session.ws.transport
    if transport is not None:
        transport.abort()


async def test_openhire_loadtest_media_runs_as_a_command(
    media_server: ServerProcess, tmp_path: Any
) -> None:
    out = tmp_path / "media.json"
    clip = await asyncio.to_thread(write_clip, tmp_path / "clip.webm", seconds=2)
    metrics = f"http://127.0.0.1:{media_server.env_overrides['OPENHIRE_METRICS_PORT']}/metrics"
    proc = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "server.cli",
            "loadtest",
            "--url",
            media_server.url,
            "--metrics-url",
            metrics,
            "--media",
            "2",
            "--hold",
            "4",
            "--ramp-up",
            "0.5",
            "--media-clip",
            str(clip),
            "--json",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "offer -> connected" in proc.stdout
    media = orjson.loads(out.read_bytes())["media"]
    assert media["connected"] == media["held_to_the_end"] == 2
    assert media["offer_to_connected_ms"]["p50"] > 0
    # The server took snapshots from the clip's video while it was held.
    assert media["snapshot_lag_ms"]["count"] >= 2


async def test_a_candidates_reconnect_ends_the_watchers_relay_until_it_offers_again(
    media_server: ServerProcess, interview: Interview
) -> None:
    iv = interview
    first, second = candidate_peer(), candidate_peer()
    views = [RTCPeerConnection(), RTCPeerConnection()]
    for view in views:
        view.addTransceiver("audio", direction="recvonly")
        view.addTransceiver("video", direction="recvonly")
    try:
        async with await WatcherSession.open(iv.recruiter, iv.id) as watcher:
            old = await CandidateSession.open(iv.candidate, iv.id)
            assert (await old.offer_media(first))["type"] == "rtc.answer"
            await state(old, "connected")
            await wait_for(lambda: _media_event(iv, "track_started", "video"))
            assert (await watcher.offer_media(views[0]))["type"] == "rtc.answer"
            await state(watcher, "connected")
            # The candidate comes back on a new socket: the old peer, and the relay of it, end.
            async with await CandidateSession.open(iv.candidate, iv.id) as new:
                await old.close()
                await state(watcher, "closed")
                assert (await new.offer_media(second))["type"] == "rtc.answer"
                await state(new, "connected")
                tracks: asyncio.Queue[Any] = asyncio.Queue()
                views[1].on("track", tracks.put_nowait)
                assert (await watcher.offer_media(views[1]))["type"] == "rtc.answer"
                track = await asyncio.wait_for(tracks.get(), 10)
                await asyncio.wait_for(track.recv(), 10)
    finally:
        for pc in (first, second, *views):
            await pc.close()
    await wait_for(lambda: _media_peers(media_server, 0))
