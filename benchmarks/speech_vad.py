"""CPU of the spoken-answer path per voice session, for docs/benchmarks.md (run it by hand).

    .venv/bin/python -m benchmarks.speech_vad [--seconds 120]

One candidate's microphone, as the server receives it from aiortc (20 ms frames of 48 kHz):
``--seconds`` of audio made of sentences spoken by espeak-ng, pauses and steady background
noise, then silence. It measures, in this process's CPU time, what the server adds per voice
session on top of the media path (Opus decoding and the recording are section "Media"'s):
resampling each frame to 16 kHz mono s16 (``av.AudioResampler``, as ``LiveInterview.media_audio``
does) and the end-of-answer detector (``Endpointer.feed``, cutting the live transcript's
phrases as the server does). It prints CPU milliseconds per second of audio and the sessions one
core would hold at that rate. Then the audio recording's encode (the media path's, shown apart):
the same frames through ``server/media/recorder.py``'s segment writer (Opus, mono, 32 kbit/s),
at the server's libopus complexity and at libopus's default, with the bytes a minute each makes.
"""

from __future__ import annotations

import argparse
import fractions
import shutil
import subprocess
import tempfile
import time
import wave
from pathlib import Path

import av
import numpy as np

from server.media import recorder
from server.speech.answers import PHRASE_SILENCE_S
from server.speech.vad import AnswerEnded, Endpointer, PhraseHeard

SENTENCES = (
    "i have built web services in python for six years",
    "we moved the database to a new server last spring",
    "tests run on every change before it is merged",
    "i would measure before i change anything",
)


def espeak(text: str) -> tuple[int, np.ndarray]:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise SystemExit("espeak-ng is not installed (scripts/_setup.sh installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.wav"
        subprocess.run([binary, "-v", "en-us", "-w", str(path), text], check=True)
        with wave.open(str(path), "rb") as w:
            return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def audio_48k(seconds: float) -> np.ndarray:
    """Sentences with pauses of 0.5-2 s between them, over low noise, ``seconds`` long."""
    rng = np.random.default_rng(7)
    pieces: list[np.ndarray] = []
    total = 0
    i = 0
    while total < seconds * 48000:
        rate, speech = espeak(SENTENCES[i % len(SENTENCES)])
        at = np.arange(int(len(speech) * 48000 / rate)) * (rate / 48000)
        up = np.interp(at, np.arange(len(speech)), speech.astype(np.float64))
        pause = np.zeros(int(48000 * (0.5 + 1.5 * rng.random())))
        pieces += [up, pause]
        total += len(up) + len(pause)
        i += 1
    mixed = np.concatenate(pieces)[: int(seconds * 48000)]
    mixed += rng.normal(0, 300, len(mixed))
    result: np.ndarray = np.clip(mixed, -32768, 32767).astype(np.int16)
    return result


def frames(samples: np.ndarray) -> list[av.AudioFrame]:
    out = []
    for n, start in enumerate(range(0, len(samples) - 959, 960)):
        stereo = np.repeat(samples[start : start + 960], 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = 48000
        frame.pts = n * 960
        frame.time_base = fractions.Fraction(1, 48000)
        out.append(frame)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    made = frames(audio_48k(args.seconds))
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
    began = time.process_time()
    pcm = [b"".join(f.to_ndarray().tobytes() for f in resampler.resample(frame)) for frame in made]
    resample_s = time.process_time() - began
    endpointer = Endpointer(phrase_silence_s=PHRASE_SILENCE_S)
    answers = phrases = 0
    began = time.process_time()
    for chunk in pcm:
        events = endpointer.feed(chunk)
        answers += sum(isinstance(e, AnswerEnded) for e in events)
        phrases += sum(isinstance(e, PhraseHeard) for e in events)
    vad_s = time.process_time() - began
    audio_s = len(made) * 0.02
    per_s = (resample_s + vad_s) / audio_s
    print(
        f"audio: {audio_s:.0f} s in {len(made)} frames of 20 ms;"
        f" answers found: {answers}, phrases: {phrases}"
    )
    print(f"resample 48k stereo -> 16k mono: {1000 * resample_s / audio_s:.2f} ms CPU per s")
    print(f"end-of-answer detector:          {1000 * vad_s / audio_s:.2f} ms CPU per s")
    print(f"both: {100 * per_s:.2f} % of one core per voice session;"
          f" {1 / per_s:.0f} sessions per core for this part")  # fmt: skip
    for complexity in (recorder.AUDIO_COMPLEXITY, "10"):
        cpu_s, size = record(made, complexity)
        print(
            f"recording (libopus complexity {complexity}): {100 * cpu_s / audio_s:.2f} % of one"
            f" core per session, {size / audio_s * 60 / 1e6:.2f} MB a minute"
        )


def record(made: list[av.AudioFrame], complexity: str) -> tuple[float, int]:
    """CPU seconds and bytes of the frames recorded as the server's segment writer does."""
    kept = recorder.AUDIO_COMPLEXITY
    recorder.AUDIO_COMPLEXITY = complexity
    try:
        segment = recorder._Open("audio", 0.0)
        began = time.process_time()
        segment.encode([(frame, n * 0.02) for n, frame in enumerate(made)])
        data = segment.finish() or b""
        return time.process_time() - began, len(data)
    finally:
        recorder.AUDIO_COMPLEXITY = kept


if __name__ == "__main__":
    main()
