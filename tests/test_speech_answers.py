"""The live transcript of a spoken answer (server/speech/answers.py, ``OPENHIRE_STT_LIVE``),
driven without a server: espeak-ng speech fed to ``VoiceAnswers`` as the media path feeds it,
the real ``Transcriber`` talking to the loopback stand-in (a real recognizer), whose answers a
test may delay. What the interview would send and log is what the host below records."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.config import Settings
from server.protocol.codes import ErrorCode
from server.protocol.messages import ServerMessage
from server.sessions.actions import Recording
from server.speech.answers import VoiceAnswers
from server.speech.transcribe import Transcriber
from server.store.blobs import LocalBlobStore
from tests.fake_speech import FakeSpeech, serve_fake_speech
from tests.speech_audio import SENTENCES, require_espeak, silence, spoken

pytestmark = pytest.mark.asyncio(loop_scope="function")

CHUNK = 640  # 20 ms of 16 kHz mono 16-bit PCM, as the media path hands it over
QUESTION = "q1"


class Host:
    """A live interview waiting for a spoken answer to ``QUESTION``: what VoiceAnswers sends
    live, and the answers it hands over to be logged."""

    def __init__(self) -> None:
        self.live: list[ServerMessage] = []
        self.answers: list[tuple[str, str, dict[str, Any]]] = []
        self.answered = asyncio.Event()
        self.changed = asyncio.Event()  # set at each message sent

    def listening_for(self) -> str | None:
        return None if self.answers else QUESTION

    def voice_live(self, message: ServerMessage) -> None:
        self.live.append(message)
        self.changed.set()

    def voice_started(self, question_id: str) -> None:
        pass

    def voice_reply(self, message: ServerMessage) -> None:
        self.live.append(message)

    def voice_refuse(self, code: ErrorCode, message: str, client_id: str) -> None:
        raise AssertionError(f"refused: {code} {message}")

    def voice_answer(
        self,
        question_id: str,
        text: str,
        data: dict[str, Any],
        recording: Recording | None,
        client_id: str,
    ) -> None:
        self.answers.append((question_id, text, data))
        self.answered.set()

    def of(self, kind: str) -> list[ServerMessage]:
        return [m for m in self.live if m.type == kind]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSpeech]:
    require_espeak()
    with serve_fake_speech() as fake:
        yield fake


def settings_for(fake: FakeSpeech, tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(
        {
            "OPENHIRE_DATA_DIR": str(tmp_path),
            "OPENHIRE_STT_MODEL": "whisper-1",
            "OPENHIRE_SPEECH_API_KEY": "sk-test",
            "OPENHIRE_SPEECH_BASE_URL": fake.base_url,
            **env,
        },
        dotenv=False,
    )


class Answering:
    """VoiceAnswers for one interview, with its tasks kept and awaited at the end."""

    def __init__(self, fake: FakeSpeech, tmp_path: Path, **env: str) -> None:
        settings = settings_for(fake, tmp_path, **env)
        self.host = Host()
        self.transcriber = Transcriber.from_settings(settings)
        self.tasks: set[asyncio.Task[None]] = set()
        self.voice = VoiceAnswers(
            self.host,
            "iv-1",
            transcriber=self.transcriber,
            blobs=LocalBlobStore(tmp_path / "blobs"),
            settings=settings,
            spawn=self.spawn,
        )
        self.clock = time.time()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def say(self, pcm: bytes) -> None:
        """Feed audio at once (faster than it would be spoken; the stream's clock is its own)."""
        for i in range(0, len(pcm), CHUNK):
            self.clock += CHUNK / 2 / 16000
            self.voice.hear(pcm[i : i + CHUNK], self.clock)

    async def until(self, check: Any, timeout: float = 20) -> None:
        """Until ``check()`` holds, looked at again each time a message is sent."""
        async with asyncio.timeout(timeout):
            while not check():
                self.host.changed.clear()
                await self.host.changed.wait()

    async def close(self) -> None:
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.transcriber.aclose()


@contextlib.asynccontextmanager
async def answering(fake: FakeSpeech, tmp_path: Path, **env: str) -> AsyncIterator[Answering]:
    fake.failures.clear()
    fake.delays.clear()
    fake.held.clear()
    made = Answering(fake, tmp_path, **env)
    try:
        yield made
    finally:
        await made.close()


def texts(messages: list[ServerMessage]) -> list[str]:
    return [getattr(m, "text") for m in messages]  # noqa: B009 - every one has a text


async def test_phrases_come_in_the_order_said_whichever_is_transcribed_first(
    fake: FakeSpeech, tmp_path: Path
) -> None:
    first, second = SENTENCES[0], SENTENCES[2]
    async with answering(fake, tmp_path) as a:
        before = len(fake.requests)
        fake.hold_back(first)  # the first phrase's transcription comes back last
        a.say(silence(0.3) + spoken(first) + silence(0.6) + spoken(second) + silence(0.6))
        host = a.host
        # The answer is open (no end silence yet); both phrases went to be transcribed.
        await a.until(lambda: len(host.of("transcript.delta")) == 2)
        assert texts(host.of("transcript.delta")) == [first, f" {second}"]
        # The stand-in answered them the other way round.
        assert [r.text for r in fake.requests[before:]] == [second, first]
        assert host.answers == [] and host.of("transcript.done") == []
        # The end of the answer: its own transcription is the one committed.
        a.say(silence(1.5))
        await asyncio.wait_for(host.answered.wait(), 20)
    ((question_id, text, data),) = host.answers
    assert (question_id, text, data["transcribed"]) == (QUESTION, f"{first} {second}", True)
    (done,) = host.of("transcript.done")
    assert getattr(done, "text") == text  # noqa: B009
    assert [m.type for m in host.live][-1] == "transcript.done"


async def test_a_phrase_still_being_transcribed_when_the_answer_ends_is_not_sent(
    fake: FakeSpeech, tmp_path: Path
) -> None:
    async with answering(fake, tmp_path) as a:
        before = len(fake.requests)
        # The phrase's transcription outlasts the answer: it comes back only once the whole
        # answer's (asked for once the answer has ended) has.
        fake.hold_back(SENTENCES[1])
        a.say(silence(0.3) + spoken(SENTENCES[1]) + silence(1.6))
        await asyncio.wait_for(a.host.answered.wait(), 20)
        assert a.host.answers[0][1] == SENTENCES[1]
        # Its phrase comes back after the end (closing waits for it): nothing more goes out.
    assert [r.text for r in fake.requests[before:]] == [SENTENCES[1], SENTENCES[1]]
    assert a.host.of("transcript.delta") == []
    assert [m.type for m in a.host.live] == ["speech.started", "transcript.done"]


async def test_with_the_live_transcript_off_only_the_answer_is_transcribed(
    fake: FakeSpeech, tmp_path: Path
) -> None:
    async with answering(fake, tmp_path, OPENHIRE_STT_LIVE="0") as a:
        before = len(fake.requests)
        a.say(
            silence(0.3) + spoken(SENTENCES[0]) + silence(0.6) + spoken(SENTENCES[2]) + silence(1.6)
        )
        await asyncio.wait_for(a.host.answered.wait(), 20)
    assert len(fake.requests) - before == 1  # the whole answer, no phrases
    assert a.host.of("transcript.delta") == []
    assert a.host.answers[0][1] == f"{SENTENCES[0]} {SENTENCES[2]}"
