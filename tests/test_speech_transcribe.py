"""Transcription (server/speech/transcribe.py) against the loopback stand-in, whose real
recognizer (PocketSphinx, held to the test sentences) proves what audio reached it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from openai import AsyncOpenAI, BadRequestError

from server.errors import SpeechFailed, SpeechUnavailable
from server.speech.transcribe import Transcriber, wav_bytes
from server.speech.vad import PRE_ROLL_S, AnswerEnded, Endpointer
from tests.fake_speech import Failure, FakeSpeech, serve_fake_speech
from tests.speech_audio import SENTENCES, noise, require_espeak, seconds, silence, spoken


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSpeech]:
    require_espeak()
    with serve_fake_speech() as fake:
        yield fake


@pytest.fixture
async def transcriber(fake: FakeSpeech) -> AsyncIterator[Transcriber]:
    fake.failures.clear()
    transcriber = Transcriber(
        api_key="sk-test",
        model="whisper-1",
        base_url=fake.base_url,
        attempts=3,
        retry_base_delay_s=0.05,
        retry_max_delay_s=0.2,
    )
    yield transcriber
    await transcriber.aclose()


def endpoint(audio: bytes, **options: float) -> list[AnswerEnded]:
    endpointer = Endpointer(**options)  # type: ignore[arg-type]
    found: list[AnswerEnded] = []
    for i in range(0, len(audio), 640):
        found += [e for e in endpointer.feed(audio[i : i + 640]) if isinstance(e, AnswerEnded)]
    return found


async def test_an_answer_found_by_the_vad_is_heard_word_for_word(
    fake: FakeSpeech, transcriber: Transcriber
) -> None:
    for sentence in SENTENCES:
        (answer,) = endpoint(silence(1.0) + spoken(sentence) + silence(2.0))
        transcript = await transcriber.transcribe(answer.pcm, answer.sample_rate)
        assert transcript.text == sentence
        assert (transcript.model, transcript.attempts) == ("whisper-1", 1)
    heard = fake.requests[-1]
    # whisper-1 times its text: asked for segment timestamps.
    assert heard.fields["model"] == "whisper-1"
    assert heard.fields["response_format"] == "verbose_json"
    assert heard.timestamp_granularities == ["segment"]
    assert heard.sample_rate == 16000


async def test_an_answer_with_pauses_is_heard_whole(transcriber: Transcriber) -> None:
    audio = silence(0.5) + spoken(SENTENCES[0]) + silence(0.5) + spoken(SENTENCES[3])
    (answer,) = endpoint(audio + silence(2.0))
    transcript = await transcriber.transcribe(answer.pcm, answer.sample_rate)
    assert transcript.text == f"{SENTENCES[0]} {SENTENCES[3]}"


async def test_an_answer_keeps_its_sentences_timed_where_they_were_said(
    fake: FakeSpeech, transcriber: Transcriber
) -> None:
    """From the stand-in's verbose_json (a segment per sentence, timed by the recognizer):
    each sentence with the second it starts and ends in the answer's own audio."""
    lead, first, pause = silence(0.5), spoken(SENTENCES[0]), silence(0.8)
    audio = lead + first + pause + spoken(SENTENCES[3])
    (answer,) = endpoint(audio + silence(2.0))
    transcript = await transcriber.transcribe(answer.pcm, answer.sample_rate)
    assert transcript.text == f"{SENTENCES[0]} {SENTENCES[3]}"
    assert transcript.sentences is not None
    one, two = transcript.sentences
    assert (one["text"], two["text"]) == (SENTENCES[0], SENTENCES[3])
    # The answer's audio begins a pre-roll before speech (server/speech/vad.py): where each
    # sentence was spoken in it follows from how the test audio was made.
    begins = answer.speech_start - PRE_ROLL_S
    said_first = seconds(lead) - begins
    said_second = seconds(lead + first + pause) - begins
    assert one["start_s"] == pytest.approx(said_first, abs=0.25)
    assert two["start_s"] == pytest.approx(said_second, abs=0.25)
    assert one["start_s"] < one["end_s"] <= two["start_s"] < two["end_s"]
    assert two["end_s"] <= answer.duration


async def test_a_model_that_cannot_time_its_text_gives_no_sentences(fake: FakeSpeech) -> None:
    """gpt-4o-transcribe takes json only: asked for json at once. A model that refuses
    verbose_json (the stand-in refuses it as OpenAI does) is asked again for json, and never
    for timing again; its answers have no sentences rather than guessed ones."""
    untimed = Transcriber(api_key="sk-test", model="gpt-4o-transcribe", base_url=fake.base_url)
    before, refused = len(fake.requests), len(fake.refused)
    transcript = await untimed.transcribe(spoken(SENTENCES[1]), 16000)
    assert (transcript.text, transcript.sentences) == (SENTENCES[1], None)
    assert [r.fields["response_format"] for r in fake.requests[before:]] == ["json"]
    assert len(fake.refused) == refused  # not asked for what it cannot give
    await untimed.aclose()
    # A model name not known to be untimed, which the stand-in refuses verbose_json for.
    refusing = Transcriber(
        api_key="sk-test", model="gpt-4o-mini-transcribe-2025", base_url=fake.base_url
    )
    refusing.timed = True  # as for any model name the transcriber does not know
    before = len(fake.requests)
    first = await refusing.transcribe(spoken(SENTENCES[2]), 16000)
    second = await refusing.transcribe(spoken(SENTENCES[2]), 16000)
    assert first.text == second.text == SENTENCES[2] and first.attempts == 1
    assert first.sentences is None and second.sentences is None and not refusing.timed
    # Refused once (verbose_json), then json for this answer and the next.
    assert [r["response_format"] for r in fake.refused[refused:]] == ["verbose_json"]
    assert [r.fields["response_format"] for r in fake.requests[before:]] == ["json", "json"]
    await refusing.aclose()


async def test_audio_cut_in_the_wrong_place_is_not_heard_as_the_sentence(
    transcriber: Transcriber,
) -> None:
    """The recognizer is a real check: a sentence cut short, an answer split at a pause too
    short for the setting, or noise, is not given back as the sentences."""
    sentence = spoken(SENTENCES[1])
    half = (await transcriber.transcribe(sentence[: len(sentence) // 2 & ~1], 16000)).text
    assert half != SENTENCES[1]
    (cut,) = endpoint(silence(0.5) + sentence + silence(2.0), max_answer_s=1.0)[:1]
    assert (await transcriber.transcribe(cut.pcm, 16000)).text != SENTENCES[1]
    assert (await transcriber.transcribe(noise(2.0), 16000)).text == ""


async def test_48_khz_answers_are_sent_at_their_rate(
    fake: FakeSpeech, transcriber: Transcriber
) -> None:
    endpointer = Endpointer(sample_rate=48000)
    found: list[AnswerEnded] = []
    audio = silence(0.5, 48000) + spoken(SENTENCES[2], 48000) + silence(2.0, 48000)
    for i in range(0, len(audio), 1920):
        found += [e for e in endpointer.feed(audio[i : i + 1920]) if isinstance(e, AnswerEnded)]
    (answer,) = found
    transcript = await transcriber.transcribe(answer.pcm, answer.sample_rate)
    assert transcript.text == SENTENCES[2]
    assert fake.requests[-1].sample_rate == 48000


async def test_transient_failures_are_retried_with_backoff(
    fake: FakeSpeech, transcriber: Transcriber
) -> None:
    fake.fail(
        Failure(503), Failure(429, code="rate_limit_exceeded", headers={"Retry-After": "0.3"})
    )
    began = time.monotonic()
    transcript = await transcriber.transcribe(spoken(SENTENCES[0]), 16000)
    assert transcript.text == SENTENCES[0] and transcript.attempts == 3
    # Waited the backoff (at least 0.025 s after the 503), then the 429's Retry-After, which
    # is capped at the longest delay (0.2 s here): more than the backoff alone (at most
    # 0.05 + 0.1 s) would have waited.
    assert time.monotonic() - began >= 0.025 + min(0.3, transcriber.retry_delay.max_s)


async def test_transient_failures_past_the_attempts_are_unavailable(
    fake: FakeSpeech, transcriber: Transcriber
) -> None:
    fake.fail(Failure(500), Failure(502), Failure(503), Failure(503))
    with pytest.raises(SpeechUnavailable, match="3 times"):
        await transcriber.transcribe(spoken(SENTENCES[0]), 16000)
    assert len(fake.failures) == 1  # three attempts, no more
    fake.failures.clear()


@pytest.mark.parametrize(
    "failure",
    [
        Failure(401, code="invalid_api_key", message="Incorrect API key provided"),
        Failure(400, code="invalid_value", message="Invalid file format."),
        Failure(404, code="model_not_found", message="The model does not exist"),
        Failure(429, code="insufficient_quota", message="You exceeded your current quota"),
    ],
    ids=["401", "400", "404", "429-quota"],
)
async def test_permanent_failures_are_not_retried(
    fake: FakeSpeech, transcriber: Transcriber, failure: Failure
) -> None:
    fake.fail(failure, Failure(503))
    with pytest.raises(SpeechFailed, match=str(failure.status)):
        await transcriber.transcribe(spoken(SENTENCES[0]), 16000)
    assert len(fake.failures) == 1
    fake.failures.clear()


async def test_a_timeout_is_transient(fake: FakeSpeech) -> None:
    quick = Transcriber(
        api_key="sk-test",
        model="whisper-1",
        base_url=fake.base_url,
        timeout_s=0.2,
        attempts=2,
        retry_base_delay_s=0.01,
    )
    fake.fail(Failure(200, delay_s=1.0))
    transcript = await quick.transcribe(spoken(SENTENCES[3]), 16000)
    assert transcript.text == SENTENCES[3] and transcript.attempts == 2
    await quick.aclose()


async def test_a_streamed_transcript_arrives_as_deltas(fake: FakeSpeech) -> None:
    streaming = Transcriber(
        api_key="sk-test", model="gpt-4o-transcribe", base_url=fake.base_url, stream=True
    )
    deltas: list[str] = []

    async def on_delta(text: str) -> None:
        deltas.append(text)

    transcript = await streaming.transcribe(spoken(SENTENCES[1]), 16000, on_delta=on_delta)
    assert transcript.text == SENTENCES[1]
    assert "".join(deltas) == SENTENCES[1] and len(deltas) == len(SENTENCES[1].split())
    assert fake.requests[-1].fields["stream"] == "true"
    await streaming.aclose()


async def test_the_stand_in_speaks_openais_shapes(fake: FakeSpeech) -> None:
    """verbose_json and text responses, OpenAI's error body, and audio.speech."""
    client = AsyncOpenAI(api_key="sk-test", base_url=fake.base_url, max_retries=0)
    file = ("a.wav", wav_bytes(spoken(SENTENCES[0]), 16000), "audio/wav")
    verbose = await client.audio.transcriptions.create(
        file=file, model="whisper-1", response_format="verbose_json"
    )
    assert verbose.text == SENTENCES[0] and verbose.language == "english"
    (segment,) = verbose.segments or []
    assert segment.text == " " + SENTENCES[0]
    assert 0 <= segment.start < segment.end <= verbose.duration
    # What OpenAI refuses: verbose_json from a json-only model, timestamps without it.
    for model, fmt, param in (
        ("gpt-4o-transcribe", "verbose_json", "response_format"),
        ("whisper-1", "json", "timestamp_granularities"),
    ):
        with pytest.raises(BadRequestError) as refused:
            await client.audio.transcriptions.create(  # type: ignore[call-overload]
                file=file, model=model, response_format=fmt, timestamp_granularities=["segment"]
            )
        assert (refused.value.param, refused.value.status_code) == (param, 400)
    async with httpx.AsyncClient(base_url=fake.base_url) as raw:
        text = await raw.post(
            "/audio/transcriptions",
            data={"model": "whisper-1", "response_format": "text"},
            files={"file": file},
        )
        assert text.text == SENTENCES[0] + "\n"
        bad = await raw.post(
            "/audio/transcriptions",
            data={"model": "whisper-1"},
            files={"file": ("a.mp3", b"ID3 not a wav", "audio/mpeg")},
        )
        assert bad.status_code == 400
        assert set(bad.json()["error"]) == {"message", "type", "param", "code"}
    # Speech: synthesised, then recognised back.
    speech = await client.audio.speech.create(
        model="tts-1", voice="alloy", input=SENTENCES[2], response_format="pcm"
    )
    pcm24 = await speech.aread()
    import numpy as np

    from tests.speech_audio import resample

    pcm16 = resample(np.frombuffer(pcm24, dtype="<i2"), 24000, 16000).tobytes()
    assert fake.recognise(pcm16) == SENTENCES[2]
    await client.close()


async def test_questions_are_spoken_by_the_speech_api(fake: FakeSpeech) -> None:
    """server/speech/synthesize.py: the question comes back as speech (heard again by the
    recognizer), with the configured model and voice; a refused request fails at once."""
    import numpy as np

    from server.errors import SpeechFailed as Failed
    from server.speech.synthesize import PCM_RATE, Synthesizer
    from tests.speech_audio import resample

    synthesizer = Synthesizer(
        api_key="sk-test", model="tts-1", voice="nova", base_url=fake.base_url
    )
    pcm = await synthesizer.speak(SENTENCES[3])
    assert fake.spoken[-1]["voice"] == "nova" and fake.spoken[-1]["model"] == "tts-1"
    assert fake.spoken[-1]["response_format"] == "pcm"
    heard = resample(np.frombuffer(pcm, dtype="<i2"), PCM_RATE, 16000).tobytes()
    assert fake.recognise(heard) == SENTENCES[3]
    broken = Synthesizer(api_key="sk-test", model="", voice="nova", base_url=fake.base_url)
    with pytest.raises(Failed, match="400"):
        await broken.speak("hello")
    await synthesizer.aclose()
    await broken.aclose()


async def test_speech_in_another_language_is_an_answer_with_what_was_heard(
    transcriber: Transcriber,
) -> None:
    """Defined behaviour: the answer is found and sent like any other; its text is what the
    model makes of it (here: no test sentence, so nothing), and it is scored from that text.
    OPENHIRE_STT_LANGUAGE tells the model which language to expect."""
    french = spoken("j'ai construit des services web en python pendant six ans", voice="fr")
    (answer,) = endpoint(silence(0.5) + french + silence(2.0))
    transcript = await transcriber.transcribe(answer.pcm, answer.sample_rate)
    assert transcript.text not in SENTENCES
    assert transcript.attempts == 1


async def test_the_language_setting_is_sent(fake: FakeSpeech) -> None:
    pinned = Transcriber(
        api_key="sk-test", model="whisper-1", base_url=fake.base_url, language="en"
    )
    transcript = await pinned.transcribe(spoken(SENTENCES[0]), 16000)
    assert transcript.text == SENTENCES[0]
    assert fake.requests[-1].fields["language"] == "en"
    await pinned.aclose()
