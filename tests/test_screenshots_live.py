"""Screenshots over a real candidate socket: every bad image is refused with `bad_image` and
nothing stored; a screenshot keeps its place among the candidate's messages while its pixels
are decoded; `taken_at` must be near the server's clock; the pixel cap is a setting."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from clients.interview_client import CandidateSession, screenshot_frame
from tests.conftest import ServerProcess
from tests.image_samples import BAD_IMAGES, jpeg, png
from tests.live_helpers import Interview, close_clients, new_interview

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def logged(iv: Interview) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The interview's event log and artifacts, as a reviewer reads them over HTTP."""
    events = await iv.recruiter.get(f"/interviews/{iv.id}/events", params={"since": 0})
    artifacts = await iv.recruiter.get(f"/interviews/{iv.id}/artifacts")
    assert events.status_code == artifacts.status_code == 200
    return events.json()["items"], artifacts.json()["items"]


async def send_together(session: CandidateSession, frames: list[tuple[str, str | bytes]]) -> None:
    """Send every frame at once, without waiting for any reply; then wait for all the replies
    (an ack or an error for each client id)."""
    loop = asyncio.get_running_loop()
    replies = {cid: loop.create_future() for cid, _ in frames}
    session.acks.update(replies)
    for _, frame in frames:
        await session.ws.send(frame)
    await asyncio.wait_for(asyncio.gather(*replies.values()), 15)


def proctor(cid: str, signal: str = "window_blur") -> tuple[str, str]:
    return cid, orjson.dumps({"type": "proctor", "client_id": cid, "signal": signal}).decode()


async def test_every_bad_image_is_refused_and_nothing_is_stored(server):
    iv = await new_interview(server)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            await session.next_question()
            await session.proctor("window_focus")  # so that the log has settled
            events_before, _ = await logged(iv)
            for bad in BAD_IMAGES:
                cid = "bad-" + uuid.uuid4().hex[:8]
                reply = await session.send_binary(screenshot_frame(bad.make(), cid), cid)
                assert (reply["type"], reply["code"], reply["client_id"]) == (
                    "error",
                    "bad_image",
                    cid,
                ), bad.name
                assert bad.refusal in reply["message"], (bad.name, reply)
            # The socket goes on, and what came before is all there is.
            ack = await session.proctor("window_focus")
            events, artifacts = await logged(iv)
        assert artifacts == []
        assert events[: len(events_before)] == events_before
        assert [e["kind"] for e in events[len(events_before) :]] == ["proctor"]
        assert events[-1]["offset"] == ack["offset"]
    finally:
        await close_clients(iv)


async def test_a_screenshot_keeps_its_place_among_the_candidates_messages(server):
    iv = await new_interview(server)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            await session.next_question()
            # A full-size webcam frame takes the longest to decode; the messages right behind
            # it are small and quick, and must still be logged after it.
            frames = [
                proctor("p1"),
                ("s1", screenshot_frame(jpeg(1920, 1080), "s1")),
                proctor("p2"),
                ("bad", screenshot_frame(jpeg(1920, 1080)[:-2], "bad")),
                proctor("p3"),
            ]
            await send_together(session, frames)
            events, artifacts = await logged(iv)
        order = [e for e in events if e["kind"] in ("proctor", "screenshot")]
        assert [e["kind"] for e in order] == ["proctor", "screenshot", "proctor", "proctor"]
        assert [(a["width"], a["height"]) for a in artifacts] == [(1920, 1080)]
        assert order[1]["data"]["width"] == 1920
    finally:
        await close_clients(iv)


async def test_a_screenshot_must_be_dated_near_the_servers_clock(server):
    iv = await new_interview(server)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            await session.next_question()
            now = datetime.now(UTC)
            refused = {
                "year-2999": "2999-01-01T00:00:00+00:00",
                "ten-minutes-ahead": (now + timedelta(minutes=10)).isoformat(),
                "ten-minutes-behind": (now - timedelta(minutes=10)).isoformat(),
                "no-utc-offset": now.replace(tzinfo=None).isoformat(),
            }
            for cid, taken_at in refused.items():
                reply = await session.send_binary(screenshot_frame(jpeg(), cid, taken_at), cid)
                assert (reply["type"], reply["code"]) == ("error", "invalid"), (cid, reply)
                assert "taken_at" in reply["message"]
            # Within the tolerance (five minutes either way), and in another time zone.
            taken_at = (
                (now - timedelta(minutes=4)).astimezone(timezone(timedelta(hours=5))).isoformat()
            )
            ack = await session.send_binary(screenshot_frame(jpeg(), "ok", taken_at), "ok")
            assert ack["type"] == "ack", ack
            events, artifacts = await logged(iv)
        assert len(artifacts) == 1
        [shot] = [e for e in events if e["kind"] == "screenshot"]
        assert datetime.fromisoformat(shot["data"]["taken_at"]) == datetime.fromisoformat(taken_at)
    finally:
        await close_clients(iv)


@pytest.fixture
def small_cap_server(make_server: Any) -> ServerProcess:
    server: ServerProcess = make_server(OPENHIRE_MAX_SCREENSHOT_PIXELS=str(320 * 240))
    server.start()
    return server


async def test_the_pixel_cap_is_a_setting(small_cap_server: ServerProcess) -> None:
    iv = await new_interview(small_cap_server)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            await session.next_question()
            reply = await session.send_binary(screenshot_frame(jpeg(640, 480), "big"), "big")
            assert (reply["code"], reply["client_id"]) == ("bad_image", "big")
            assert "at most 76800 pixels" in reply["message"]
            ack = await session.send_binary(screenshot_frame(png(240, 320), "fits"), "fits")
            assert ack["type"] == "ack", ack
            _, artifacts = await logged(iv)
        assert [(a["width"], a["height"]) for a in artifacts] == [(240, 320)]
    finally:
        await close_clients(iv)
