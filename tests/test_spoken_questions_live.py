"""Questions spoken as they stream, through a real server (issue 14): the OpenAI interviewer
streams each question from tests/fake_openai.py, the server synthesises it sentence by sentence
through the speech stand-in of tests/fake_voice.py (a tone of its own for each sentence), and the
candidate, a real aiortc peer offering its audio ``sendrecv``, hears the server's track.

Also the figure of docs/benchmarks.md "Questions spoken": from the moment the candidate gets a
question's first ``question.delta`` to the first sound of it on the server's track, as the
candidate's peer receives it (the stand-in answers at once). Run with -s to see it:

    .venv/bin/python -m pytest -s -q -p no:cacheprovider tests/test_spoken_questions_live.py
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection

from clients.interview_client import CandidateSession
from clients.speech import SpeechTrack
from tests.conftest import (
    DatabaseBackend,
    ServerProcess,
    running_server,
)
from tests.fake_openai import FakeOpenAI, Reply, Seen, serve_fake_openai
from tests.fake_speech import Failure, serve_fake_speech
from tests.fake_voice import FakeVoice, dominant_hz, runs
from tests.live_helpers import Interview, close_clients, new_interview
from tests.speech_audio import SENTENCES, require_espeak, spoken

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow, pytest.mark.one_backend]

# Question 1: three sentences, streamed in four chunks; the stream pauses after the second
# chunk, when only the first sentence is whole.
Q1 = ("Tell me about a project you led.", "What went wrong?", "And what would you change now?")
Q1_CHUNKS = [
    "Tell me about a proj",
    "ect you led. What went",
    " wrong? And what would",
    " you change now?",
]
# Question 2: four sentences; the candidate speaks over it (barge-in).
Q2 = ("Now a second question.", "Think of a deadline.", "Was it met?", "Say how.")
TONES = dict(zip(Q1 + Q2, (400.0, 700.0, 1000.0, 1300.0, 1600.0, 1900.0, 2200.0), strict=True))
HZ = tuple(TONES.values())
Q2_HZ = {TONES[s] for s in Q2}


def rest(seen: Seen) -> Reply:
    """The interviewer's answer to anything not planned: a question, or an empty document."""
    return Reply(chunks=["Anything else?"]) if seen.streamed else Reply.structured({})


@pytest.fixture(scope="module")
def interviewer() -> Iterator[FakeOpenAI]:
    with serve_fake_openai() as fake:
        yield fake


@pytest.fixture(scope="module")
def voice() -> Iterator[FakeVoice]:
    require_espeak()
    with serve_fake_speech(fake=FakeVoice(TONES)) as fake:
        assert isinstance(fake, FakeVoice)
        yield fake


@pytest.fixture(scope="module")
def tts_server(
    tmp_path_factory: pytest.TempPathFactory,
    database_backend: DatabaseBackend,
    interviewer: FakeOpenAI,
    voice: FakeVoice,
) -> Iterator[ServerProcess]:
    with running_server(
        database_backend,
        tmp_path_factory.mktemp("tts-stream") / "data",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=interviewer.base_url,
        OPENHIRE_MODEL="test-model",
        OPENHIRE_STT_MODEL="whisper-1",
        OPENHIRE_TTS_MODEL="tts-1",
        OPENHIRE_TTS_VOICE="verse",
        OPENHIRE_SPEECH_API_KEY="sk-test",
        OPENHIRE_SPEECH_BASE_URL=voice.base_url,
        check_exit=True,
    ) as srv:
        yield srv


class Listener:
    """The candidate's ear: every frame of the server's audio track, with when it came and
    its dominant frequency (None: silence)."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, float | None]] = []
        self.task: asyncio.Task[None] | None = None

    def listen(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio" and self.task is None:
            self.task = asyncio.create_task(self._read(track))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                pcm = frame.to_ndarray().tobytes()
                rate = frame.sample_rate
                if len(frame.layout.channels) == 2:  # interleaved stereo: take one channel
                    import numpy as np

                    pcm = np.frombuffer(pcm, dtype="<i2")[::2].tobytes()
                self.frames.append((time.monotonic(), dominant_hz(pcm, rate)))

    def heard_since(self, at: float) -> list[Any]:
        """The tones heard since ``at``, in order, runs of fewer than 3 frames (the edges of
        lossy-coded tones) left out."""
        found = runs([hz for t, hz in self.frames if t >= at], HZ)
        return [tone for tone, n in found if tone is not None and n >= 3]

    def first_tone_after(self, at: float, tones: set[float]) -> float | None:
        """When the first frame of one of ``tones`` came, from ``at`` on."""
        for t, hz in self.frames:
            if t >= at and hz is not None and min(abs(hz - tone) for tone in tones) <= 60:
                return t
        return None

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


@contextlib.asynccontextmanager
async def candidate_peer(
    iv: Interview, microphone: MediaStreamTrack, question: Reply, voice: FakeVoice
) -> AsyncIterator[tuple[RTCPeerConnection, Listener]]:
    """The candidate's peer for the block, offering ``microphone`` and hearing the server's
    track through a ``Listener``. When the block ends, however it ends: ``question``'s stream
    let go (it may be paused), the listener stopped, the peer closed, the stand-in voice reset
    and the interview's clients closed."""
    listener = Listener()
    pc = RTCPeerConnection()
    pc.on("track", listener.listen)
    pc.addTransceiver(microphone, direction="sendrecv")
    try:
        yield pc, listener
    finally:
        question.resume.set()
        await listener.stop()
        await pc.close()
        voice.reset()
        await close_clients(iv)


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def drained(session: CandidateSession) -> list[dict[str, Any]]:
    out = []
    while not session.messages.empty():
        out.append(session.messages.get_nowait())
    return out


async def first_delta(session: CandidateSession, timeout: float = 20.0) -> tuple[float, str]:
    message = await session.receive_until("question.delta", timeout)
    return time.monotonic(), message["question_id"]


async def test_questions_spoken_as_they_stream_in_order_and_cut_by_barge_in(
    tts_server: ServerProcess, interviewer: FakeOpenAI, voice: FakeVoice
) -> None:
    interviewer.reset()
    voice.reset()
    q1 = Reply(chunks=Q1_CHUNKS, pause_after=2)
    q2 = Reply(chunks=[Q2[0] + " ", Q2[1] + " ", Q2[2] + " ", Q2[3]])
    interviewer.plan(q1, q2)
    interviewer.responder = rest
    voice.hold(Q2[2], Q2[3])
    iv = await new_interview(
        tts_server, answer_mode="either", question_count=2, follow_ups_per_question=0
    )
    mic = SpeechTrack(48000)
    async with (
        candidate_peer(iv, mic, q1, voice) as (pc, listener),
        await CandidateSession.open(iv.candidate, iv.id) as session,
    ):
        reply = await session.offer_media(pc, "offer-1")
        assert reply["type"] == "rtc.answer", reply
        # 1. The first sentence is sent for synthesis while the interviewer's stream is
        # still paused after it: before the question is whole, so before question.done.
        await until(lambda: Q1[0] in voice.requested())
        assert not q1.resume.is_set()
        seen = drained(session)
        assert "question.done" not in [m["type"] for m in seen], seen
        assert any(m["type"] == "question.delta" for m in seen), seen
        assert voice.requested() == [Q1[0]]
        said = voice.said[0].body
        assert said["model"] == "tts-1" and said["voice"] == "verse"
        assert said["response_format"] == "pcm"
        q1.resume.set()
        done1 = await session.next_question(timeout=20)
        assert done1["text"] == " ".join(Q1)
        # 2. The three sentences play on the server's track, in order (each requested
        # once; the last two at about the same time, so they may arrive in either order).
        await until(lambda: listener.heard_since(0.0)[-1:] == [TONES[Q1[2]]], 30)
        assert listener.heard_since(0.0) == [TONES[s] for s in Q1]
        assert sorted(voice.requested()) == sorted(Q1)
        # 3. Question 2 (a typed answer to the first): its first two pieces play, the last
        # two are held by the stand-in; the candidate speaks over it.
        # (Waiting for the delta already, so its time is when it came.)
        next_delta = asyncio.create_task(first_delta(session))
        ack = await session.answer(done1["question_id"], "I led a database migration.")
        assert ack["type"] == "ack", ack
        delta_at, q2_id = await next_delta
        await until(lambda: set(voice.requested()) >= {Q2[2], Q2[3]})
        await until(lambda: listener.first_tone_after(delta_at, Q2_HZ) is not None)
        first_audio = listener.first_tone_after(delta_at, Q2_HZ)
        assert first_audio is not None
        done2 = await session.next_question(timeout=20)
        assert done2["question_id"] == q2_id
        assert Q2[3] not in voice.cancelled
        mic.say(spoken(SENTENCES[0], 48000))
        started = await session.receive_until("speech.started", timeout=20)
        barged = time.monotonic()
        assert started["question_id"] == q2_id
        # Barge-in: the pieces under way are cancelled, none is asked for after, and the
        # track falls silent (after what was already on its way to the candidate).
        await until(lambda: sorted(voice.cancelled) == sorted([Q2[2], Q2[3]]))
        await asyncio.sleep(1.5)
        assert voice.requested().count(Q2[2]) == 1 and voice.requested().count(Q2[3]) == 1
        assert listener.heard_since(barged + 1.0) == []
        # (The end of question 1 may still have been playing: question 2 cut it off.)
        heard2 = [t for t in listener.heard_since(delta_at) if t in Q2_HZ]
        assert heard2 and heard2 == [TONES[s] for s in Q2[: len(heard2)]]
        assert TONES[Q2[2]] not in heard2
        print(
            f"\nquestion 2: first question.delta -> first audio on the track:"
            f" {(first_audio - delta_at) * 1000:.0f} ms"
        )


async def test_a_sentence_the_speech_api_refuses_is_told_to_the_candidate_and_the_rest_plays(
    tts_server: ServerProcess, interviewer: FakeOpenAI, voice: FakeVoice
) -> None:
    """The speech API refuses the question's first sentence for good (a 400, not retried): the
    candidate's socket gets ``question.unspoken`` with exactly that sentence, as it is in the
    question's text; the other two sentences still play on the track, in order; and the
    message is live only, nothing of it in the interview's log."""
    interviewer.reset()
    voice.reset()
    q1 = Reply(chunks=Q1_CHUNKS, pause_after=2)
    interviewer.plan(q1)
    interviewer.responder = rest
    voice.fail(Failure(400, "invalid_value", "The input could not be spoken."))
    iv = await new_interview(
        tts_server, answer_mode="voice", question_count=1, follow_ups_per_question=0
    )
    async with candidate_peer(iv, SpeechTrack(48000), q1, voice) as (pc, listener):
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            reply = await session.offer_media(pc, "offer-1")
            assert reply["type"] == "rtc.answer", reply
            # The stream pauses when only the first sentence is whole (so it is the first
            # request, the one refused): the candidate is told while the question streams.
            unspoken = await session.receive_until("question.unspoken", timeout=20)
            assert not q1.resume.is_set()
            assert voice.requested() == [Q1[0]]
            q1.resume.set()
            done = await session.next_question(timeout=20)
            assert done["text"] == " ".join(Q1)
            assert unspoken == {
                "type": "question.unspoken",
                "question_id": done["question_id"],
                "text": Q1[0],
                "message": unspoken["message"],
            }
            assert done["text"].startswith(unspoken["text"]) and unspoken["message"]
            # The rest of the question plays, in order, without the sentence skipped.
            await until(lambda: listener.heard_since(0.0)[-1:] == [TONES[Q1[2]]], 30)
            assert listener.heard_since(0.0) == [TONES[Q1[1]], TONES[Q1[2]]]
            # Each sentence asked for once: a 400 is not retried.
            assert sorted(voice.requested()) == sorted(Q1)
            # Told once, and only live: the interview's log has the question, nothing of this.
            assert [m["type"] for m in drained(session)].count("question.unspoken") == 0
        events = (await iv.recruiter.get(f"/interviews/{iv.id}/events")).json()["items"]
        kinds = [e["kind"] for e in events]
        assert "question" in kinds, kinds
        assert not [e for e in events if "unspoken" in e["kind"]], kinds
        assert not [e for e in events if e["kind"] != "question" and Q1[0] in str(e["data"])]
