"""WebRTC media behind several nodes (docs/deploy-cluster.md, "Media stays on the owner"): a
watcher on the node holding the interview gets the candidate's media relayed; a watcher on
another node gets ``rtc_unavailable``, and its socket goes on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from clients.interview_client import CandidateSession, WatcherSession, connect, fetch_ticket, ws_url
from clients.media import PatternTrack, ToneTrack
from tests.cluster_harness import Cluster
from tests.live_helpers import Interview, close_clients, new_interview

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    made = Cluster(tmp_path_factory.mktemp("media-cluster"))
    try:
        made.start()
        yield made
    finally:
        made.stop()


async def on_node(
    kind: type[CandidateSession] | type[WatcherSession], url: str, iv: Interview
) -> Any:
    """A socket opened on one node, not through the balancer."""
    http = iv.candidate if kind is CandidateSession else iv.recruiter
    ticket = await fetch_ticket(http, iv.id)
    path = ticket["url"] if kind is CandidateSession else f"{ticket['url']}&since=0"
    session = kind(await connect(ws_url(url, path)))
    session.ready = await session.receive_until("session.ready")
    return session


def receiving() -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="recvonly")
    pc.addTransceiver("video", direction="recvonly")
    return pc


async def test_only_the_owners_watchers_get_the_live_media(cluster: Cluster) -> None:
    owner, _, other = cluster.nodes
    iv = await new_interview(cluster)  # type: ignore[arg-type]
    sending = RTCPeerConnection()
    sending.addTransceiver(ToneTrack(), direction="sendonly")
    sending.addTransceiver(PatternTrack(), direction="sendonly")
    here, there = receiving(), receiving()
    tracks: asyncio.Queue[Any] = asyncio.Queue()
    here.on("track", tracks.put_nowait)
    try:
        candidate = await on_node(CandidateSession, owner.url, iv)
        assert candidate.ready["media"] is not None
        assert (await candidate.offer_media(sending))["type"] == "rtc.answer"
        while (await candidate.receive_until("rtc.state", 20))["state"] != "connected":
            pass
        await asyncio.sleep(1)  # the candidate's first frames: its tracks are live
        far = await on_node(WatcherSession, other.url, iv)
        refused = await far.offer_media(there, "far")
        assert (refused["type"], refused["code"], refused["client_id"]) == (
            "error",
            "rtc_unavailable",
            "far",
        )
        assert "another server" in refused["message"]
        near = await on_node(WatcherSession, owner.url, iv)
        assert (await near.offer_media(here))["type"] == "rtc.answer"
        track = await asyncio.wait_for(tracks.get(), 15)
        await asyncio.wait_for(track.recv(), 15)
        for session in (near, far, candidate):
            await session.close()
    finally:
        for pc in (sending, here, there):
            await pc.close()
        await close_clients(iv)
