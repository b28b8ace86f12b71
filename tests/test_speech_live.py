"""Spoken interviews (issue 14) through a real server: the candidate speaks (espeak-ng's
speech over a real aiortc peer), the server finds the end of each answer, stores its audio,
has it transcribed by the loopback stand-in (a real recognizer) and commits the answer."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
import uuid
import wave
from collections.abc import AsyncIterator, Iterator
from typing import Any

import av
import httpx
import numpy as np
import pytest
from aiortc import RTCPeerConnection

from clients.interview_client import CandidateSession, WatcherSession, drop
from clients.speech import SpeechTrack
from tests.conftest import DatabaseBackend, ServerProcess, running_server
from tests.fake_speech import Failure, FakeSpeech, serve_fake_speech
from tests.live_helpers import Interview, close_clients, new_interview
from tests.speech_audio import SENTENCES, require_espeak, silence, spoken

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow, pytest.mark.one_backend]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSpeech]:
    require_espeak()
    with serve_fake_speech() as fake:
        yield fake


@pytest.fixture(scope="module")
def speech_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend, fake: FakeSpeech
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("speech") / "data"
    with running_server(
        database_backend,
        data_dir,
        OPENHIRE_STT_MODEL="whisper-1",
        OPENHIRE_SPEECH_API_KEY="sk-test",
        OPENHIRE_SPEECH_BASE_URL=fake.base_url,
        OPENHIRE_STT_ATTEMPTS="2",
        check_exit=True,
    ) as srv:
        yield srv


@pytest.fixture
async def interview(speech_server: ServerProcess, fake: FakeSpeech) -> AsyncIterator[Interview]:
    fake.failures.clear()
    iv = await new_interview(
        speech_server, answer_mode="voice", question_count=3, follow_ups_per_question=0
    )
    yield iv
    await close_clients(iv)


async def connected(session: CandidateSession) -> None:
    while True:
        message = await session.receive_until("rtc.state", timeout=15)
        if message["state"] == "connected":
            return
        assert message["state"] not in ("failed", "closed"), message


async def connect_microphone(session: CandidateSession, track: SpeechTrack) -> RTCPeerConnection:
    """The candidate's peer, sending ``track``, connected."""
    pc = RTCPeerConnection()
    pc.addTransceiver(track, direction="sendonly")
    reply = await session.offer_media(pc, "offer-1")
    assert reply["type"] == "rtc.answer", reply
    await connected(session)
    return pc


@contextlib.asynccontextmanager
async def speaking(session: CandidateSession, track: SpeechTrack) -> AsyncIterator[None]:
    """``connect_microphone`` for the block; the peer closed when it ends, however it ends."""
    pc = await connect_microphone(session, track)
    try:
        yield
    finally:
        await pc.close()


async def events_of(iv: Interview) -> list[dict[str, Any]]:
    resp = await iv.recruiter.get(f"/interviews/{iv.id}/events", params={"since": 0})
    assert resp.status_code == 200
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def expect_ack(session: CandidateSession, client_id: str) -> asyncio.Future[dict[str, Any]]:
    """The ack of a spoken answer the server ends itself (its client id is the server's)."""
    future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    session.acks[client_id] = future
    return future


def trailing_silence(pcm: bytes, rate: int = 48000) -> float:
    samples = np.abs(np.frombuffer(pcm, dtype="<i2"))
    loud = np.nonzero(samples > 300)[0]
    return (len(samples) - 1 - int(loud[-1])) / rate


def pcm_of_wav(data: bytes) -> tuple[int, bytes]:
    with wave.open(io.BytesIO(data), "rb") as wav:
        return wav.getframerate(), wav.readframes(wav.getnframes())


async def test_a_spoken_interview_answer_by_answer(
    speech_server: ServerProcess, fake: FakeSpeech, interview: Interview
) -> None:
    iv = interview
    track = SpeechTrack(48000)
    watcher = await WatcherSession.open(iv.recruiter, iv.id)
    async with await CandidateSession.open(iv.candidate, iv.id) as session:
        q1 = await session.next_question()
        async with speaking(session, track):
            # 1. The answer ends by itself: 1.2 s of silence after the sentence.
            assert q1["answer_mode"] == "voice"
            track.say(silence(0.5, 48000) + spoken(SENTENCES[0], 48000))
            acked = expect_ack(session, f"voice:{q1['question_id']}")
            started = await session.receive_until("speech.started", timeout=15)
            assert started["question_id"] == q1["question_id"]
            done = await session.receive_until("transcript.done", timeout=15)
            assert (done["text"], done["transcribed"]) == (SENTENCES[0], True)
            ack = await asyncio.wait_for(acked, 10)
            acked_at = time.time()
            assert ack["type"] == "ack" and ack["offset"] > 0
            # espeak-ng ends its sentence with silence of its own.
            end_of_speech = track.said_at[-1] - trailing_silence(spoken(SENTENCES[0], 48000))
            assert 1.2 <= acked_at - end_of_speech <= 1.2 + 5.0
            # 2. "I'm done": answer.end right after speaking ends the answer at once.
            q2 = await session.next_question()
            track.say(spoken(SENTENCES[1], 48000))
            await session.receive_until("speech.started", timeout=15)
            await track.said()
            await asyncio.sleep(0.1)
            reply = await session.request(
                {"type": "answer.end", "question_id": q2["question_id"], "client_id": "done-2"}
            )
            assert reply["type"] == "ack", reply
            # Ended by the client, not by the silence (ended_by, checked in the log below): no
            # bound on the time, which the recognizer's share makes the machine's load.
            done = await session.receive_until("transcript.done")
            assert done["text"] == SENTENCES[1]
            # 3. A pause inside an answer, then the end.
            q3 = await session.next_question()
            acked = expect_ack(session, f"voice:{q3['question_id']}")
            track.say(
                spoken(SENTENCES[2], 48000) + silence(0.5, 48000) + spoken(SENTENCES[3], 48000)
            )
            done = await session.receive_until("transcript.done", timeout=20)
            assert done["text"] == f"{SENTENCES[2]} {SENTENCES[3]}"
            assert (await asyncio.wait_for(acked, 10))["type"] == "ack"
            await session.receive_until("interview.ended", timeout=30)
    # The watcher saw each answer's transcript live.
    seen: list[str] = []
    async with asyncio.timeout(10):
        while len(seen) < 3:
            message = await watcher.receive()
            if message["type"] == "transcript.done":
                seen.append(message["text"])
    await watcher.close()
    assert seen == [SENTENCES[0], SENTENCES[1], f"{SENTENCES[2]} {SENTENCES[3]}"]
    # The log: each answer with its source, audio, times and model; the audio is the speech.
    answers = [e for e in await events_of(iv) if e["kind"] == "answer"]
    assert [a["data"]["question_id"] for a in answers] == [q["question_id"] for q in (q1, q2, q3)]
    assert [a["client_id"] for a in answers] == [
        f"voice:{q1['question_id']}",
        "done-2",
        f"voice:{q3['question_id']}",
    ]
    for answer in answers:
        data = answer["data"]
        assert data["source"] == "voice" and data["model"] == "whisper-1"
        assert data["transcribed"] is True
        assert data["speech_start"] < data["speech_end"]
    assert [a["data"]["ended_by"] for a in answers] == ["silence", "client", "silence"]
    artifacts = (await iv.recruiter.get(f"/interviews/{iv.id}/artifacts")).json()["items"]
    audio = [a for a in artifacts if a["content_type"] == "audio/wav"]
    assert len(audio) == 3, artifacts
    heard, stored = [], []
    async with httpx.AsyncClient(base_url=speech_server.url) as http:
        for artifact in audio:
            blob = await http.get(artifact["url"])
            assert blob.status_code == 200
            rate, pcm = pcm_of_wav(blob.content)
            assert rate == 16000
            heard.append(fake.recognise(pcm))
            stored.append(pcm)
    # The stored audio is the candidate's speech, whole: the recognizer hears it again.
    assert heard == [SENTENCES[0], SENTENCES[1], f"{SENTENCES[2]} {SENTENCES[3]}"]
    # whisper-1 times its text: each answer has its sentences, timed in its own stored audio
    # (where the recognizer hears each one start in the WAV).
    assert [[s["text"] for s in a["data"]["sentences"]] for a in answers] == [
        [SENTENCES[0]],
        [SENTENCES[1]],
        [SENTENCES[2], SENTENCES[3]],
    ]
    _, timed = fake.recognise_timed(stored[2])
    for sentence, (start, end, text) in zip(answers[2]["data"]["sentences"], timed, strict=True):
        assert sentence["text"] == text
        assert sentence["start_s"] == pytest.approx(start, abs=0.05)
        assert sentence["end_s"] == pytest.approx(end, abs=0.05)


async def test_the_transcript_comes_phrase_by_phrase_while_the_candidate_speaks(
    speech_server: ServerProcess, fake: FakeSpeech, interview: Interview
) -> None:
    """OPENHIRE_STT_LIVE (on by default): each phrase, cut at a pause, is transcribed as soon
    as it is heard; its text reaches the candidate and the watchers while the answer goes on.
    The committed text is the whole answer's own transcription."""
    iv = interview
    track = SpeechTrack(48000)
    watcher = await WatcherSession.open(iv.recruiter, iv.id)
    said = [SENTENCES[0], SENTENCES[2], SENTENCES[3]]
    pause = silence(0.7, 48000)
    async with await CandidateSession.open(iv.candidate, iv.id) as session:
        q1 = await session.next_question()
        async with speaking(session, track):
            acked = expect_ack(session, f"voice:{q1['question_id']}")
            track.say(pause.join(spoken(s, 48000) for s in said))
            first = await session.receive_until("transcript.delta", timeout=20)
            # The first sentence's text, while the candidate is still speaking the others.
            assert track.said_at == []
            assert first == {
                "type": "transcript.delta",
                "question_id": q1["question_id"],
                "text": SENTENCES[0],
            }
            pieces = [first["text"]]
            while (message := await session.receive(timeout=20))["type"] != "transcript.done":
                if message["type"] == "transcript.delta":
                    pieces.append(message["text"])
            done = message
            assert (await asyncio.wait_for(acked, 10))["type"] == "ack"
    # In the order said, each phrase once (the last may not have come before the end).
    whole = " ".join(said)
    assert "".join(pieces) in (SENTENCES[0], " ".join(said[:2]), whole), pieces
    assert (done["text"], done["transcribed"]) == (whole, True)
    (answer,) = [e for e in await events_of(iv) if e["kind"] == "answer"]
    assert answer["data"]["text"] == whole
    # The watcher saw the live transcript too.
    async with asyncio.timeout(10):
        while (message := await watcher.receive())["type"] != "transcript.delta":
            pass
    await watcher.close()
    assert message["text"] == SENTENCES[0]


async def test_a_failed_transcription_keeps_the_audio_and_goes_on(
    speech_server: ServerProcess, fake: FakeSpeech, interview: Interview
) -> None:
    iv = interview
    track = SpeechTrack(48000)
    async with await CandidateSession.open(iv.candidate, iv.id) as session:
        q1 = await session.next_question()
        async with speaking(session, track):
            # Every request fails: the live transcript's phrase, then the answer's own.
            refused = Failure(401, code="invalid_api_key", message="Incorrect API key provided")
            fake.fail(*[refused] * 10)
            acked = expect_ack(session, f"voice:{q1['question_id']}")
            track.say(spoken(SENTENCES[3], 48000))
            done = await session.receive_until("transcript.done", timeout=20)
            fake.failures.clear()
            assert done["transcribed"] is False and done["text"] == ""
            assert "recording is kept" in done["message"]
            assert (await asyncio.wait_for(acked, 10))["type"] == "ack"
            q2 = await session.next_question()  # the interview goes on
            assert q2["question_id"] != q1["question_id"]
    (answer,) = [e for e in await events_of(iv) if e["kind"] == "answer"]
    assert answer["data"]["transcribed"] is False
    assert answer["data"]["transcription_error"] == "SpeechFailed"
    assert answer["data"]["blob_key"]


async def test_answer_end_with_nothing_to_end(
    speech_server: ServerProcess, interview: Interview
) -> None:
    iv = interview
    track = SpeechTrack(48000)
    async with await CandidateSession.open(iv.candidate, iv.id) as session:
        q1 = await session.next_question()
        end = {"type": "answer.end", "question_id": q1["question_id"]}
        # No microphone yet.
        reply = await session.request({**end, "client_id": uuid.uuid4().hex})
        assert (reply["type"], reply["code"]) == ("error", "no_speech"), reply
        async with speaking(session, track):
            await asyncio.sleep(0.5)
            # Silence only: nothing to end; the answer still waits.
            replies = await asyncio.gather(
                *(session.request({**end, "client_id": f"flood-{i}"}) for i in range(20))
            )
            assert {(r["type"], r["code"]) for r in replies} == {("error", "no_speech")}
            # The wrong question.
            reply = await session.request(
                {"type": "answer.end", "question_id": "q-nope", "client_id": "x"}
            )
            assert (reply["type"], reply["code"]) == ("error", "stale_question")
    assert not [e for e in await events_of(iv) if e["kind"] == "answer"]


async def test_a_typed_interview_refuses_spoken_commands(speech_server: ServerProcess) -> None:
    iv = await new_interview(speech_server)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            q1 = await session.next_question()
            assert q1["answer_mode"] == "text"
            reply = await session.request(
                {"type": "answer.end", "question_id": q1["question_id"], "client_id": "e"}
            )
            assert (reply["type"], reply["code"]) == ("error", "not_voice")
            reply = await session.request(
                {"type": "answer.resume", "question_id": q1["question_id"], "mode": "continue"}
            )
            assert (reply["type"], reply["code"]) == ("error", "not_voice")
    finally:
        await close_clients(iv)


async def test_a_paused_answer_hears_nothing_until_resumed(
    speech_server: ServerProcess, interview: Interview
) -> None:
    iv = interview
    track = SpeechTrack(48000)
    async with await CandidateSession.open(iv.candidate, iv.id) as session:
        q1 = await session.next_question()
        async with speaking(session, track):
            pause = {"type": "answer.pause", "question_id": q1["question_id"]}
            await session.ws.send(json.dumps({**pause, "client_id": "p1", "paused": True}))
            track.say(spoken(SENTENCES[0], 48000) + silence(2.0, 48000))
            await track.said()
            await session.ws.send(json.dumps({**pause, "client_id": "p2", "paused": False}))
            acked = expect_ack(session, f"voice:{q1['question_id']}")
            track.say(spoken(SENTENCES[1], 48000))
            done = await session.receive_until("transcript.done", timeout=20)
            # Only what was said after the resume is the answer.
            assert done["text"] == SENTENCES[1]
            assert (await asyncio.wait_for(acked, 10))["type"] == "ack"


@pytest.fixture(scope="module")
def tts_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend, fake: FakeSpeech
) -> Iterator[ServerProcess]:
    with running_server(
        database_backend,
        tmp_path_factory.mktemp("speech-tts") / "data",
        OPENHIRE_STT_MODEL="whisper-1",
        OPENHIRE_TTS_MODEL="tts-1",
        OPENHIRE_TTS_VOICE="nova",
        OPENHIRE_SPEECH_API_KEY="sk-test",
        OPENHIRE_SPEECH_BASE_URL=fake.base_url,
        check_exit=True,
    ) as srv:
        yield srv


async def test_questions_are_spoken_on_the_servers_track_and_stop_when_the_candidate_speaks(
    tts_server: ServerProcess, fake: FakeSpeech
) -> None:
    """With OPENHIRE_TTS_MODEL: each question is spoken on the server's audio track (heard
    back by the recognizer: the recruiter's custom questions are test sentences), and the
    candidate starting to answer stops it (barge-in)."""
    iv = await new_interview(
        tts_server,
        answer_mode="voice",
        question_count=2,
        follow_ups_per_question=0,
        custom_questions=[SENTENCES[0], SENTENCES[2]],
    )
    track = SpeechTrack(48000)
    heard: list[tuple[float, bytes]] = []
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)

    async def listen(incoming: Any) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await incoming.recv()
                for f in resampler.resample(frame):
                    heard.append((time.monotonic(), f.to_ndarray().tobytes()))

    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            q1 = await session.next_question()
            pc = RTCPeerConnection()
            listening: list[asyncio.Task[None]] = []
            pc.on("track", lambda t: listening.append(asyncio.ensure_future(listen(t))))
            pc.addTransceiver(track, direction="sendrecv")
            assert (await session.offer_media(pc))["type"] == "rtc.answer"
            try:
                await connected(session)
                spoken_q1 = await heard_whole(heard)  # the whole question, spoken
                assert fake.recognise(spoken_q1) == q1["text"] == SENTENCES[0]
                assert fake.spoken[-1]["voice"] == "nova"
                # Answer, then barge in on the second question as soon as it starts.
                acked = expect_ack(session, f"voice:{q1['question_id']}")
                track.say(spoken(SENTENCES[1], 48000))
                await asyncio.wait_for(acked, 20)
                asked_at = time.monotonic()
                q2 = await session.next_question()
                assert q2["text"] == SENTENCES[2]
                await heard_since(heard, asked_at)  # the question starts to be heard
                track.say(spoken(SENTENCES[3], 48000))
                await session.receive_until("speech.started", timeout=10)
                stopped_at = time.monotonic()
                await asyncio.sleep(1.5)
                after = b"".join(pcm for at, pcm in heard if at > stopped_at + 0.5)
                assert after and not np.frombuffer(after, dtype="<i2").any()
            finally:
                await pc.close()
                for task in listening:
                    task.cancel()
    finally:
        await close_clients(iv)


async def heard_whole(heard: list[tuple[float, bytes]], timeout: float = 30.0) -> bytes:
    """All that was heard (16 kHz PCM) once it holds sound and ends in a second of silence
    (what the server's track was saying has come whole), or as it is after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        pcm = b"".join(p for _, p in heard)
        samples = np.frombuffer(pcm, dtype="<i2")
        if samples.any() and len(samples) >= 16000 and not samples[-16000:].any():
            return pcm
        if time.monotonic() > deadline:
            return pcm
        await asyncio.sleep(0.1)


async def heard_since(
    heard: list[tuple[float, bytes]], since: float, timeout: float = 30.0
) -> None:
    """Until a sound is heard that arrived after ``since`` (or ``timeout`` has passed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(np.frombuffer(p, dtype="<i2").any() for at, p in heard if at > since):
            return
        await asyncio.sleep(0.05)


# --- an answer in progress across a reconnect (docs/protocol.md, section 9, "Reconnects") -----


def voiced(sentence: str) -> bytes:
    """``sentence`` spoken, without espeak-ng's own trailing silence."""
    pcm = spoken(sentence, 48000)
    return pcm[: len(pcm) - 2 * int(trailing_silence(pcm) * 48000)]


async def speak_then_drop(iv: Interview, sentence: str) -> str:
    """The candidate starts answering the first question with ``sentence``, and the network
    fails before the answer's silence ends it: the socket and the peer go at once. The
    question's id."""
    track = SpeechTrack(48000)
    session = await CandidateSession.open(iv.candidate, iv.id)
    assert session.ready is not None and session.ready["answer_in_progress"] is None
    q1 = await session.next_question()
    pc = await connect_microphone(session, track)
    track.say(voiced(sentence))
    await session.receive_until("speech.started", timeout=15)
    await track.said()
    # The last syllables reach the server, well within the 1.2 s of silence that would end
    # the answer.
    await asyncio.sleep(0.4)
    drop(session.ws)
    await pc.close()
    with contextlib.suppress(Exception):
        await session.close()
    return str(q1["question_id"])


async def recognised_answers(
    speech_server: ServerProcess, fake: FakeSpeech, iv: Interview
) -> list[tuple[dict[str, Any], str]]:
    """The log's answers, each with what the recognizer hears in its stored WAV."""
    answers = [e for e in await events_of(iv) if e["kind"] == "answer"]
    heard = []
    async with httpx.AsyncClient(base_url=speech_server.url) as http:
        for answer in answers:
            resp = await iv.recruiter.get(f"/interviews/{iv.id}/artifacts")
            (artifact,) = [a for a in resp.json()["items"] if a["event_offset"] == answer["offset"]]
            rate, pcm = pcm_of_wav((await http.get(artifact["url"])).content)
            assert rate == 16000
            heard.append((answer, fake.recognise(pcm)))
    return heard


@contextlib.asynccontextmanager
async def resumed(
    iv: Interview, question_id: str
) -> AsyncIterator[tuple[CandidateSession, SpeechTrack, dict[str, Any]]]:
    """The candidate back for the block: a new socket (whose session.ready has the answer in
    progress) and a new peer, both closed when it ends. The socket, the peer's track and the
    answer in progress."""
    async with await CandidateSession.open(iv.candidate, iv.id) as session:
        assert session.ready is not None
        in_progress = session.ready["answer_in_progress"]
        assert in_progress is not None, session.ready
        assert (in_progress["question_id"], in_progress["status"]) == (question_id, "kept")
        assert 1.0 < in_progress["heard_s"] < 6.0, in_progress
        await session.next_question()  # the question, sent again
        track = SpeechTrack(48000)
        async with speaking(session, track):
            yield session, track, in_progress


async def test_a_dropped_answer_continued_is_one_answer_of_both_parts(
    speech_server: ServerProcess, fake: FakeSpeech, interview: Interview
) -> None:
    iv = interview
    qid = await speak_then_drop(iv, SENTENCES[0])
    async with resumed(iv, qid) as (session, track, in_progress):
        reply = await session.request(
            {"type": "answer.resume", "question_id": qid, "mode": "continue"}
        )
        assert reply["type"] == "answer.resumed", reply
        assert (reply["mode"], reply["heard_s"]) == ("continue", in_progress["heard_s"])
        acked = expect_ack(session, f"voice:{qid}")
        track.say(spoken(SENTENCES[1], 48000))
        done = await session.receive_until("transcript.done", timeout=20)
        assert done["text"] == f"{SENTENCES[0]} {SENTENCES[1]}"
        assert (await asyncio.wait_for(acked, 10))["type"] == "ack"
    ((answer, heard),) = await recognised_answers(speech_server, fake, iv)
    assert answer["data"]["question_id"] == qid
    assert answer["data"]["text"] == heard == f"{SENTENCES[0]} {SENTENCES[1]}"
    assert answer["data"]["ended_by"] == "silence"
    # The audio is the kept part and the new one: its span starts before the drop.
    assert answer["data"]["duration_s"] > in_progress["heard_s"] + 1.0
    events = await events_of(iv)
    drop_at = next(
        e["at"] for e in events if e["kind"] == "connection" and e["data"]["status"] != "connected"
    )
    assert answer["data"]["speech_start"] < drop_at < answer["data"]["speech_end"]
    assert [e["data"]["question_id"] for e in events if e["kind"] == "answer.started"] == [qid]


async def test_a_dropped_answer_restarted_is_only_the_new_part(
    speech_server: ServerProcess, fake: FakeSpeech, interview: Interview
) -> None:
    iv = interview
    qid = await speak_then_drop(iv, SENTENCES[0])
    async with resumed(iv, qid) as (session, track, _):
        resume = {"type": "answer.resume", "question_id": qid, "mode": "restart"}
        reply = await session.request(dict(resume))
        assert (reply["type"], reply["mode"], reply["heard_s"]) == ("answer.resumed", "restart", 0)
        # Nothing is held any more.
        reply = await session.request(dict(resume))
        assert (reply["type"], reply["code"]) == ("error", "no_answer_in_progress"), reply
        acked = expect_ack(session, f"voice:{qid}")
        track.say(spoken(SENTENCES[1], 48000))
        done = await session.receive_until("transcript.done", timeout=20)
        assert done["text"] == SENTENCES[1]
        assert (await asyncio.wait_for(acked, 10))["type"] == "ack"
    ((answer, heard),) = await recognised_answers(speech_server, fake, iv)
    assert answer["data"]["text"] == heard == SENTENCES[1]


async def test_an_answer_end_after_a_drop_commits_what_was_kept(
    speech_server: ServerProcess, fake: FakeSpeech, interview: Interview
) -> None:
    """Neither continue nor restart: the answer is still in progress, and "I'm done" ends it
    with what was heard before the drop."""
    iv = interview
    qid = await speak_then_drop(iv, SENTENCES[2])
    async with resumed(iv, qid) as (session, _, _):
        reply = await session.request(
            {"type": "answer.end", "question_id": qid, "client_id": "done-after-drop"}
        )
        assert reply["type"] == "ack", reply
    ((answer, heard),) = await recognised_answers(speech_server, fake, iv)
    assert answer["client_id"] == "done-after-drop"
    assert answer["data"]["text"] == heard == SENTENCES[2]
    assert answer["data"]["ended_by"] == "client"


async def test_bad_answer_resumes_are_refused_and_store_nothing(
    speech_server: ServerProcess, interview: Interview
) -> None:
    iv = interview
    async with await CandidateSession.open(iv.candidate, iv.id) as session:
        q1 = await session.next_question()
        resume = {"type": "answer.resume", "question_id": q1["question_id"]}
        # Nothing was left open: no audio yet, then audio but no drop.
        reply = await session.request({**resume, "mode": "continue"})
        assert (reply["type"], reply["code"]) == ("error", "no_answer_in_progress"), reply
        track = SpeechTrack(48000)
        async with speaking(session, track):
            await asyncio.sleep(0.5)
            reply = await session.request({**resume, "mode": "restart"})
            assert (reply["type"], reply["code"]) == ("error", "no_answer_in_progress")
    qid = await speak_then_drop(iv, SENTENCES[0])
    async with resumed(iv, qid) as (session, _, _):
        resume = {"type": "answer.resume", "question_id": qid}
        reply = await session.request({**resume, "question_id": "q9", "mode": "continue"})
        assert (reply["type"], reply["code"]) == ("error", "stale_question"), reply
        reply = await session.request({**resume, "mode": "again"})
        assert (reply["type"], reply["code"]) == ("error", "invalid"), reply
        reply = await session.request({"type": "answer.resume", "question_id": qid})
        assert (reply["type"], reply["code"]) == ("error", "invalid"), reply
        # None of them touched the answer in progress: it is still there to continue.
        reply = await session.request({**resume, "mode": "continue"})
        assert reply["type"] == "answer.resumed", reply
    events = await events_of(iv)
    assert not [e for e in events if e["kind"] in ("answer", "answer.late")]


async def test_a_server_restart_mid_answer_loses_it_and_says_so(
    speech_server: ServerProcess, fake: FakeSpeech, interview: Interview
) -> None:
    """SIGKILL while the candidate speaks: the answer (never acked) is gone, and the next
    session.ready says so, once; the candidate answers again."""
    iv = interview
    track = SpeechTrack(48000)
    session = await CandidateSession.open(iv.candidate, iv.id)
    q1 = await session.next_question()
    qid = q1["question_id"]
    async with speaking(session, track):
        track.say(spoken(SENTENCES[0], 48000) + spoken(SENTENCES[1], 48000))
        await session.receive_until("speech.started", timeout=15)
        for _ in range(100):  # the marker is committed
            if [e for e in await events_of(iv) if e["kind"] == "answer.started"]:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("no answer.started in the log")
        speech_server.kill()
        await session.receive_until("_closed", timeout=10)
    speech_server.start()
    async with await CandidateSession.open(iv.candidate, iv.id) as session:
        assert session.ready is not None
        lost = session.ready["answer_in_progress"]
        assert lost == {"question_id": qid, "status": "lost", "heard_s": None}, session.ready
        await session.next_question()
        reply = await session.request(
            {"type": "answer.resume", "question_id": qid, "mode": "continue"}
        )
        assert (reply["type"], reply["code"]) == ("error", "no_answer_in_progress"), reply
    # Told once.
    async with await CandidateSession.open(iv.candidate, iv.id) as session:
        assert session.ready is not None and session.ready["answer_in_progress"] is None
        await session.next_question()
        track = SpeechTrack(48000)
        async with speaking(session, track):
            acked = expect_ack(session, f"voice:{qid}")
            track.say(spoken(SENTENCES[3], 48000))
            done = await session.receive_until("transcript.done", timeout=20)
            assert done["text"] == SENTENCES[3]
            assert (await asyncio.wait_for(acked, 10))["type"] == "ack"
    ((answer, heard),) = await recognised_answers(speech_server, fake, iv)
    assert answer["data"]["text"] == heard == SENTENCES[3]
