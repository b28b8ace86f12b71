"""The end of a spoken answer (server/speech/vad.py), on real speech from espeak-ng."""

from __future__ import annotations

import pytest

from server.speech.vad import (
    AnswerEnded,
    Endpointer,
    PhraseHeard,
    SpeechDropped,
    SpeechEvent,
    SpeechStarted,
)
from tests.speech_audio import SENTENCES, mix, noise, seconds, silence, spoken

CHUNK = 640  # 20 ms at 16 kHz: aiortc's audio frames are 20 ms


def run(
    endpointer: Endpointer, audio: bytes, *, chunk: int = CHUNK
) -> list[tuple[float, SpeechEvent]]:
    """Feed ``audio`` in chunks; each event with the stream position it came at."""
    events: list[tuple[float, SpeechEvent]] = []
    for i in range(0, len(audio), chunk):
        for event in endpointer.feed(audio[i : i + chunk]):
            events.append((endpointer.position, event))
    return events


def answers(events: list[tuple[float, SpeechEvent]]) -> list[AnswerEnded]:
    return [e for _, e in events if isinstance(e, AnswerEnded)]


def test_an_answer_ends_after_the_configured_silence() -> None:
    sentence = spoken(SENTENCES[0])
    events = run(Endpointer(), silence(1.0) + sentence + silence(2.0))
    assert [type(e) for _, e in events] == [SpeechStarted, AnswerEnded]
    (_, started), (ended_at, answer) = events
    assert isinstance(started, SpeechStarted) and isinstance(answer, AnswerEnded)
    assert answer.reason == "silence"
    assert 0.9 <= answer.speech_start <= 1.15
    assert 1.0 + seconds(sentence) - 0.6 <= answer.speech_end <= 1.0 + seconds(sentence)
    # It ended 1.2 s after speech stopped, not sooner, not much later.
    assert 1.19 <= ended_at - answer.speech_end <= 1.3
    # Its audio is the sentence, with a little before and after.
    assert seconds(sentence) - 0.4 <= answer.duration <= seconds(sentence) + 0.4
    assert answer.pcm.count(b"\0" * 64) < len(answer.pcm) // 64 // 2


def test_pauses_inside_an_answer_do_not_end_it() -> None:
    # espeak-ng ends each sentence with about 0.3 s of silence of its own: these pauses are
    # about 0.7 s and 0.9 s long.
    audio = (
        silence(0.5)
        + spoken(SENTENCES[0])
        + silence(0.4)
        + spoken(SENTENCES[1])
        + silence(0.6)
        + spoken(SENTENCES[2])
        + silence(1.6)
    )
    (answer,) = answers(run(Endpointer(), audio))
    spoken_s = sum(seconds(spoken(s)) for s in SENTENCES[:3])
    assert answer.duration >= spoken_s + 0.6


def phrases(events: list[tuple[float, SpeechEvent]]) -> list[tuple[float, PhraseHeard]]:
    return [(at, e) for at, e in events if isinstance(e, PhraseHeard)]


def test_an_answer_is_cut_into_phrases_at_its_pauses_as_it_is_spoken() -> None:
    first, second, third = (spoken(s) for s in SENTENCES[:3])
    audio = silence(0.5) + first + silence(0.4) + second + silence(0.6) + third + silence(1.6)
    events = run(Endpointer(phrase_silence_s=0.3), audio)
    (answer,) = answers(events)
    cut = phrases(events)
    ended_at = next(at for at, e in events if e is answer)
    # A phrase at each pause, the last one's too: out while the answer goes on (it cannot be
    # known yet that the last pause ends the answer).
    ends = [0.5 + seconds(first), 0.5 + seconds(first) + 0.4 + seconds(second)]
    ends.append(ends[1] + 0.6 + seconds(third))
    assert len(cut) == 3, [(at, p.duration) for at, p in cut]
    for (at, _), end in zip(cut, ends, strict=True):
        # Out within the pause after the sentence (espeak's own trailing silence, plus ours).
        assert end - 0.4 <= at <= end + 0.5, (at, end)
    assert cut[1][0] < ended_at - 1.5 and cut[2][0] <= ended_at - 0.8
    # The phrases are the answer's audio, in order, from its start; each about its sentence.
    joined = b"".join(p.pcm for _, p in cut)
    assert answer.pcm.startswith(joined)
    assert len(answer.pcm) - len(joined) <= 2 * int(16000 * 0.35)
    for (_, phrase), sentence in zip(cut, (first, second, third), strict=True):
        assert abs(phrase.duration - seconds(sentence)) <= 0.5, (phrase.duration, seconds(sentence))


def test_phrases_need_a_pause_longer_than_between_words_or_a_long_run() -> None:
    sentence = spoken(SENTENCES[2])
    # One sentence: one phrase, the whole of it (words are not cut apart).
    events = run(Endpointer(phrase_silence_s=0.3), silence(0.5) + sentence + silence(2))
    ((_, phrase),) = phrases(events)
    assert seconds(sentence) - 0.4 <= phrase.duration <= seconds(sentence) + 0.4
    # Without phrase_silence_s there are none at all, even at pauses.
    audio = silence(0.5) + sentence + silence(0.6) + sentence + silence(2)
    assert phrases(run(Endpointer(), audio)) == []
    # Speech with no pause for longer than MAX_PHRASE_S is cut anyway, every 8 s of audio.
    long_run = b"".join(spoken(s)[: -2 * 16000 // 4] for s in SENTENCES * 3)  # pauses trimmed
    events = run(Endpointer(phrase_silence_s=0.6, max_answer_s=60), silence(0.5) + long_run)
    durations = [p.duration for _, p in phrases(events)]
    assert durations and all(d <= 8.0 + 0.05 for d in durations), durations
    assert any(d >= 7.9 for d in durations), durations


def test_a_shorter_silence_setting_splits_at_the_pause() -> None:
    audio = silence(0.5) + spoken(SENTENCES[0]) + silence(0.9) + spoken(SENTENCES[1])
    first, second = answers(run(Endpointer(end_silence_s=0.6), audio + silence(1.0)))
    assert first.speech_end < 0.5 + seconds(spoken(SENTENCES[0])) < second.speech_start


def test_too_short_a_sound_is_no_answer() -> None:
    blip = spoken(SENTENCES[0])[: 2 * int(0.2 * 16000)]
    assert answers(run(Endpointer(min_speech_s=0.5), silence(1) + blip + silence(2))) == []
    # The same sound is an answer when the minimum allows it.
    assert len(answers(run(Endpointer(min_speech_s=0.1), silence(1) + blip + silence(2)))) == 1


def test_an_answer_is_cut_at_the_maximum_length() -> None:
    endpointer = Endpointer(max_answer_s=1.5)
    events = run(endpointer, silence(0.5) + spoken(SENTENCES[0]))
    first = answers(events)[0]
    assert first.reason == "max_length"
    assert 1.4 <= first.speech_end - first.speech_start <= 1.6
    at = next(position for position, e in events if e is first)
    assert at <= first.speech_start + 1.6


@pytest.mark.parametrize(
    "audio",
    [
        pytest.param(silence(6.0), id="digital-silence"),
        pytest.param(noise(6.0, level=20), id="near-silence"),
        pytest.param(noise(6.0, level=800), id="steady-noise"),
        pytest.param(noise(6.0, level=6000), id="loud-noise"),
        pytest.param(silence(2.0) + noise(6.0, level=3000), id="noise-starting-later"),
    ],
)
def test_silence_and_noise_give_no_answer(audio: bytes) -> None:
    endpointer = Endpointer()
    events = run(endpointer, audio)
    assert answers(events) == []
    dropped = [e for _, e in events if isinstance(e, SpeechDropped)]
    started = [e for _, e in events if isinstance(e, SpeechStarted)]
    assert len(started) == len(dropped)  # whatever started was dropped as noise
    assert endpointer.finish() is None


def test_speech_over_background_noise_is_one_answer() -> None:
    sentence = spoken(SENTENCES[2])
    audio = mix(silence(1.5) + sentence + silence(2.5), noise(10, level=800))
    (answer,) = answers(run(Endpointer(), audio))
    # Found a little late under noise (the first sound is a soft 't'); the pre-roll keeps it.
    assert 1.3 <= answer.speech_start <= 2.0
    assert answer.speech_start - 0.3 <= 1.6
    assert answer.speech_end >= 1.5 + seconds(sentence) - 0.7


def test_pause_and_resume_keep_one_answer_without_the_paused_audio() -> None:
    endpointer = Endpointer()
    first = run(endpointer, silence(0.5) + spoken(SENTENCES[0])[: 2 * 16000 * 2])
    assert [type(e) for _, e in first] == [SpeechStarted]
    endpointer.pause()
    assert run(endpointer, silence(4.0) + spoken(SENTENCES[3]) + silence(2.0)) == []
    endpointer.resume()
    (answer,) = answers(run(endpointer, spoken(SENTENCES[1]) + silence(1.5)))
    # Only what was heard unpaused is kept: 2 s of the first sentence, the whole second one.
    assert 2.0 + seconds(spoken(SENTENCES[1])) - 0.3 <= answer.duration <= 2.0 + 3.2
    assert answer.speech_end > 0.5 + 2 + 4 + seconds(spoken(SENTENCES[3])) + 2


def test_the_candidate_ends_an_answer_at_once() -> None:
    endpointer = Endpointer()
    run(endpointer, silence(0.5) + spoken(SENTENCES[0])[: 2 * int(16000 * 1.5) + 100])
    answer = endpointer.finish()
    assert isinstance(answer, AnswerEnded) and answer.reason == "client"
    assert 1.2 <= answer.duration <= 1.9
    # Nothing is left open: a second "I'm done" ends nothing.
    assert endpointer.finish() is None and not endpointer.speaking


def test_48_khz_audio() -> None:
    sentence = spoken(SENTENCES[1], 48000)
    events = run(
        Endpointer(sample_rate=48000),
        silence(0.5, 48000) + sentence + silence(2, 48000),
        chunk=1920,
    )
    (answer,) = answers(events)
    assert answer.sample_rate == 48000
    assert abs(answer.duration - seconds(sentence, 48000)) <= 0.4


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        Endpointer(sample_rate=44100)
    with pytest.raises(ValueError, match="16-bit"):
        Endpointer().feed(b"\0\0\0")
