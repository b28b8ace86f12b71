"""WebRTC in the browser app (issue 13), in Debian's Chromium (tests/test_browser.py says how)
against a real server with WebRTC on: the candidate's camera and microphone (Chromium's fake
devices, playing a video and a tone this test writes) go to the server over WebRTC; a recruiter
in a second browser context watches and hears them live; the review plays the recording on the
interview's timeline. And when the server refuses the media, the room falls back to canvas
snapshots. No console error, no CSP violation (open_session checks)."""

from __future__ import annotations

import contextlib
import math
import re
import struct
import time
import wave
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import (
    Account,
    DatabaseBackend,
    ServerProcess,
    running_server,
    signups_on,
)
from tests.test_browser import (  # noqa: F401 - fixtures
    ANSWERS,
    Session,
    all_events,
    answer_current_question,
    browser,
    log_in,
    open_session,
    playwright,
    schedule_by_api,
    shoot,
    with_fake_devices,
)

# Without Playwright, the fixtures from test_browser skip (or fail in CI) before it is used.
with contextlib.suppress(ImportError):
    from playwright.sync_api import Browser, Page, Playwright, expect

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]

WIDTH, HEIGHT, FPS = 640, 360, 15
MEDIA_ENV = {
    "OPENHIRE_RECORD_VIDEO": "1",
    "OPENHIRE_RECORDING_SEGMENT": "2",
    "OPENHIRE_SCREENSHOT_INTERVAL": "1",
}


def write_y4m(path: Path, frames: int = FPS * 2) -> None:
    """A 640 x 360 clip at 15 fps: a grey gradient with a white bar moving across it (never
    black, so the server never takes the camera for turned off)."""
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        row = bytes(64 + (x * 128) // WIDTH for x in range(WIDTH))
        chroma = bytes([128]) * ((WIDTH // 2) * (HEIGHT // 2))
        for i in range(frames):
            bar = (i * WIDTH) // frames
            line = row[:bar] + b"\xff" * 16 + row[bar + 16 :]
            out.write(b"FRAME\n" + line[:WIDTH] * HEIGHT + chroma + chroma)


def write_tone(path: Path, seconds: float = 1.0, rate: int = 48000) -> None:
    """A 440 Hz tone at a third of full scale, 16-bit mono (Chromium loops it)."""
    samples = [
        int(0.33 * 32767 * math.sin(2 * math.pi * 440 * n / rate))
        for n in range(int(seconds * rate))
    ]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack(f"<{len(samples)}h", *samples))


@pytest.fixture(scope="module")
def media_browser(
    playwright: Playwright,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Browser]:
    """Chromium whose fake camera plays our clip and whose fake microphone plays our tone."""
    folder = tmp_path_factory.mktemp("fake-media")
    write_y4m(folder / "camera.y4m")
    write_tone(folder / "tone.wav")
    with with_fake_devices(
        playwright, microphone=folder / "tone.wav", camera=folder / "camera.y4m"
    ) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def media_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend
) -> Iterator[ServerProcess]:
    """A server with WebRTC on (the default), recording the video too, in 2 s segments."""
    with running_server(
        database_backend, tmp_path_factory.mktemp("browser-media") / "data", **MEDIA_ENV
    ) as srv:
        yield srv


@pytest.fixture
def media_signup(media_server: ServerProcess) -> Iterator[Any]:
    yield from signups_on(media_server)


def artifacts(account: Account, interview_id: str) -> list[dict[str, Any]]:
    resp = account.client.get(f"/interviews/{interview_id}/artifacts")
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


def settled_recordings(
    account: Account,
    interview_id: str,
    tracks: tuple[str, ...],
    until: float,
    timeout_s: float = 40,
) -> list[dict[str, Any]]:
    """The recording segments once each track's reach ``until`` (a Unix time) and no more come
    for 3 s: the last ones close when the media stops, at the interview's end, and video
    segments are stored a while after that (VP8 is encoded on a shared 2-core machine)."""
    deadline = time.monotonic() + timeout_s
    now: list[dict[str, Any]] = []
    same_since: float | None = None
    while time.monotonic() < deadline:
        before, now = now, [a for a in artifacts(account, interview_id) if a["kind"] == "recording"]
        if [a["id"] for a in now] != [a["id"] for a in before]:
            same_since = time.monotonic()
        reach = {
            t: max((parse_time(a["ended_at"]) for a in now if a["track"] == t), default=0.0)
            for t in tracks
        }
        if all(r >= until for r in reach.values()) and time.monotonic() - (same_since or 0) >= 3:
            return now
        time.sleep(0.5)
    raise AssertionError(f"the recordings never reached {until}: {now}")


def parse_time(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def frames_keep_coming(page: Page, frames: int = 10) -> None:
    """Until the live view has shown ``frames`` more video frames. A stream attached since
    (the tracks after a reconnect) counts from its own start: the element's counter starts
    again with it, so a count against the old stream's total could take as long again."""
    page.evaluate("() => { window.framesFrom = null; }")
    page.wait_for_function(
        """n => {
            const shown = document.getElementById('live-video')
                .getVideoPlaybackQuality().totalVideoFrames;
            if (window.framesFrom === null || shown < window.framesFrom) window.framesFrom = shown;
            return shown >= window.framesFrom + n;
        }""",
        arg=frames,
    )


MEDIA_TIMEOUT_MS = 45_000


def test_a_whole_interview_over_webrtc_watched_live_and_played_back(
    media_server: ServerProcess,
    media_browser: Browser,
    media_signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    recruiter_account, candidate_account = media_signup("recruiter"), media_signup("candidate")
    _job, interview_id = schedule_by_api(recruiter_account, candidate_account, question_count=2)
    recruiter = open_session(on=media_browser, base_url=media_server.url)
    candidate = open_session(on=media_browser, base_url=media_server.url)
    r, c = recruiter.page, candidate.page
    # WebRTC under a whole suite on 2 cores: connecting, decoding and recording take longer
    # than the app's other waits; the conditions waited for are the same.
    for page in (r, c):
        page.set_default_timeout(MEDIA_TIMEOUT_MS)

    # The recruiter watches before the candidate joins: there is no media to watch yet.
    log_in(r, recruiter_account)
    r.goto(f"/#/interviews/{interview_id}/watch")
    expect(r.get_by_text("Waiting for the candidate to join")).to_be_visible()
    live_status = r.locator("#live-media-status")
    expect(live_status).to_have_attribute("data-state", "waiting")

    # The candidate's check: camera and microphone, and the meter moves with the tone.
    log_in(c, candidate_account)
    c.goto(f"/#/interviews/{interview_id}/room")
    expect(c.get_by_text("Your camera works, and so does your microphone")).to_be_visible()
    c.wait_for_function(
        "() => Number(document.getElementById('mic-level').dataset.peak || 0) > 0.3"
    )
    c.get_by_role("button", name="Start the interview").click()
    media_status = c.locator("#media-status")
    expect(media_status).to_have_attribute("data-media", "live")
    expect(media_status).to_have_text(
        "Camera on · Microphone on · live to the recruiter, sound and video recorded"
    )
    expect(c.locator("#mic-level")).to_be_visible()

    # The live view picks the candidate's tracks up once they start, and plays them: frames
    # keep coming, the sound is there, muted until the recruiter unmutes it.
    expect(live_status).to_have_attribute("data-state", "live")
    r.wait_for_function("() => document.getElementById('live-video').videoWidth > 0")
    size = r.evaluate(
        "() => { const v = document.getElementById('live-video');"
        " return [v.videoWidth, v.videoHeight]; }"
    )
    assert size[0] * HEIGHT == size[1] * WIDTH, size  # the clip's 16:9, maybe scaled down
    frames_keep_coming(r)
    assert (
        r.evaluate("() => document.getElementById('live-video').srcObject.getAudioTracks().length")
        == 1
    )
    assert r.evaluate("() => document.getElementById('live-video').muted") is True
    shoot(r, "live-watch-media")
    shoot(c, "interview-room-media")
    r.get_by_role("button", name="Unmute").click()
    expect(r.get_by_role("button", name="Mute")).to_have_attribute("aria-pressed", "true")
    assert r.evaluate("() => document.getElementById('live-video').muted") is False
    # The server's own snapshots, from the video, reach the live view as before.
    r.wait_for_function(
        "() => { const i = document.getElementById('latest-snapshot');"
        " return i && !i.hidden && i.complete && i.naturalWidth > 0; }"
    )

    # The interview: two answers, a few seconds apart so that the recording has segments.
    first = answer_current_question(c, ANSWERS[0], None)
    expect(c.locator("#question-text")).not_to_have_text(first)
    c.wait_for_timeout(2000)
    # The candidate's network drops: the media stops with the socket; back online, the room
    # makes a fresh peer and offer, and the live view picks the new tracks up by itself.
    candidate.context.set_offline(True)
    expect(media_status).not_to_have_attribute("data-media", "live")
    candidate.context.set_offline(False)
    expect(media_status).to_have_attribute("data-media", "live")
    r.wait_for_function(
        "() => { const v = document.getElementById('live-video');"
        " return v.srcObject && v.srcObject.getVideoTracks().some(t => t.readyState === 'live'); }"
    )
    frames_keep_coming(r)
    expect(live_status).to_have_attribute("data-state", "live")
    answer_current_question(c, ANSWERS[1], first)
    expect(c.get_by_role("heading", name="Your interview is over")).to_be_visible()
    expect(r.get_by_text("The interview has ended.")).to_be_visible()

    # What the server stored: snapshots it took itself (the room sent at most the one before
    # the peer connected), the media's health, and the recording's segments, audio and video.
    events = all_events(recruiter_account, interview_id)
    shots = [e["data"] for e in events if e["kind"] == "screenshot"]
    assert [s for s in shots if s.get("source") == "webrtc"], shots
    assert len([s for s in shots if s.get("source") != "webrtc"]) <= 1, shots
    started = {
        e["data"]["track"]
        for e in events
        if e["kind"] == "media" and e["data"]["event"] == "track_started"
    }
    assert started == {"audio", "video"}
    # Once on joining and once after the reconnect, each track.
    restarts = [
        e["data"]["track"]
        for e in events
        if e["kind"] == "media" and e["data"]["event"] == "track_started"
    ]
    assert restarts.count("video") >= 2 and restarts.count("audio") >= 2, restarts
    ended = recruiter_account.client.get(f"/interviews/{interview_id}").json()["ended_at"]
    recordings = settled_recordings(
        recruiter_account, interview_id, ("audio", "video"), until=parse_time(ended) - 2
    )
    by_track = {t: [a for a in recordings if a["track"] == t] for t in ("audio", "video")}
    assert len(by_track["video"]) >= 2 and len(by_track["audio"]) >= 2, recordings

    # The review plays them: "Play the answer" under the second question seeks to it.
    r.get_by_role("link", name="Open the review and the evaluation").click()
    expect(r.get_by_role("heading", name=re.compile("^Review: "))).to_be_visible()
    player = r.locator(".recording")
    expect(player).to_have_attribute("data-segments", str(len(recordings)))
    questions = [e for e in events if e["kind"] == "question"]
    asked = parse_time(questions[1]["at"])
    video = sorted(by_track["video"], key=lambda a: a["started_at"])
    expected = next(a for a in video if parse_time(a["ended_at"]) > asked)
    r.locator(".play-from").nth(1).click()
    # The player shows where it is (data-position) once the video plays.
    r.wait_for_function(
        "() => { const m = document.getElementById('recording-media');"
        " return m.currentTime > 0.2 && !m.paused"
        " && document.querySelector('.recording').dataset.position !== undefined; }"
    )
    playing = r.evaluate("() => document.getElementById('recording-media').currentSrc")
    assert urlsplit(playing).path == urlsplit(expected["url"]).path
    position = int(player.get_attribute("data-position") or "") / 1000
    assert (
        parse_time(expected["started_at"]) - 0.5 <= position <= parse_time(expected["ended_at"]) + 1
    )
    # The sound is a separate file and plays along; the turn being played is marked.
    r.wait_for_function(
        "() => { const a = document.querySelector('.recording audio');"
        " return !a.paused && a.currentTime > 0; }"
    )
    expect(r.locator("li.turn.playing")).to_contain_text(questions[1]["data"]["text"])
    shoot(r, "review-recording")


@pytest.mark.parametrize(
    ("env", "room_state", "watch_state"),
    [
        # The server takes no media session at all: every offer gets rtc_media_limit.
        ({"OPENHIRE_MAX_MEDIA_SESSIONS": "0"}, "failed", "waiting"),
        # WebRTC off: session.ready's media is null, nobody offers.
        ({"OPENHIRE_WEBRTC": "0"}, "off", None),
    ],
    ids=["media-limit", "webrtc-off"],
)
def test_the_room_falls_back_to_snapshots_when_the_server_refuses_the_media(
    make_server: Callable[..., ServerProcess],
    media_browser: Browser,
    open_session: Callable[..., Session],  # noqa: F811
    env: dict[str, str],
    room_state: str,
    watch_state: str | None,
) -> None:
    server = make_server(OPENHIRE_SCREENSHOT_INTERVAL="1", **env)
    server.start()
    signup = signups_on(server)
    make = next(signup)
    recruiter_account, candidate_account = make("recruiter"), make("candidate")
    _job, interview_id = schedule_by_api(recruiter_account, candidate_account, question_count=1)
    recruiter = open_session(on=media_browser, base_url=server.url)
    candidate = open_session(on=media_browser, base_url=server.url)
    r, c = recruiter.page, candidate.page
    log_in(c, candidate_account)
    c.goto(f"/#/interviews/{interview_id}/room")
    c.get_by_role("button", name="Start the interview").click()
    media_status = c.locator("#media-status")
    expect(media_status).to_have_attribute("data-media", room_state)
    # Canvas snapshots as binary frames, as without WebRTC; the recruiter sees them.
    expect(media_status).to_contain_text(re.compile(r"Camera on · \d+ snapshots? shared"))
    log_in(r, recruiter_account)
    r.goto(f"/#/interviews/{interview_id}/watch")
    r.wait_for_function(
        "() => { const i = document.getElementById('latest-snapshot');"
        " return i && !i.hidden && i.complete && i.naturalWidth > 0; }"
    )
    if watch_state is None:  # nothing to say about live media on a server without it
        expect(r.locator(".live-player")).to_be_hidden()
    else:
        expect(r.locator("#live-media-status")).to_have_attribute("data-state", watch_state)
    answer_current_question(c, ANSWERS[0], None)
    expect(c.get_by_role("heading", name="Your interview is over")).to_be_visible()
    events = all_events(recruiter_account, interview_id)
    shots = [e["data"] for e in events if e["kind"] == "screenshot"]
    assert shots and all(s.get("source") != "webrtc" for s in shots), shots
    assert not [e for e in events if e["kind"] in ("media", "recording")]
    with contextlib.suppress(StopIteration):
        next(signup)


def test_the_players_pieces_order_segments_and_find_the_one_playing(
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    """recording.js's segment list and rtc.js's words for media entries, run in the page."""
    page = open_session().page
    page.goto("/")
    got = page.evaluate(
        """async () => {
          const { segmentsOf, segmentAt } = await import('/app/js/recording.js');
          const { describeMediaEvent } = await import('/app/js/rtc.js');
          const at = (s) => new Date(Date.UTC(2026, 11, 7, 10, 0, s)).toISOString();
          const segments = segmentsOf([
            { id: 'b', kind: 'recording', track: 'video', content_type: 'video/webm',
              started_at: at(20), ended_at: at(30), url: '/b' },
            { id: 'a', kind: 'recording', track: 'audio', content_type: 'audio/webm',
              started_at: at(0), ended_at: at(10), url: '/a' },
            { id: 'c', kind: 'recording', content_type: 'audio/webm', created_at: at(40),
              url: '/c' },
            { id: 'gone', kind: 'recording', track: 'audio', content_type: 'audio/webm',
              started_at: at(50), ended_at: at(60), url: null },
            { id: 'shot', kind: 'screenshot', content_type: 'image/jpeg', url: '/s' },
          ]);
          const t = (s) => Date.parse(at(s));
          return {
            order: segments.map((s) => [s.id, s.track, (s.end - s.start) / 1000]),
            inside: segmentAt(segments, t(25))?.id,
            gap: segmentAt(segments, t(15))?.id,
            after: segmentAt(segments, t(55)) === null,
            words: [
              describeMediaEvent({ event: 'muted', track: 'audio' }),
              describeMediaEvent({ event: 'no_media', track: 'video', seconds: 5.2 }),
              describeMediaEvent({ event: 'connection', track: null, state: 'connected' }),
              describeMediaEvent({ event: 'connection', track: null, state: 'failed' }),
            ],
          };
        }"""
    )
    # In time order, without the segment the store lost; no end: about 10 s.
    assert got["order"] == [["a", "audio", 10], ["b", "video", 10], ["c", "audio", 10]]
    assert (got["inside"], got["gap"], got["after"]) == ("b", "b", True)
    assert got["words"] == [
        ["Microphone muted", True],
        ["No video for 5 s", True],
        None,
        ["Live media connection failed", True],
    ]
