"""Simulated candidates and recruiters, each a real client of the public protocol.

A ``Candidate`` opens its socket with a ticket, answers each question after a think time,
sends a webcam screenshot every few seconds and a proctoring signal now and then, drops its
connection now and then (a network drop: the TCP connection is cut without a close frame; half
of the drops cut it right after a message was sent, before its ack) and resumes with a new
ticket, resending every message it has no ack for, with the same client id, as
docs/protocol.md asks. A ``Watch`` is one recruiter socket on the same interview: it starts
from offset 0, remembers the last offset it processed and, after a drop, reconnects from it.

What they measure goes to a ``Recorder``; what must be in the log afterwards goes to the
interview's ``Track``: every acked message (client id, kind, offset, in the order acked) and
every event each watcher received, which ``clients.loadtest.verify`` checks against the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from clients.interview_client import SUBPROTOCOL, screenshot_frame, ws_url
from clients.loadtest.metrics import Recorder
from clients.loadtest.roster import ANSWER_WORDS, Seat, auth

# Candidate events whose delivery to watchers is timed (they carry the candidate's client id).
CANDIDATE_KINDS = {"answer": "answer", "proctor": "signal", "screenshot": "screenshot"}
# Close codes after which reconnecting cannot help.
FINAL_CLOSES = {1000, 4000, 4003, 4004, 4009, 4010}
# Away-and-back pairs and single signals, as a browser would send them.
SIGNALS: tuple[tuple[str, ...], ...] = (
    ("tab_hidden", "tab_visible"),
    ("window_blur", "window_focus"),
    ("paste",),
)


class InterviewOver(Exception):
    """The server says the interview has ended (409 for a ticket, 4009 for a socket)."""


@dataclass
class Behaviour:
    """How the simulated people behave; the same for every interview of a run."""

    base_url: str
    recruiter_token: str
    questions: int
    think_time: float = 5.0
    think_jitter: float = 0.2  # fraction of the think time, uniform either side
    screenshot_every: float = 3.0  # seconds; 0: no screenshots
    signal_rate: float = 2.0  # proctoring signals per candidate per minute
    disconnect_rate: float = 0.2  # drops per socket per minute (candidates and watchers)
    watchers: int = 1
    ramp_up: float = 10.0
    deadline: float = 600.0  # seconds an interview may take before it counts as failed
    images: list[bytes] = field(default_factory=list)


@dataclass
class Pending:
    kind: str  # answer, screenshot, signal
    frame: str | bytes
    sent: float  # perf_counter when first sent
    resent: bool = False


@dataclass
class Track:
    """What one interview's log must hold afterwards, and what its watchers received."""

    interview_id: str
    # (client id, kind, offset) of every message acked, in the order the acks arrived.
    acked: list[tuple[str, str, int]] = field(default_factory=list)
    # Client ids sent but neither acked nor refused when the interview ended.
    unacked: list[str] = field(default_factory=list)
    # Client ids the server refused with an error (not stored, by the protocol).
    refused: list[str] = field(default_factory=list)
    # Per watcher: [(offset, kind)] in the order received, and what looked wrong live.
    watcher_views: list[list[tuple[int, str]]] = field(default_factory=list)
    watcher_problems: list[str] = field(default_factory=list)
    outcome: str = "not started"  # completed | failed: ... | not started
    end_reason: str | None = None
    # offset -> perf_counter when its candidate message was first sent (for watcher latency)
    _sent_at: dict[int, float] = field(default_factory=dict, repr=False)
    # offset -> [(arrival, when that watcher connection opened)] that came before the ack
    _early: dict[int, list[tuple[float, float]]] = field(default_factory=dict, repr=False)

    def on_ack(self, recorder: Recorder, offset: int, sent: float | None) -> None:
        if sent is None:
            return
        self._sent_at[offset] = sent
        for arrival, opened in self._early.pop(offset, []):
            if opened <= sent:
                recorder.latency("watcher_event", sent, arrival)

    def on_watched(self, recorder: Recorder, offset: int, arrival: float, opened: float) -> None:
        sent = self._sent_at.get(offset)
        if sent is None:
            self._early.setdefault(offset, []).append((arrival, opened))
        elif opened <= sent:  # not a replay of an event sent before this connection
            recorder.latency("watcher_event", sent, arrival)

    def export(self) -> dict[str, Any]:
        """Everything but the timing bookkeeping (crosses process boundaries)."""
        return {
            "interview_id": self.interview_id,
            "acked": self.acked,
            "unacked": self.unacked,
            "refused": self.refused,
            "watcher_views": self.watcher_views,
            "watcher_problems": self.watcher_problems,
            "outcome": self.outcome,
            "end_reason": self.end_reason,
        }


async def connect(url: str) -> ClientConnection:
    """The socket every simulated client (and the echo baseline) opens."""
    return await websockets.connect(
        url,
        subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        max_size=2**20,
        compression=None,
        open_timeout=60,
        ping_interval=None,  # the server pings; the client answers
        close_timeout=5,
    )


async def ticket_url(http: httpx.AsyncClient, interview_id: str, token: str) -> str:
    resp = await http.post(f"/interviews/{interview_id}/ticket", headers=auth(token))
    if resp.status_code == 409:
        raise InterviewOver(resp.text)
    resp.raise_for_status()
    url: str = resp.json()["url"]
    return url


def _drop(ws: ClientConnection) -> None:
    """Cut the TCP connection without a close frame, as a network drop would."""
    transport = ws.transport
    if transport is not None:
        transport.abort()


def _close_code(ws: ClientConnection) -> int:
    return ws.close_code if ws.close_code is not None else 1006


class Candidate:
    def __init__(
        self,
        seat: Seat,
        number: int,
        http: httpx.AsyncClient,
        behaviour: Behaviour,
        recorder: Recorder,
        track: Track,
        rng: random.Random,
        connect_gate: asyncio.Semaphore,
    ) -> None:
        self.seat = seat
        self.number = number
        self.http = http
        self.b = behaviour
        self.rec = recorder
        self.track = track
        self.rng = rng
        self.gate = connect_gate
        self.ws: ClientConnection | None = None
        self.connected = asyncio.Event()
        self.questions: asyncio.Queue[str | None] = asyncio.Queue()
        self.pending: dict[str, Pending] = {}
        self.kinds: dict[str, str] = {}  # client id -> kind, of everything sent
        self.acked_ids: set[str] = set()
        self.answered: set[str] = set()
        self.answers_sent = 0
        self.awaiting_first_token: float | None = None
        self.ended = False
        self.failed: str | None = None
        self.dropping = False
        self.drop_in_flight = False  # cut the connection right after the next send
        self.reconnect = asyncio.Event()
        self.last_close = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reader: asyncio.Task[None] | None = None

    # --- the socket ------------------------------------------------------------------------

    async def _open(self) -> None:
        async with self.gate:
            url = await ticket_url(self.http, self.seat.interview_id, self.seat.candidate_token)
            ws = await connect(ws_url(self.b.base_url, url))
            raw = await asyncio.wait_for(ws.recv(), 60)
        self.rec.received(len(raw))
        ready = orjson.loads(raw)
        if ready.get("type") != "session.ready":
            await ws.close()
            raise RuntimeError(f"expected session.ready, got {ready.get('type')}")
        self.ws = ws
        self.rec.candidates_open += 1
        self.connected.set()
        self._reader = asyncio.create_task(self._read(ws))
        # Resend whatever has no ack yet, in the order first sent, with the same client ids.
        for pending in sorted(self.pending.values(), key=lambda p: p.sent):
            pending.resent = True
            self.rec.counts["resent"] += 1
            await self._send(pending.frame)

    async def _send(self, frame: str | bytes) -> None:
        ws = self.ws
        if ws is None or not self.connected.is_set():
            return  # resent after the reconnect
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(frame)
            self.rec.sent(len(frame))
            if self.drop_in_flight:
                # The message may or may not reach the server: either way it has no ack,
                # and is resent after the reconnect.
                self.drop_in_flight = False
                self.dropping = True
                _drop(ws)

    async def _read(self, ws: ClientConnection) -> None:
        rec, track = self.rec, self.track
        try:
            async for raw in ws:
                now = time.perf_counter()
                rec.received(len(raw))
                message = orjson.loads(raw)
                kind = message.get("type")
                if kind == "question.delta":
                    started = self.awaiting_first_token
                    if started is not None:
                        self.awaiting_first_token = None
                        rec.latency("first_token", started, now)
                elif kind == "ack":
                    self._acked(message["client_id"], message["offset"], now)
                elif kind == "question.done":
                    self.questions.put_nowait(message["question_id"])
                elif kind == "error":
                    self._refused(message)
                elif kind == "interview.ended":
                    self.ended = True
                    track.end_reason = message.get("reason")
                    self.questions.put_nowait(None)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.connected.clear()
            self.rec.candidates_open -= 1
            self.awaiting_first_token = None
            code = _close_code(ws)
            self.last_close = code
            if not self.ended:
                if self.dropping:
                    self.rec.counts["candidate_drops"] += 1
                else:
                    self.rec.closes[str(code)] += 1
                self.reconnect.set()

    def _acked(self, cid: str, offset: int, now: float) -> None:
        pending = self.pending.pop(cid, None)
        if cid in self.acked_ids:
            self.rec.counts["acked_again"] += 1
            return
        self.acked_ids.add(cid)
        self.track.acked.append((cid, self.kinds.get(cid, "unknown"), offset))
        if pending is None:
            # Refused earlier, acked now: the log must hold it all the same.
            self.rec.counts["acked_after_refusal"] += 1
        elif pending.resent:
            self.track.on_ack(self.rec, offset, None)
        else:
            self.rec.latency(f"{pending.kind}_ack", pending.sent, now)
            self.track.on_ack(self.rec, offset, pending.sent)

    def _refused(self, message: dict[str, Any]) -> None:
        code = str(message.get("code"))
        self.rec.errors[code] += 1
        cid = message.get("client_id")
        pending = self.pending.get(cid) if isinstance(cid, str) else None
        if pending is None or not isinstance(cid, str):
            return
        if code == "overloaded":  # "resend shortly": keep it, resend in a moment
            self._spawn(self._resend_later(cid, pending))
            return
        del self.pending[cid]
        self.track.refused.append(cid)

    async def _resend_later(self, cid: str, pending: Pending) -> None:
        await asyncio.sleep(0.5)
        if cid in self.pending:
            pending.resent = True
            await self._send(pending.frame)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _submit(self, kind: str, cid: str, frame: str | bytes) -> None:
        self.pending[cid] = Pending(kind, frame, time.perf_counter())
        self.kinds[cid] = kind
        if kind == "answer":
            self.awaiting_first_token = self.pending[cid].sent
        await self._send(frame)

    # --- behaviour ---------------------------------------------------------------------

    @property
    def sending(self) -> bool:
        """Screenshots and signals go on until the last answer is sent."""
        return not self.ended and self.failed is None and self.answers_sent < self.b.questions

    async def _answer_loop(self) -> None:
        b = self.b
        while True:
            question_id = await self.questions.get()
            if question_id is None:
                return
            if question_id in self.answered:
                continue  # the same question again, after a reconnect
            think = b.think_time * (1 + self.rng.uniform(-b.think_jitter, b.think_jitter))
            await asyncio.sleep(max(0.0, think))
            if self.ended:
                return
            self.answered.add(question_id)
            self.answers_sent += 1
            cid = f"a-{self.number}-{uuid.uuid4().hex[:12]}"
            text = f"{ANSWER_WORDS} (answer {len(self.answered)} of candidate {self.number})"
            frame = orjson.dumps(
                {"type": "answer", "client_id": cid, "question_id": question_id, "text": text}
            ).decode()
            await self.connected.wait()
            await self._submit("answer", cid, frame)

    async def _screenshots(self) -> None:
        every = self.b.screenshot_every
        await asyncio.sleep(self.rng.uniform(0.2, every))
        while self.sending:
            await self.connected.wait()
            cid = f"s-{self.number}-{uuid.uuid4().hex[:12]}"
            image = self.rng.choice(self.b.images)
            await self._submit("screenshot", cid, screenshot_frame(image, cid))
            await asyncio.sleep(every * self.rng.uniform(0.9, 1.1))

    async def _signals(self) -> None:
        rate = self.b.signal_rate / 60
        while True:
            await asyncio.sleep(self.rng.expovariate(rate))
            signals = self.rng.choice(SIGNALS)
            for i, signal in enumerate(signals):
                if i:
                    await asyncio.sleep(self.rng.uniform(1.0, 4.0))
                if not self.sending:
                    return
                await self.connected.wait()
                cid = f"p-{self.number}-{uuid.uuid4().hex[:12]}"
                frame = orjson.dumps({"type": "proctor", "client_id": cid, "signal": signal})
                await self._submit("signal", cid, frame.decode())

    async def _drops(self) -> None:
        rate = self.b.disconnect_rate / 60
        while True:
            await asyncio.sleep(self.rng.expovariate(rate))
            if not self.sending:
                return
            if self.rng.random() < 0.5:
                self.drop_in_flight = True
            elif self.ws is not None and self.connected.is_set():
                self.dropping = True
                _drop(self.ws)

    async def _reconnects(self) -> None:
        attempts = 0
        while True:
            await self.reconnect.wait()
            self.reconnect.clear()
            if self.ended:
                return
            code = self.last_close
            if code in FINAL_CLOSES and not self.dropping:
                self._fail(f"closed by the server: {code}")
                return
            deliberate, self.dropping = self.dropping, False
            # A drop: back after a moment; a server-side close: after its code's pause.
            pause = self.rng.uniform(0.2, 2.0) if deliberate else self.rng.uniform(1.0, 3.0)
            await asyncio.sleep(pause)
            try:
                await self._open()
            except InterviewOver:
                # It ended while this candidate was away: the server knows why.
                self.ended = True
                self.track.end_reason = await self._end_reason()
                self.questions.put_nowait(None)
                return
            except (OSError, httpx.HTTPError, websockets.WebSocketException, TimeoutError) as exc:
                attempts += 1
                if attempts > 5:
                    self._fail(f"could not reconnect: {exc!r}")
                    return
                self.reconnect.set()
                continue
            attempts = 0
            self.rec.counts["candidate_reconnects"] += 1

    async def _end_reason(self) -> str | None:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            resp = await self.http.get(
                f"/interviews/{self.seat.interview_id}", headers=auth(self.seat.candidate_token)
            )
            reason: str | None = resp.json().get("state_reason")
            return reason
        return None

    def _fail(self, reason: str) -> None:
        if self.failed is None and not self.ended:
            self.failed = reason
            self.questions.put_nowait(None)

    async def run(self, start_at: float) -> None:
        await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
        try:
            await self._open()
        except Exception as exc:
            self._finish(f"could not start: {exc!r}")
            return
        self.rec.counts["started"] += 1
        helpers = [asyncio.create_task(self._reconnects())]
        if self.b.screenshot_every > 0 and self.b.images:
            helpers.append(asyncio.create_task(self._screenshots()))
        if self.b.signal_rate > 0:
            helpers.append(asyncio.create_task(self._signals()))
        if self.b.disconnect_rate > 0:
            helpers.append(asyncio.create_task(self._drops()))
        try:
            async with asyncio.timeout(self.b.deadline):
                await self._answer_loop()
                # The server closes the socket (1000) once everything is committed and acked.
                if self._reader is not None and self.ended:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._reader, 30)
        except TimeoutError:
            self._fail(f"timed out: no end after {self.b.deadline:g} s")
        finally:
            for task in [*helpers, *self._tasks]:
                task.cancel()
            await asyncio.gather(*helpers, *self._tasks, return_exceptions=True)
            if self.ws is not None:
                await self.ws.close()
            self._finish(self.failed)

    def _finish(self, failure: str | None) -> None:
        self.track.unacked = sorted(self.pending)
        if failure is None and self.ended and self.track.end_reason == "all_questions_answered":
            self.track.outcome = "completed"
            self.rec.counts["completed"] += 1
        else:
            reason = failure or f"ended early: {self.track.end_reason}"
            self.track.outcome = f"failed: {reason}"
            self.rec.fail(reason)


class Watch:
    """One recruiter socket on an interview, from offset 0 to the end."""

    def __init__(
        self,
        candidate: Candidate,
        http: httpx.AsyncClient,
        recorder: Recorder,
        rng: random.Random,
        connect_gate: asyncio.Semaphore,
    ) -> None:
        self.candidate = candidate
        self.http = http
        self.b = candidate.b
        self.rec = recorder
        self.track = candidate.track
        self.rng = rng
        self.gate = connect_gate
        self.last = 0
        self.view: list[tuple[int, str]] = []
        self.track.watcher_views.append(self.view)
        self.ws: ClientConnection | None = None
        self.dropping = False
        self.done = False

    async def _session(self) -> int:
        """One connection, from ``self.last``; returns its close code."""
        async with self.gate:
            url = await ticket_url(self.http, self.track.interview_id, self.b.recruiter_token)
            ws = await connect(ws_url(self.b.base_url, f"{url}&since={self.last}"))
        self.ws = ws
        opened = time.perf_counter()
        self.rec.watchers_open += 1
        try:
            async for raw in ws:
                now = time.perf_counter()
                self.rec.received(len(raw))
                message = orjson.loads(raw)
                if message.get("type") != "event":
                    continue
                offset, kind = message["offset"], message["kind"]
                if offset != self.last + 1:
                    what = "duplicate" if offset <= self.last else "gap"
                    self.track.watcher_problems.append(
                        f"watcher: {what}: offset {offset} after {self.last}"
                    )
                self.last = max(self.last, offset)
                self.view.append((offset, kind))
                if kind in CANDIDATE_KINDS:
                    self.track.on_watched(self.rec, offset, now, opened)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.rec.watchers_open -= 1
        return _close_code(ws)

    async def _drops(self) -> None:
        rate = self.b.disconnect_rate / 60
        while not self.done:
            await asyncio.sleep(self.rng.expovariate(rate))
            if self.ws is not None and not self.done:
                self.dropping = True
                _drop(self.ws)

    async def run(self) -> None:
        drops = asyncio.create_task(self._drops()) if self.b.disconnect_rate > 0 else None
        attempts = 0
        try:
            async with asyncio.timeout(self.b.deadline + 60):
                while True:
                    try:
                        code = await self._session()
                    except InterviewOver:
                        return
                    except (OSError, httpx.HTTPError, websockets.WebSocketException) as exc:
                        attempts += 1
                        if attempts > 5:
                            self.track.watcher_problems.append(f"watcher gave up: {exc!r}")
                            return
                        await asyncio.sleep(1.0)
                        continue
                    attempts = 0
                    if code == 1000:
                        return  # the interview ended and everything was delivered
                    if self.dropping:
                        self.dropping = False
                        self.rec.counts["watcher_drops"] += 1
                    else:
                        self.rec.closes[str(code)] += 1
                        if code in FINAL_CLOSES:
                            return
                    await asyncio.sleep(self.rng.uniform(0.2, 2.0))
                    self.rec.counts["watcher_reconnects"] += 1
        except TimeoutError:
            self.track.watcher_problems.append("watcher: timed out before the interview ended")
        finally:
            self.done = True
            if drops is not None:
                drops.cancel()
                await asyncio.gather(drops, return_exceptions=True)
            if self.ws is not None:
                await self.ws.close()


async def play(
    seats: list[tuple[int, Seat]],
    behaviour: Behaviour,
    recorder: Recorder,
    *,
    seed: int,
    run_start: float,
    total: int,
    connect_concurrency: int = 16,
    on_tick: Callable[[dict[str, Any]], None] | None = None,
) -> list[Track]:
    """Play every interview of ``seats`` ((number, seat), numbered over the whole run) to
    its end; interview n starts at ``run_start`` (perf_counter) + n / ``total`` * ramp-up."""
    gate = asyncio.Semaphore(connect_concurrency)
    limits = httpx.Limits(max_connections=connect_concurrency * 2)
    tracks: list[Track] = []
    async with httpx.AsyncClient(base_url=behaviour.base_url, timeout=60, limits=limits) as http:

        async def one(n: int, seat: Seat) -> None:
            rng = random.Random(seed * 1_000_003 + n)
            track = Track(seat.interview_id)
            tracks.append(track)
            candidate = Candidate(seat, n, http, behaviour, recorder, track, rng, gate)
            start_at = run_start + behaviour.ramp_up * n / total
            watches = [
                Watch(candidate, http, recorder, random.Random(rng.random()), gate)
                for _ in range(behaviour.watchers)
            ]

            async def watch(w: Watch) -> None:
                # Watchers join just before the candidate, so they see the interview live.
                await asyncio.sleep(max(0.0, start_at - 0.5 - time.perf_counter()))
                await w.run()

            watching = [asyncio.create_task(watch(w)) for w in watches]
            await candidate.run(start_at)
            if candidate.failed is not None or not candidate.ended:
                # Nothing will close the watchers for an interview that did not end.
                await asyncio.sleep(1.0)
                for task in watching:
                    task.cancel()
            await asyncio.gather(*watching, return_exceptions=True)

        ticker = asyncio.create_task(_tick(recorder, on_tick)) if on_tick else None
        try:
            await asyncio.gather(*(one(n, seat) for n, seat in seats))
        finally:
            if ticker is not None:
                ticker.cancel()
                await asyncio.gather(ticker, return_exceptions=True)
                on_tick(recorder.snapshot())  # type: ignore[misc]
    return tracks


async def _tick(recorder: Recorder, on_tick: Callable[[dict[str, Any]], None]) -> None:
    while True:
        await asyncio.sleep(1.0)
        on_tick(recorder.snapshot())
