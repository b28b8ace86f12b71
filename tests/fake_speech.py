"""A small OpenAI-compatible speech server for tests, with a real recognizer behind it.

``POST /v1/audio/transcriptions`` takes the documented multipart form (``file``, ``model``,
``response_format`` = ``json`` | ``verbose_json`` | ``text``, ``language``, ``prompt``,
``temperature``, ``timestamp_granularities[]``, ``stream``) and answers OpenAI's shapes:
``{"text": ...}``; with ``verbose_json`` also ``task``, ``language``, ``duration`` and
``segments``, one for each test sentence heard, timed where the recognizer heard its first and
last word; with ``stream`` an SSE stream of ``transcript.text.delta`` events (a word each) and
a last ``transcript.text.done``. As OpenAI does, it refuses ``verbose_json`` from the models
that take ``json`` or ``text`` only (gpt-4o-transcribe, gpt-4o-mini-transcribe), and
``timestamp_granularities`` without ``verbose_json`` (400, ``param`` naming the field).
``POST /v1/audio/speech`` (JSON: ``model``, ``input``, ``voice``, ``response_format`` =
``wav`` | ``pcm``) answers audio spoken by espeak-ng. Errors have
OpenAI's body, ``{"error": {"message", "type", "param", "code"}}``.

The recognizer is PocketSphinx (its wheel ships an English model) constrained by a JSGF
grammar to one or more of the test sentences (tests/speech_audio.py). Constrained, it
recognises espeak-ng's speech reliably; and audio that is not whole sentences (cut short,
cut in the middle, noise) matches nothing and comes back as an empty text. So a test that
gets its sentence back knows the audio that reached the server was that speech, intact and
cut at the right places.

Planned failures (a status with an OpenAI-style error body, a delay) come first, in order,
then every request is recognised (after a planned delay, ``delays``, if there is one; a text
``hold_back`` names is answered only after another request is). Every
request is recorded for the test to inspect.

    with serve_fake_speech() as fake:
        fake.fail(Failure(503), Failure(503))
        ...
        assert fake.requests[-1].text == SENTENCES[0]
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pocketsphinx import Decoder
from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.loopback import serve_app
from tests.speech_audio import RATE, SENTENCES, resample

MAX_FILE_BYTES = 25 * 1024 * 1024  # OpenAI's limit for an uploaded audio file
FORMATS = ("json", "verbose_json", "text")
# OpenAI's models that answer json or text only (its API reference, response_format).
UNTIMED_MODELS = ("gpt-4o-transcribe", "gpt-4o-mini-transcribe")
FRAMES_PER_S = 100  # PocketSphinx's frame rate


@dataclass
class Failure:
    """What the fake answers to the next request instead of recognising it."""

    status: int
    code: str | None = None
    message: str = "The server had an error while processing your request."
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Heard:
    """One transcription request: its form fields, its audio, and what was recognised."""

    fields: dict[str, str]
    audio_seconds: float
    sample_rate: int
    text: str
    received_at: float  # time.monotonic() when the request arrived
    recognise_s: float  # the recogniser's own time
    timestamp_granularities: list[str] = field(default_factory=list)


class FakeSpeech:
    def __init__(self, sentences: tuple[str, ...] = SENTENCES) -> None:
        self.sentences = sentences
        self.failures: deque[Failure] = deque()
        # Seconds the next transcriptions (answered, not failed) wait before answering, in order.
        self.delays: deque[float] = deque()
        # Texts whose transcription is answered only after another request is (``hold_back``),
        # whatever the timing of the two: each with the number answered when it was held.
        self.held: dict[str, int] = {}
        self.requests: list[Heard] = []
        # The form fields of every request answered with an error (planned or not).
        self.refused: list[dict[str, Any]] = []
        self.spoken: list[dict[str, Any]] = []
        self.url = ""
        self._decoder = Decoder(samprate=RATE, loglevel="FATAL")
        choices = " | ".join(f"( {s} )" for s in sentences)
        self._decoder.add_jsgf_string(
            "answers", f"#JSGF V1.0;\ngrammar answers;\npublic <answer> = ( {choices} )+ ;\n"
        )
        self._decoder.activate_search("answers")
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/v1/audio/transcriptions", self.transcriptions, methods=["POST"]),
                Route("/v1/audio/speech", self.speech, methods=["POST"]),
            ]
        )

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def fail(self, *failures: Failure) -> None:
        """Answer the next requests with these failures, in order."""
        self.failures.extend(failures)

    def hold_back(self, text: str) -> None:
        """Answer the next request that says ``text`` only once another request is answered."""
        self.held[text] = len(self.requests)

    def recognise(self, pcm: bytes) -> str:
        """The test sentences heard in ``pcm`` (16 kHz), or "" where none is whole."""
        return self.recognise_timed(pcm)[0]

    def recognise_timed(self, pcm: bytes) -> tuple[str, list[tuple[float, float, str]]]:
        """The text, and each sentence heard with the second its first word started and its
        last word ended."""
        with self._lock:
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, full_utt=True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
            if hyp is None:  # nothing whole was heard: no segmentation either
                return "", []
            words = [
                (w.word.split("(")[0], w.start_frame, w.end_frame + 1)
                for w in self._decoder.seg()
                if not w.word.startswith(("<", "("))
            ]
        timed: list[tuple[float, float, str]] = []
        sentence: list[tuple[str, int, int]] = []
        for word in words:
            sentence.append(word)
            said = " ".join(w for w, _, _ in sentence)
            if said in self.sentences:
                start, end = sentence[0][1], sentence[-1][2]
                timed.append((start / FRAMES_PER_S, end / FRAMES_PER_S, said))
                sentence = []
        return hyp.hypstr, timed

    async def transcriptions(self, request: Request) -> Response:
        received = time.monotonic()
        try:
            form = await request.form(max_files=1, max_fields=20)
        except Exception:
            return _error(400, "Could not parse multipart form", "invalid_request_error", None)
        try:
            return await self._transcribe(form, received)
        finally:
            await form.close()

    async def _transcribe(self, form: FormData, received: float) -> Response:
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        upload = form.get("file")
        if self.failures:
            failure = self.failures.popleft()
            self.refused.append(fields)
            if failure.delay_s:
                await asyncio.sleep(failure.delay_s)
            kind = "server_error" if failure.status >= 500 else "invalid_request_error"
            return _error(failure.status, failure.message, kind, failure.code, failure.headers)
        if self.delays:
            await asyncio.sleep(self.delays.popleft())
        if not fields.get("model"):
            return _error(400, "you must provide a model parameter", "invalid_request_error", None)
        if not isinstance(upload, UploadFile):
            message = "1 validation error for Request body -> file field required"
            return _error(400, message, "invalid_request_error", None, param="file")
        response_format = fields.get("response_format", "json")
        if response_format not in FORMATS:
            return _error(
                400,
                f"Invalid value: '{response_format}'. Supported values are: {FORMATS}",
                "invalid_request_error",
                "invalid_value",
                param="response_format",
            )
        if response_format == "verbose_json" and fields["model"].startswith(UNTIMED_MODELS):
            self.refused.append(fields)
            return _error(
                400,
                f"response_format 'verbose_json' is not compatible with model"
                f" '{fields['model']}'. Use 'json' or 'text' instead.",
                "invalid_request_error",
                "unsupported_value",
                param="response_format",
            )
        granularities = form.getlist("timestamp_granularities[]")
        if granularities and response_format != "verbose_json":
            self.refused.append(fields)
            return _error(
                400,
                "response_format must be set verbose_json to use timestamp granularities.",
                "invalid_request_error",
                "invalid_value",
                param="timestamp_granularities",
            )
        data = await upload.read()
        if len(data) > MAX_FILE_BYTES:
            return _error(413, "Maximum content size limit exceeded", "invalid_request_error", None)
        try:
            rate, pcm = _read_wav(data)
        except (wave.Error, EOFError, ValueError):
            return _error(
                400,
                "Invalid file format. Supported formats: ['wav'] (this stand-in reads WAV only)",
                "invalid_request_error",
                None,
                param="file",
            )
        began = time.perf_counter()
        text, timed = await asyncio.to_thread(self.recognise_timed, pcm)
        heard = Heard(fields, len(pcm) / 2 / RATE, rate, text, received, 0.0, granularities)
        heard.recognise_s = time.perf_counter() - began
        if text in self.held:
            answered = self.held.pop(text)
            # Until another request has been answered since the hold (or 20 s pass, and the
            # test that asked sees the order it did not plan).
            for _ in range(2000):
                if len(self.requests) > answered:
                    break
                await asyncio.sleep(0.01)
        self.requests.append(heard)
        if fields.get("stream") == "true":
            return StreamingResponse(_stream(text), media_type="text/event-stream")
        if response_format == "text":
            return PlainTextResponse(text + "\n")
        body: dict[str, Any] = {"text": text}
        if response_format == "verbose_json":
            body = {
                "task": "transcribe",
                "language": "english",
                "duration": heard.audio_seconds,
                "text": text,
                # Whisper's segments each begin with the space that separates them.
                "segments": [
                    {
                        "id": i,
                        "seek": 0,
                        "start": start,
                        "end": end,
                        "text": " " + said,
                        "tokens": [],
                        "temperature": 0.0,
                        "avg_logprob": -0.2,
                        "compression_ratio": 1.0,
                        "no_speech_prob": 0.01,
                    }
                    for i, (start, end, said) in enumerate(timed)
                ],
                "usage": {"type": "duration", "seconds": round(heard.audio_seconds)},
            }
        else:
            body["usage"] = {"type": "duration", "seconds": round(heard.audio_seconds)}
        return JSONResponse(body)

    @staticmethod
    async def speech_request(request: Request) -> dict[str, Any] | Response:
        """An ``audio.speech`` request's JSON body, or the API's 400 for a body that does not
        parse or lacks ``model``, ``input`` or ``voice``."""
        try:
            body: dict[str, Any] = await request.json()
        except ValueError:
            message = "We could not parse the JSON body of your request."
            return _error(400, message, "invalid_request_error", None)
        missing = [name for name in ("model", "input", "voice") if not body.get(name)]
        if missing:
            message = f"Missing required parameter: '{missing[0]}'."
            code = "missing_required_parameter"
            return _error(400, message, "invalid_request_error", code, param=missing[0])
        return body

    async def speech(self, request: Request) -> Response:
        body = await self.speech_request(request)
        if isinstance(body, Response):
            return body
        fmt = body.get("response_format", "mp3")
        if fmt not in ("wav", "pcm"):
            message = f"this stand-in speaks wav and pcm only, not {fmt!r}"
            return _error(
                400, message, "invalid_request_error", "invalid_value", param="response_format"
            )
        self.spoken.append(body)
        pcm = await asyncio.to_thread(espeak_pcm, str(body["input"]), 24000)
        if fmt == "pcm":  # OpenAI's pcm: 24 kHz, 16-bit signed little-endian, mono
            return Response(pcm, media_type="audio/pcm")
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(24000)
            wav.writeframes(pcm)
        return Response(out.getvalue(), media_type="audio/wav")


def espeak_pcm(text: str, rate: int) -> bytes:
    import numpy as np

    espeak = shutil.which("espeak-ng")
    assert espeak is not None, "espeak-ng is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run([espeak, "-v", "en-us", "-w", str(path), text], check=True)
        source, pcm = _read_wav(path.read_bytes(), to=None)
    return resample(np.frombuffer(pcm, dtype="<i2"), source, rate).tobytes()


def _read_wav(data: bytes, to: int | None = RATE) -> tuple[int, bytes]:
    """A WAV file's rate and its 16-bit mono PCM, resampled to ``to`` Hz."""
    import numpy as np

    with wave.open(io.BytesIO(data), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError("only 16-bit mono WAV")
        rate = wav.getframerate()
        pcm = wav.readframes(wav.getnframes())
    if to is None or rate == to:
        return rate, pcm
    return rate, resample(np.frombuffer(pcm, dtype="<i2"), rate, to).tobytes()


async def _stream(text: str) -> AsyncIterator[bytes]:
    words = text.split()
    for i, word in enumerate(words):
        delta = word if i == 0 else " " + word
        event = {"type": "transcript.text.delta", "delta": delta}
        yield f"data: {json.dumps(event)}\n\n".encode()
    done = {"type": "transcript.text.done", "text": text}
    yield f"data: {json.dumps(done)}\n\n".encode()
    yield b"data: [DONE]\n\n"


def _error(
    status: int,
    message: str,
    kind: str,
    code: str | None,
    headers: dict[str, str] | None = None,
    *,
    param: str | None = None,
) -> Response:
    error = {"message": message, "type": kind, "param": param, "code": code}
    return JSONResponse({"error": error}, status_code=status, headers=headers or {})


@contextmanager
def serve_fake_speech(
    sentences: tuple[str, ...] = SENTENCES, *, fake: FakeSpeech | None = None
) -> Iterator[FakeSpeech]:
    """Run a FakeSpeech (``fake``, or a new one) on a free loopback port, in a thread, for the
    duration of the block."""
    fake = fake if fake is not None else FakeSpeech(sentences)
    with serve_app(fake.app) as running:
        fake.url = running.url
        yield fake
