"""Spoken interviews (``--voice N``): N candidates answering aloud at once, end to end, audio
only (issue 14; docs/protocol.md, section 9). Each is an aiortc peer sending real speech
(espeak-ng sentences) on an interview whose plan has ``answer_mode`` ``voice``; it answers
every question by speaking, then falls silent, and the server's voice activity detector ends
the answer (``OPENHIRE_SPEECH_END_SILENCE`` later) and has it transcribed by the loopback
stand-in (clients/loadtest/transcriber.py, a process of its own). What it reports, over the
whole run:

- the sessions held to the end (every question answered aloud and acked, the peer connected
  until the last answer was spoken, the interview ended);
- end of speech -> ack: from the last voiced packet of an answer leaving the candidate to the
  ack of the answer the server ended itself (``voice:<question_id>``), p50/p95/p99/max;
- the stand-in's own time for each answer (its request named by the text it answered), and
  the ack less it; and less the end-of-answer silence too: the server's own part;
- the proof that nothing was lost: every acked answer is in its log once, at its offset, with
  ``source: "voice"``, transcribed, its audio stored; in a completed interview, no answer
  logged that was not acked;
- the server's CPU and memory per voice session (with the sessions speaking, less the same
  sockets before any media), and the stand-in's CPU apart;
- the generator's own event-loop lag while the candidates speak (a late generator sends late).

The generator stays cheap: each sentence is spoken by espeak-ng and encoded to Opus once; every
peer sends those packets as they are (and one encoded silent packet in between), 20 ms apart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import hashlib
import random
import re
import shutil
import subprocess
import tempfile
import time
import wave
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection

from clients.interview_client import CandidateSession
from clients.loadtest.metrics import percentile
from clients.loadtest.report import ProgressLine
from clients.loadtest.resources import ResourceSampler, mean, measure, watch
from clients.loadtest.results import EXIT_FAILED, EXIT_LOSS
from clients.loadtest.roster import Seat, plan, setup_held_roster
from clients.loadtest.simulate import open_candidates
from clients.loadtest.transcriber import TEXT
from clients.loadtest.verify import check_interview, read_log

# What the candidates say, a sentence an answer in turn (2-3 s each).
SENTENCES = (
    "i have built web services in python for six years",
    "we moved the database to a new server last spring",
    "tests run on every change before it is merged",
    "i would measure before i change anything",
)
RATE = 48000
PTIME = 0.020
FRAME = int(RATE * PTIME)
END_SILENCE_S = 1.2  # the server's OPENHIRE_SPEECH_END_SILENCE (its default)
BASELINE_S = 3.0
TIMEOUT_S = 60.0
SPOKEN = re.compile(re.escape(TEXT) + r" #(\d+)$")


def speech_pcm(text: str) -> bytes:
    """``text`` spoken by espeak-ng, 48 kHz 16-bit mono, without the silence around it; the WAV
    is written once into the temporary directory."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("--voice needs espeak-ng (scripts/_setup.sh installs it)")
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"openhire-loadtest-speech-{digest}.wav"
    if not path.exists():
        partial = path.with_suffix(f".{random.randrange(1 << 30)}.tmp")
        subprocess.run([espeak, "-v", "en-us", "-w", str(partial), text], check=True)
        partial.replace(path)
    with wave.open(str(path), "rb") as wav:
        source = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    loud = np.nonzero(np.abs(samples) > 300)[0]
    samples = samples[loud[0] : loud[-1] + 1]
    at = np.arange(int(len(samples) * RATE / source)) * (source / RATE)
    out = np.interp(at, np.arange(len(samples)), samples.astype(np.float64))
    pcm: bytes = out.astype("<i2").tobytes()
    return pcm


def opus_packets(pcm: bytes) -> list[bytes]:
    """``pcm`` (48 kHz mono s16) encoded to Opus, 20 ms a packet."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = RATE
    codec.layout = "mono"
    codec.format = "s16"
    codec.bit_rate = 32000
    codec.open()
    samples = np.frombuffer(pcm, dtype="<i2")
    samples = np.pad(samples, (0, -len(samples) % FRAME))
    packets: list[bytes] = []
    for start in range(0, len(samples), FRAME):
        frame = av.AudioFrame.from_ndarray(
            samples[start : start + FRAME].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = RATE
        frame.pts = start
        frame.time_base = fractions.Fraction(1, RATE)
        packets += [bytes(p) for p in codec.encode(frame)]
    packets += [bytes(p) for p in codec.encode(None)]
    return packets


class Speech:
    """The run's audio, encoded once: each sentence's packets, and a silent packet."""

    def __init__(self) -> None:
        self.sentences = [opus_packets(speech_pcm(text)) for text in SENTENCES]
        self.silence = opus_packets(bytes(2 * FRAME * 10))[5]


class SpokenTrack(MediaStreamTrack):
    """Sends Opus packets 20 ms apart: what it is given to say, silence in between.
    ``say(packets)`` resolves to the ``time.monotonic()`` its last packet was sent."""

    kind = "audio"

    def __init__(self, silence: bytes) -> None:
        super().__init__()
        self._silence = silence
        self._queue: deque[bytes] = deque()
        self._ends: deque[tuple[int, asyncio.Future[float]]] = deque()
        self._sent = 0  # packets of speech sent
        self._queued = 0
        self._start: float | None = None
        self._count = 0

    def say(self, packets: list[bytes]) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._queue.extend(packets)
        self._queued += len(packets)
        self._ends.append((self._queued, future))
        return future

    async def recv(self) -> Any:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._count * PTIME - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if self._queue:
            data = self._queue.popleft()
            self._sent += 1
        else:
            data = self._silence
        while self._ends and self._sent >= self._ends[0][0]:
            _, future = self._ends.popleft()
            if not future.done():
                future.set_result(time.monotonic())
        packet = av.Packet(data)
        packet.pts = self._count * FRAME
        packet.time_base = fractions.Fraction(1, RATE)
        self._count += 1
        return packet


@dataclass
class Spoken:
    """What one candidate's interview should hold: each acked spoken answer's client id and
    offset, with when its speech ended and when its ack came (``time.monotonic()``)."""

    interview_id: str
    answers: list[tuple[str, int, float, float]] = field(default_factory=list)
    completed: bool = False


class _Voice:
    """One simulated candidate: its socket, peer and what happened to its answers."""

    def __init__(self, seat: Seat, session: CandidateSession, speech: Speech) -> None:
        self.seat = seat
        self.session = session
        self.track = SpokenTrack(speech.silence)
        self.pc = RTCPeerConnection()
        self.connected = asyncio.Event()
        self.pc.on("connectionstatechange", self._changed)
        # (client id, offset, end of speech, acked), monotonic times
        self.answers: list[tuple[str, int, float, float]] = []
        self.outcome = "started"
        self.stage = "start"  # what it was doing (a failure is named by it)
        self.dropped_at: float | None = None  # when the peer failed or closed

    def _changed(self) -> None:
        if self.pc.connectionState == "connected":
            self.connected.set()
        elif self.pc.connectionState in ("failed", "closed") and self.dropped_at is None:
            self.dropped_at = time.monotonic()

    @property
    def held(self) -> bool:
        """Every answer acked, the peer connected until the last one was spoken (the server
        closes it when the interview ends, which may come before the last ack)."""
        if self.outcome != "completed" or not self.answers:
            return False
        return self.dropped_at is None or self.dropped_at >= self.answers[-1][2]

    @property
    def speaking(self) -> bool:
        """Connected, and still answering."""
        return self.connected.is_set() and self.outcome == "started"


async def _interview(
    voice: _Voice, speech: Speech, questions: int, delay: float, rng: random.Random
) -> None:
    """Connect the microphone, then answer each question aloud and wait for its ack."""
    session = voice.session
    await asyncio.sleep(delay)
    voice.stage = "first question"
    question = await session.next_question(timeout=TIMEOUT_S)
    voice.stage = "offer"
    voice.pc.addTransceiver(voice.track, direction="sendonly")
    reply = await session.offer_media(voice.pc, timeout=TIMEOUT_S)
    if reply["type"] != "rtc.answer":
        raise RuntimeError(f"offer refused: {reply.get('code')}")
    voice.stage = "connect"
    await asyncio.wait_for(voice.connected.wait(), TIMEOUT_S)
    for i in range(questions):
        cid = f"voice:{question['question_id']}"
        acked: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        session.acks[cid] = acked
        await asyncio.sleep(rng.uniform(0.2, 0.8))  # a moment to think
        sentence = speech.sentences[(i + rng.randrange(len(SENTENCES))) % len(SENTENCES)]
        voice.stage = "speak"
        ended = await asyncio.wait_for(voice.track.say(sentence), TIMEOUT_S)
        voice.stage = "ack"
        ack = await asyncio.wait_for(acked, TIMEOUT_S)
        if ack["type"] != "ack":
            raise RuntimeError(f"answer refused: {ack.get('code')}")
        voice.answers.append((cid, int(ack["offset"]), ended, time.monotonic()))
        if i < questions - 1:
            voice.stage = "next question"
            question = await session.next_question(timeout=TIMEOUT_S)
    voice.stage = "end"
    await session.receive_until("interview.ended", timeout=TIMEOUT_S)
    voice.outcome = "completed"


async def run_voices(
    base_url: str,
    seats: list[Seat],
    recruiter_token: str,
    *,
    questions: int,
    ramp_up: float,
    sampler: ResourceSampler | None,
    say: Any,
    seed: int = 2026,
) -> tuple[dict[str, Any], list[_Voice], dict[str, list[dict[str, Any]]]]:
    """Play the spoken interviews; returns the figures (without the stand-in's), the
    candidates, and each interview's log."""
    speech = await asyncio.to_thread(Speech)
    failures: dict[str, int] = {}

    def failed(why: str) -> None:
        failures[why] = failures.get(why, 0) + 1

    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        opened = await open_candidates(http, base_url, seats, failed)
        voices = [_Voice(seat, session, speech) for seat, session in opened]
        say(f"voice: {len(voices)} sockets open; measuring them without media ...")
        without = await measure(sampler, BASELINE_S)
        say(f"voice: {len(voices)} candidates speaking, {questions} answers each ...")
        rng = random.Random(seed)
        step = ramp_up / max(1, len(voices))
        active = 0
        stop = asyncio.Event()

        async def play(i: int, voice: _Voice) -> None:
            nonlocal active
            active += 1
            try:
                await _interview(voice, speech, questions, i * step, random.Random(rng.random()))
            except Exception as exc:
                voice.outcome = type(exc).__name__
                state = voice.pc.connectionState
                peer = "" if state in ("new", "connected") else f", peer {state}"
                failed(f"{type(exc).__name__} at {voice.stage}{peer}")
            finally:
                active -= 1
                if active == 0:
                    stop.set()

        started = time.perf_counter()
        lags: list[float] = []
        lagging = asyncio.create_task(_loop_lag(lags, stop))
        playing = asyncio.gather(*(play(i, v) for i, v in enumerate(voices)))
        if not voices:
            stop.set()
        rows = await watch(
            sampler if sampler is not None and sampler.local else None,
            stop=stop,
            tag=lambda: {"speaking": sum(1 for v in voices if v.speaking)},
        )
        await playing
        await lagging
        run_s = time.perf_counter() - started
        held = sum(1 for v in voices if v.held)
        for voice in voices:
            with contextlib.suppress(Exception):
                await voice.pc.close()
            with contextlib.suppress(Exception):
                await voice.session.close()
        say("voice: reading the logs back ...")
        logs: dict[str, list[dict[str, Any]]] = {}
        for voice in voices:
            logs[voice.seat.interview_id] = await read_log(
                http, voice.seat.interview_id, recruiter_token
            )
    result: dict[str, Any] = {
        "sessions": len(seats),
        "sockets": len(voices),
        "completed": sum(1 for v in voices if v.outcome == "completed"),
        "held_to_the_end": held,
        "failures": failures,
        "questions": questions,
        "answers_acked": sum(len(v.answers) for v in voices),
        "run_s": round(run_s, 1),
        # The generator's own event loop: late by this much, sampled every 100 ms while the
        # candidates spoke (a late generator sends late and answers ICE checks late).
        "generator_loop_lag_ms": percentiles_ms(lags),
    }
    # The server's CPU with (nearly) every session speaking, less the same sockets before.
    peak = max((r["speaking"] for r in rows), default=0)
    busy = [r for r in rows if peak and r["speaking"] >= 0.9 * peak]
    if without and busy:
        n = sum(r["speaking"] for r in busy) / len(busy)
        result["server"] = {
            "cpu_without_media": without["cpu"],
            "cpu_speaking": mean(busy, "server_cpu"),
            "speaking_sessions": round(n, 1),
            "cpu_per_session": round((mean(busy, "server_cpu") - without["cpu"]) / n, 2),
            "rss_without_media_mb": without["rss_mb"],
            "rss_peak_mb": max(r["server_rss_mb"] for r in rows),
            "rss_per_session_mb": round(
                (max(r["server_rss_mb"] for r in rows) - without["rss_mb"]) / peak, 2
            ),
            "postgres_cpu": mean(busy, "postgres_cpu"),
            "client_cpu": mean(busy, "client_cpu"),
            "seconds_measured": len(busy),
        }
    return result, voices, logs


async def _loop_lag(lags: list[float], stop: asyncio.Event, every: float = 0.1) -> None:
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(every)
        lags.append(max(0.0, time.perf_counter() - before - every))


def check_voices(
    spoken: list[Spoken], logs: dict[str, list[dict[str, Any]]], served: list[dict[str, Any]]
) -> dict[str, Any]:
    """The no-loss proof, and each answer's times joined with the stand-in's request."""
    by_n = {int(r["n"]): r for r in served}
    problems: list[str] = []
    total: list[float] = []
    stand_in: list[float] = []
    for voice in spoken:
        log = logs[voice.interview_id]
        acked = [(cid, "answer", offset) for cid, offset, _, _ in voice.answers]
        verdict = check_interview(voice.interview_id, acked, log, expect_completed=voice.completed)
        problems += [f"{voice.interview_id}: {p}" for p in verdict.problems]
        ids = {cid for cid, _, _ in acked}
        by_cid = {e.get("client_id"): e for e in log}
        for event in log:
            # An answer whose ack did not come in time (the session failed) may be logged.
            unacked = event.get("client_id") not in ids
            if voice.completed and event["kind"] in ("answer", "answer.late") and unacked:
                problems.append(
                    f"{voice.interview_id}: {event['kind']} at offset {event['offset']}"
                    " was logged but never acked"
                )
        for cid, _offset, ended, acked_at in voice.answers:
            data = (by_cid.get(cid) or {}).get("data", {})
            where = f"{voice.interview_id}: {cid}"
            if data.get("source") != "voice" or data.get("transcribed") is not True:
                problems.append(
                    f"{where}: not a transcribed spoken answer (source {data.get('source')!r},"
                    f" transcribed {data.get('transcribed')!r})"
                )
            if not data.get("blob_key"):
                problems.append(f"{where}: its audio was not stored")
            match = SPOKEN.match(str(data.get("text", "")))
            request = by_n.get(int(match.group(1))) if match else None
            if request is None:
                problems.append(f"{where}: its text {data.get('text')!r} is not the stand-in's")
                continue
            total.append(acked_at - ended)
            stand_in.append(float(request["service_s"]))
    less = [t - s for t, s in zip(total, stand_in, strict=True)]
    return {
        "ok": not problems,
        "problems": problems[:50],
        "problem_count": len(problems),
        "answers_checked": len(total),
        "end_of_speech_to_ack_ms": percentiles_ms(total),
        "stand_in_ms": percentiles_ms(stand_in),
        "ack_less_stand_in_ms": percentiles_ms(less),
        "server_part_ms": percentiles_ms([v - END_SILENCE_S for v in less]),
    }


def percentiles_ms(values: list[float]) -> dict[str, Any]:
    """count, p50, p95, p99 and max (nearest rank), in milliseconds."""
    ordered = sorted(v * 1000 for v in values)
    if not ordered:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "max": None}
    return {
        "count": len(ordered),
        **{f"p{p}": round(percentile(ordered, p), 1) for p in (50, 95, 99)},
        "max": round(ordered[-1], 1),
    }


def run_voice(
    args: argparse.Namespace,
    base_url: str,
    sampler: ResourceSampler,
    progress: ProgressLine,
    transcriber: Any,
) -> dict[str, Any]:
    n: int = args.voice
    questions: int = args.questions or 5
    interview_plan = plan(questions, answer_time_limit_s=300, total_time_limit_min=60)
    interview_plan["answer_mode"] = "voice"
    roster = setup_held_roster(
        base_url, "voice", n, args.setup_concurrency, progress.say, interview_plan
    )
    cpu_before = transcriber.cpu_s()
    voice, voices, logs = asyncio.run(
        run_voices(
            base_url,
            roster.seats,
            roster.recruiter_token,
            questions=questions,
            ramp_up=args.ramp_up if args.ramp_up is not None else 5.0,
            sampler=sampler,
            say=progress.say,
            seed=args.seed,
        )
    )
    served = transcriber.requests()
    spoken = [Spoken(v.seat.interview_id, v.answers, v.outcome == "completed") for v in voices]
    check = check_voices(spoken, logs, served)
    voice["verification"] = check
    voice["stand_in"] = {
        "requests": len(served),
        "cpu_s": round(transcriber.cpu_s() - cpu_before, 2),
        "audio_s_p50": round(percentile(sorted(r["audio_s"] for r in served), 50), 2)
        if served
        else None,
    }
    voice["end_silence_s"] = END_SILENCE_S
    if not check["ok"]:
        code = EXIT_LOSS
    elif voice["held_to_the_end"] != n or check["answers_checked"] != n * questions:
        code = EXIT_FAILED
    else:
        code = 0
    return {
        "title": f"{n} spoken interviews",
        "config": {"voice": n, "questions": questions, "ramp_up": args.ramp_up},
        "setup_s": round(roster.setup_s, 1),
        "voice": voice,
        "exit_code": code,
    }


def voice_table(result: dict[str, Any]) -> str:
    voice = result["voice"]
    check = voice["verification"]
    m = result["machine"]

    def row(name: str, d: dict[str, Any]) -> str:
        return f"{name}: p50 {d['p50']} ms, p95 {d['p95']} ms, p99 {d['p99']} ms, max {d['max']} ms"

    lines = [
        f"OpenHire spoken interviews: {voice['sessions']} candidates answering"
        f" {voice['questions']} questions aloud (audio only), {voice['run_s']:g} s;"
        f" target {result['target']}",
        f"{m['cpus']} CPUs, load average {m['load_average'][0]:.2f} before,"
        f" {result['load_after'][0]:.2f} after; setup {result['setup_s']:.1f} s",
        f"completed {voice['completed']} of {voice['sockets']}, held to the end"
        f" {voice['held_to_the_end']}; answers acked {voice['answers_acked']};"
        f" failures {voice['failures'] or 'none'}",
        row("generator loop lag", voice["generator_loop_lag_ms"]),
        row("end of speech -> ack", check["end_of_speech_to_ack_ms"])
        + f" over {check['end_of_speech_to_ack_ms']['count']} answers",
        row("  the stand-in's time", check["stand_in_ms"])
        + f" ({voice['stand_in']['requests']} requests, {voice['stand_in']['cpu_s']:g} s CPU)",
        row("  ack less the stand-in", check["ack_less_stand_in_ms"]),
        row(f"  less the {voice['end_silence_s']:g} s end silence too", check["server_part_ms"]),
    ]
    server = voice.get("server")
    if server:
        lines.append(
            f"server CPU {server['cpu_without_media']:.0f}% -> {server['cpu_speaking']:.0f}%"
            f" of one core with {server['speaking_sessions']:g} speaking:"
            f" {server['cpu_per_session']:.2f}% per voice session; RSS"
            f" {server['rss_without_media_mb']:.0f} -> {server['rss_peak_mb']:.0f} MB:"
            f" {server['rss_per_session_mb']:.2f} MB per session; PostgreSQL"
            f" {server['postgres_cpu']:.0f}%, generator {server['client_cpu']:.0f}%"
        )
    if check["ok"]:
        lines.append(
            f"OK: nothing lost: {check['answers_checked']} acked spoken answers, each logged"
            " once at its offset, source voice, transcribed, audio stored"
        )
    else:
        lines.append(f"LOST OR WRONG: {check['problem_count']} problems")
        lines.extend(f"  {p}" for p in check["problems"][:10])
    return "\n".join(lines)
