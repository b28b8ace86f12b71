"""Questions spoken as they stream (server/speech/spoken_questions.py), in this process: the real
``Synthesizer`` (the ``openai`` client) against the loopback speech stand-in of
tests/fake_voice.py, whose ``audio.speech`` answers each piece of text with its own tone, and the
real ``QuestionVoice`` track, read frame by frame. And the speech API's one retry rule
(server/openai_retry.py), which synthesis now follows as transcription does."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx2
import openai
import pytest

from server.openai_retry import retry_delay
from server.speech.spoken_questions import MAX_PIECE, QuestionSpeaker, cut
from server.speech.synthesize import Synthesizer
from server.speech.transcribe import Transcriber
from server.speech.voice_track import RATE, QuestionVoice
from tests.fake_speech import Failure, serve_fake_speech
from tests.fake_voice import FakeVoice, Heard, dominant_hz, runs

S1 = "Tell me about a project you led."
S2 = "What went wrong?"
S3 = "And what would you change now?"
S4 = "Take your time."
TONES = {S1: 400.0, S2: 700.0, S3: 1000.0, S4: 1300.0}
HZ = tuple(TONES.values())
FRAMES = 30  # each tone is 0.6 s: 30 frames of 20 ms on the track


# --- cutting ---------------------------------------------------------------------------------


def test_cut_at_sentence_ends_once_the_space_after_has_come() -> None:
    assert cut("Hello there. How are") == (["Hello there."], "How are")
    # "3." may be "3.5": nothing is cut until the character after the full stop has come.
    assert cut("Version 3.") == ([], "Version 3.")
    assert cut("Version 3.5 is out! Really?\nYes") == (["Version 3.5 is out!", "Really?"], "Yes")
    assert cut('He said "stop." Then (briefly.) Go') == (
        ['He said "stop."', "Then (briefly.)"],
        "Go",
    )
    assert cut("Yes", final=True) == (["Yes"], "")
    # Nothing to say in a piece of punctuation alone.
    assert cut("... So.\n\n", final=True) == (["So."], "")


def test_a_long_sentence_is_cut_at_a_comma_or_a_space_before_the_bound() -> None:
    clause = "word " * 30  # 150 characters
    pieces, rest = cut(clause + ", " + clause + "and more")
    assert pieces == [(clause + ",").strip()]
    assert rest.startswith(" word") or rest.startswith("word")
    pieces, rest = cut("x" * (2 * MAX_PIECE + 10), final=True)
    assert [len(p) for p in pieces] == [MAX_PIECE, MAX_PIECE, 10] and rest == ""
    spaced = ("abcd " * 100).strip()
    pieces, _ = cut(spaced, final=True)
    assert all(len(p) <= MAX_PIECE for p in pieces)
    assert " ".join(pieces) == spaced


# --- the stand-in and the speaker --------------------------------------------------------------


@pytest.fixture(scope="module")
def voice_server() -> Iterator[FakeVoice]:
    with serve_fake_speech(fake=FakeVoice(TONES)) as fake:
        assert isinstance(fake, FakeVoice)
        yield fake


@pytest.fixture
async def fake(voice_server: FakeVoice) -> AsyncIterator[FakeVoice]:
    voice_server.reset()
    yield voice_server
    voice_server.reset()


@pytest.fixture
async def synthesizer(fake: FakeVoice) -> AsyncIterator[Synthesizer]:
    synth = Synthesizer(
        api_key="sk-test",
        model="tts-1",
        base_url=fake.base_url,
        attempts=2,
        retry_base_delay_s=0.01,
        retry_max_delay_s=2.0,
    )
    yield synth
    await synth.aclose()


Skipped = list[tuple[str, str, str]]


def speaker_of(
    synthesizer: Synthesizer, track: QuestionVoice, concurrency: int = 2
) -> tuple[QuestionSpeaker, Skipped]:
    skipped: Skipped = []
    speaker = QuestionSpeaker(
        synthesizer,
        track,
        on_skipped=lambda q, text, why: skipped.append((q, text, why)),
        concurrency=concurrency,
    )
    return speaker, skipped


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def frame_hz(track: QuestionVoice) -> float | None:
    frame = await track.recv()
    return dominant_hz(frame.to_ndarray().tobytes(), RATE)


async def heard(track: QuestionVoice, quiet_frames: int = 10) -> list[tuple[Heard, int]]:
    """What the track plays from now until ``quiet_frames`` of silence after the last sound,
    as runs of tones (leading and trailing silence dropped)."""
    values: list[float | None] = []
    silent = 0
    while silent < quiet_frames or not any(v is not None for v in values):
        value = await frame_hz(track)
        values.append(value)
        silent = silent + 1 if value is None else 0
        assert len(values) < 50 * 30, "the track never went quiet"
    found = runs(values, HZ)
    while found and found[0][0] is None:
        found.pop(0)
    while found and found[-1][0] is None:
        found.pop()
    return found


async def test_each_sentence_is_requested_as_soon_as_it_is_whole_and_played_in_order(
    fake: FakeVoice, synthesizer: Synthesizer
) -> None:
    track = QuestionVoice()
    speaker, skipped = speaker_of(synthesizer, track)
    fake.hold(S3)
    speaker.delta("q1", "Tell me about a proj")
    await asyncio.sleep(0.3)
    assert fake.requested() == []  # no sentence is whole yet
    speaker.delta("q1", "ect you led. What went")
    await until(lambda: fake.requested() == [S1])
    speaker.delta("q1", " wrong? And what would")
    await until(lambda: fake.requested() == [S1, S2])
    speaker.done("q1", f"{S1} {S2} And what would you change now?")
    await until(lambda: fake.requested() == [S1, S2, S3])
    # The first piece plays while the last is still being synthesised (held by the stand-in).
    while await frame_hz(track) is None:
        pass
    assert speaker.pending >= 1  # S3 at least (S2 may be on its way back too)
    fake.release(S3)
    await until(lambda: speaker.pending == 0)
    found = await heard(track)
    # In order, one after the other, with no silence between them and no two at once.
    assert [tone for tone, _ in found] == [400.0, 700.0, 1000.0], found
    assert all(abs(n - FRAMES) <= 2 for _, n in found[1:]), found
    assert skipped == []
    bodies = [s.body for s in fake.said]
    assert all(b["model"] == "tts-1" and b["response_format"] == "pcm" for b in bodies)
    speaker.stop()


async def test_barge_in_stops_the_track_and_cancels_every_pending_piece(
    fake: FakeVoice, synthesizer: Synthesizer
) -> None:
    track = QuestionVoice()
    speaker, _ = speaker_of(synthesizer, track, concurrency=2)
    fake.hold(S2, S3)
    speaker.done("q1", f"{S1} {S2} {S3} {S4}")
    # Two at once: S1 answered and queued on the track, then S2 and S3 under way, S4 waiting.
    await until(lambda: set(fake.requested()) == {S1, S2, S3})
    await until(lambda: track.speaking)
    assert S4 not in fake.requested()
    speaker.stop()
    assert not track.speaking  # silent at once
    await until(lambda: sorted(fake.cancelled) == sorted([S2, S3]))
    await asyncio.sleep(0.5)
    assert S4 not in fake.requested()  # never asked for
    assert not track.speaking
    # The stopped question is not spoken again when its question.done comes again.
    speaker.done("q1", f"{S1} {S2} {S3} {S4}")
    await asyncio.sleep(0.3)
    assert fake.requested().count(S1) == 1 and not track.speaking


async def test_a_new_question_cancels_the_one_being_spoken(
    fake: FakeVoice, synthesizer: Synthesizer
) -> None:
    track = QuestionVoice()
    speaker, _ = speaker_of(synthesizer, track)
    fake.hold(S2)
    speaker.done("q1", f"{S1} {S2}")
    await until(lambda: S2 in fake.requested() and track.speaking)
    speaker.delta("q2", S3 + " ")
    await until(lambda: fake.cancelled == [S2])
    await until(lambda: speaker.pending == 0 and track.speaking)
    speaker.done("q2", S3)
    assert [tone for tone, _ in await heard(track)] == [1000.0]
    speaker.stop()


async def test_a_piece_that_fails_for_good_is_skipped_and_told(
    fake: FakeVoice, synthesizer: Synthesizer
) -> None:
    track = QuestionVoice()
    speaker, skipped = speaker_of(synthesizer, track, concurrency=1)
    # S1: a 503 twice (both attempts); S2 and S3 are spoken.
    fake.fail(Failure(503), Failure(503))
    speaker.done("q1", f"{S1} {S2} {S3}")
    await until(lambda: speaker.pending == 0)
    assert [(q, text) for q, text, _ in skipped] == [("q1", S1)]
    assert "2 times" in skipped[0][2]
    assert [tone for tone, _ in await heard(track)] == [700.0, 1000.0]
    assert fake.requested() == [S1, S1, S2, S3]
    speaker.stop()


# --- one retry rule --------------------------------------------------------------------------


async def test_synthesis_waits_for_retry_after(fake: FakeVoice, synthesizer: Synthesizer) -> None:
    """The old synthesizer ignored Retry-After: it tried again after its own 10 ms here."""
    fake.fail(Failure(429, headers={"retry-after": "0.5"}, message="Rate limit reached"))
    pcm = await synthesizer.speak(S1)
    assert len(pcm) > 0
    first, second = fake.said
    assert second.received_at - first.received_at >= 0.5


def rate_limited(retry_after: str) -> openai.RateLimitError:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/audio/speech")
    response = httpx2.Response(429, headers={"retry-after": retry_after}, request=request)
    return openai.RateLimitError("Rate limit reached", response=response, body=None)


def test_one_retry_rule_for_transcription_and_synthesis() -> None:
    rng = random.Random(7)
    # Exponential with jitter (half to all of the step), capped.
    for attempt, step in ((1, 0.5), (2, 1.0), (3, 2.0), (6, 8.0), (9, 8.0)):
        for _ in range(20):
            delay = retry_delay(attempt, None, base_s=0.5, max_s=8.0, rng=rng)
            assert step / 2 <= delay <= step
    # At least Retry-After, and Retry-After itself capped.
    assert retry_delay(1, rate_limited("3"), base_s=0.5, max_s=8.0, rng=rng) >= 3.0
    assert retry_delay(1, rate_limited("600"), base_s=0.5, max_s=8.0, rng=rng) == 8.0
    assert retry_delay(1, rate_limited("soon"), base_s=0.5, max_s=8.0, rng=rng) <= 0.5
    # Both clients follow it, with the same settings.
    url = "http://127.0.0.1:9/v1"
    clients: list[Synthesizer | Transcriber] = [
        Synthesizer(api_key="k", model="tts-1", base_url=url, retry_base_delay_s=0.1,
                    retry_max_delay_s=1.0),
        Transcriber(api_key="k", model="whisper-1", base_url=url, retry_base_delay_s=0.1,
                    retry_max_delay_s=1.0),
    ]  # fmt: skip
    for client in clients:
        assert client.retry_delay(1, rate_limited("0.7")) >= 0.7
        assert client.retry_delay(1, rate_limited("60")) == 1.0
        assert 0.2 <= client.retry_delay(3) <= 0.4
