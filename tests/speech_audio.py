"""Real speech for the speech tests: sentences spoken by espeak-ng (Debian's package, installed
by scripts/_setup.sh), as 16-bit mono PCM, with silence and noise to put around them."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest

ESPEAK = shutil.which("espeak-ng")
RATE = 16000

# The sentences the tests speak; the transcription stand-in's grammar knows exactly these.
SENTENCES = (
    "i have built web services in python for six years",
    "we moved the database to a new server last spring",
    "tests run on every change before it is merged",
    "i would measure before i change anything",
)


def require_espeak() -> str:
    if ESPEAK is None:
        message = "espeak-ng is not installed (scripts/_setup.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return ESPEAK


@functools.lru_cache(maxsize=64)
def spoken(text: str, rate: int = RATE, voice: str = "en-us") -> bytes:
    """``text`` spoken by espeak-ng in ``voice``, at ``rate`` Hz (16-bit mono PCM)."""
    espeak = require_espeak()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run([espeak, "-v", voice, "-w", str(path), text], check=True)
        with wave.open(str(path), "rb") as wav:
            assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
            source_rate = wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return resample(samples, source_rate, rate).tobytes()


def resample(samples: np.ndarray, source: int, target: int) -> np.ndarray:
    if source == target:
        return samples.astype("<i2")
    count = int(len(samples) * target / source)
    at = np.arange(count) * (source / target)
    return np.interp(at, np.arange(len(samples)), samples.astype(np.float64)).astype("<i2")


def silence(seconds: float, rate: int = RATE) -> bytes:
    return bytes(2 * int(seconds * rate))


def noise(seconds: float, *, level: int = 1500, rate: int = RATE, seed: int = 1) -> bytes:
    """Steady background noise: white noise of about ``level`` (RMS) and a mains hum."""
    gen = np.random.default_rng(seed)
    n = int(seconds * rate)
    hum = 0.3 * level * np.sin(2 * np.pi * 50 * np.arange(n) / rate)
    return np.clip(gen.normal(0, level, n) + hum, -32768, 32767).astype("<i2").tobytes()


def mix(speech: bytes, background: bytes) -> bytes:
    """``speech`` over the start of ``background`` (which must be as long at least)."""
    a = np.frombuffer(speech, dtype="<i2").astype(np.int32)
    b = np.frombuffer(background, dtype="<i2")[: len(a)].astype(np.int32)
    return np.clip(a + b, -32768, 32767).astype("<i2").tobytes()


def seconds(pcm: bytes, rate: int = RATE) -> float:
    return len(pcm) / 2 / rate
