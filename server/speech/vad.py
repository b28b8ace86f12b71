"""The end of a spoken answer, found in the candidate's audio. No I/O and no clock.

``Endpointer`` takes 16-bit mono PCM as it arrives (any chunking) and says when an answer
starts and when it ends. Time is the audio's own: seconds of audio fed since the endpointer was
made (paused audio included), which the live session maps to its clock.

Each 30 ms frame is classified by WebRTC's voice activity detector (``webrtcvad``), and the
frame decisions are smoothed, as a person would hear them:

- speech *starts* when most of the last 300 ms is voiced (a click, a cough or a burst of noise
  is too short to start an answer);
- a start is confirmed as an answer only once it holds ``min_speech_s`` of voiced audio;
- an answer *ends* after ``end_silence_s`` without voice (pauses shorter than that stay inside
  the answer), when it reaches ``max_answer_s``, or at once when the candidate says so
  (``finish``);
- while paused (the candidate asked to), audio is neither classified nor kept, and no silence
  accrues.

WebRTC's detector takes steady noise (a fan, a hum, hiss) loud enough for speech, so a frame
counts as voiced only when it is also ``FLOOR_MARGIN_DB`` louder than the background: the
level most of the last ``FLOOR_WINDOW`` frames exceeded (a low percentile, so that the pauses
between words keep it down while the candidate speaks). Noise that starts mid-stream is louder
than the floor until the floor learns it: such a stretch is dropped at its end for being as
flat as noise is (its level varies by less than ``MIN_MODULATION_DB``; speech, syllable by
syllable, varies by 6-10 dB).

The answer's audio runs from a little before speech started (``PRE_ROLL_S``, so that the first
syllable is not clipped) to a little after the last voiced frame (``TAIL_S``).

With ``phrase_silence_s`` set, an answer is also cut into *phrases* as it is spoken, for a live
transcript: a phrase ends at a pause that long (shorter than the answer's end), once it holds
``MIN_PHRASE_S`` of audio, or, without a pause, at ``MAX_PHRASE_S``. Each comes out as a
``PhraseHeard`` while the answer goes on; the phrases of an answer, in order, are its audio
from its start to its last pause (the rest is in ``AnswerEnded``, which is always the whole).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Literal

import numpy as np
import webrtcvad

FRAME_MS = 30
# The window of frames whose majority starts speech, and the share of voiced frames needed.
START_WINDOW = 10
START_RATIO = 0.7
PRE_ROLL_S = 0.3
TAIL_S = 0.3
SAMPLE_RATES = (8000, 16000, 32000, 48000)
FLOOR_WINDOW = 50  # frames: 1.5 s
FLOOR_PERCENTILE = 10
FLOOR_MARGIN_DB = 6.0
SILENCE_DB = 30.0  # a frame this quiet (RMS ~ 30 of 32768) is never speech
MIN_MODULATION_DB = 3.0
MIN_PHRASE_S = 1.0
MAX_PHRASE_S = 8.0

EndReason = Literal["silence", "max_length", "client"]


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The candidate started speaking (``at``: seconds of the stream)."""

    at: float


@dataclass(frozen=True, slots=True)
class AnswerEnded:
    """A whole answer: its audio (16-bit mono PCM at the endpointer's rate), where speech
    started and ended in the stream, and why it ended."""

    pcm: bytes
    sample_rate: int
    speech_start: float
    speech_end: float
    reason: EndReason

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


@dataclass(frozen=True, slots=True)
class SpeechDropped:
    """What started at ``at`` was steady noise, not speech: no answer came of it."""

    at: float


@dataclass(frozen=True, slots=True)
class PhraseHeard:
    """A phrase of the answer going on: its audio, from the end of the phrase before (or the
    answer's start, pre-roll included)."""

    pcm: bytes
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


SpeechEvent = SpeechStarted | AnswerEnded | SpeechDropped | PhraseHeard


class Endpointer:
    """One candidate's audio in, answers out (see the module's docstring)."""

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        end_silence_s: float = 1.2,
        min_speech_s: float = 0.3,
        max_answer_s: float = 300.0,
        aggressiveness: int = 3,
        phrase_silence_s: float | None = None,
    ) -> None:
        if sample_rate not in SAMPLE_RATES:
            raise ValueError(f"sample_rate must be one of {SAMPLE_RATES}, got {sample_rate}")
        self.sample_rate = sample_rate
        self._vad = webrtcvad.Vad(aggressiveness)
        self._frame_bytes = sample_rate * FRAME_MS // 1000 * 2
        self._end_frames = max(1, round(end_silence_s * 1000 / FRAME_MS))
        self._min_voiced = max(1, round(min_speech_s * 1000 / FRAME_MS))
        self._max_frames = max(1, round(max_answer_s * 1000 / FRAME_MS))
        self._pre_roll = round(PRE_ROLL_S * 1000 / FRAME_MS)
        self._tail = round(TAIL_S * 1000 / FRAME_MS)
        # Phrases: a pause this long (frames) ends one; None: no phrases.
        self._phrase_end = (
            None
            if phrase_silence_s is None
            else max(1, min(round(phrase_silence_s * 1000 / FRAME_MS), self._end_frames - 1))
        )
        self._min_phrase = round(MIN_PHRASE_S * 1000 / FRAME_MS)
        self._max_phrase = round(MAX_PHRASE_S * 1000 / FRAME_MS)
        self._pending = bytearray()
        self._levels: collections.deque[float] = collections.deque(maxlen=FLOOR_WINDOW)
        self._frames = 0  # frames of the stream so far (paused ones included)
        self.paused = False
        # Before speech: the recent frames (pre-roll) and their decisions.
        self._recent: collections.deque[tuple[bytes, bool]] = collections.deque(
            maxlen=max(START_WINDOW, self._pre_roll)
        )
        self._recent_levels: collections.deque[float] = collections.deque(maxlen=START_WINDOW)
        self._reset_answer()

    def _reset_answer(self) -> None:
        self._speaking = False
        self._announced = False
        self._audio: list[bytes] = []  # the answer's frames, from its pre-roll on
        self._start_frame = 0  # stream frame where speech started
        self._answer_frames = 0  # unpaused frames since speech started
        self._voiced = 0
        self._silent_run = 0
        self._last_voiced_index = 0  # index in _audio of the last voiced frame
        self._last_voiced_at = 0  # the stream frame it ended
        self._answer_levels: list[float] = []  # dB of each frame since speech started
        self._phrase_from = 0  # index in _audio where the phrase going on starts

    @property
    def speaking(self) -> bool:
        """An answer has started and not ended."""
        return self._speaking

    @property
    def position(self) -> float:
        """Seconds of audio fed so far."""
        return self._frames * FRAME_MS / 1000

    def feed(self, pcm: bytes) -> list[SpeechEvent]:
        """Audio in (16-bit little-endian mono at ``sample_rate``); what it made happen out."""
        if len(pcm) % 2:
            raise ValueError("PCM must be whole 16-bit samples")
        self._pending += pcm
        events: list[SpeechEvent] = []
        size = self._frame_bytes
        while len(self._pending) >= size:
            frame = bytes(self._pending[:size])
            del self._pending[:size]
            event = self._frame(frame)
            if event is not None:
                events.append(event)
        return events

    def _frame(self, frame: bytes) -> SpeechEvent | None:
        self._frames += 1
        if self.paused:
            return None
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
        level = 10.0 * float(np.log10(float(np.dot(samples, samples)) / len(samples) + 1.0))
        self._levels.append(level)
        floor = max(SILENCE_DB, float(np.percentile(self._levels, FLOOR_PERCENTILE)))
        voiced = level >= floor + FLOOR_MARGIN_DB and self._vad.is_speech(frame, self.sample_rate)
        if not self._speaking:
            self._recent_levels.append(level)
            self._recent.append((frame, voiced))
            window = list(self._recent)[-START_WINDOW:]
            if len(window) == START_WINDOW and (
                sum(v for _, v in window) >= START_RATIO * START_WINDOW
            ):
                # Speech began with the first voiced frame of the window.
                first = next(i for i, (_, v) in enumerate(window) if v)
                lead = len(window) - first
                kept = list(self._recent)[-(lead + self._pre_roll) :]
                self._speaking = True
                self._audio = [f for f, _ in kept]
                self._start_frame = self._frames - lead + 1
                self._answer_frames = lead
                self._voiced = sum(v for _, v in window[first:])
                self._answer_levels = list(self._recent_levels)[first:]
                self._last_voiced_index = len(self._audio) - 1
                self._last_voiced_at = self._frames
                self._silent_run = 0
                self._recent.clear()
                self._recent_levels.clear()
                return self._confirm()
            return None
        self._audio.append(frame)
        self._answer_frames += 1
        self._answer_levels.append(level)
        if voiced:
            self._voiced += 1
            self._silent_run = 0
            self._last_voiced_index = len(self._audio) - 1
            self._last_voiced_at = self._frames
        else:
            self._silent_run += 1
        event = self._confirm() or self._phrase(voiced)
        if event is not None:
            return event
        if self._silent_run >= self._end_frames:
            return self._end("silence")
        if self._answer_frames >= self._max_frames:
            return self._end("max_length")
        return None

    def _confirm(self) -> SpeechStarted | None:
        if self._announced or self._voiced < self._min_voiced:
            return None
        self._announced = True
        return SpeechStarted(at=(self._start_frame - 1) * FRAME_MS / 1000)

    def _phrase(self, voiced: bool) -> PhraseHeard | None:
        """The phrase going on, if it ends at this frame (see the module's docstring)."""
        if self._phrase_end is None or not self._announced:
            return None
        if voiced:
            if len(self._audio) - self._phrase_from < self._max_phrase:
                return None
            cut = len(self._audio)  # no pause for MAX_PHRASE_S: cut here
        elif self._silent_run == self._phrase_end:
            cut = self._last_voiced_index + 1 + min(self._tail, self._silent_run)
            if cut - self._phrase_from < self._min_phrase:
                return None
        else:
            return None
        phrase = PhraseHeard(b"".join(self._audio[self._phrase_from : cut]), self.sample_rate)
        self._phrase_from = cut
        return phrase

    def _end(self, reason: EndReason) -> AnswerEnded | SpeechDropped | None:
        """The answer ends: returned if it had enough speech; forgotten if it had too little
        (None), or if it was as flat as noise (SpeechDropped, when it had been announced)."""
        announced = self._announced
        heard = self._answer_levels[: len(self._answer_levels) - self._silent_run]
        flat = float(np.std(heard)) < MIN_MODULATION_DB
        at = (self._start_frame - 1) * FRAME_MS / 1000
        ended = AnswerEnded(
            pcm=b"".join(self._audio[: self._last_voiced_index + 1 + self._tail]),
            sample_rate=self.sample_rate,
            speech_start=(self._start_frame - 1) * FRAME_MS / 1000,
            speech_end=self._last_voiced_at * FRAME_MS / 1000,
            reason=reason,
        )
        self._reset_answer()
        if not announced:
            return None
        return SpeechDropped(at=at) if flat else ended

    def pause(self) -> None:
        """The candidate paused: audio is ignored until ``resume`` (an answer stays open)."""
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def finish(self) -> AnswerEnded | SpeechDropped | None:
        """The candidate said the answer is over: it ends now, with what was heard (the
        part of a frame not yet classified included). None if no answer had started."""
        if self._pending and self._speaking and not self.paused:
            self._audio.append(bytes(self._pending))
        self._pending.clear()
        if not self._speaking:
            self._recent.clear()
            return None
        return self._end("client")
