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
import websockets
from websockets.asyncio.client import ClientConnection

from clients.interview_client import (
    CandidateSession,
    InterviewOver,
    SocketOptions,
    answer_frame,
    close_code,
    connect,
    decode,
    drop,
    open_socket,
    proctor_frame,
    read_ready,
    screenshot_frame,
)
from clients.loadtest.metrics import Recorder
from clients.loadtest.roster import ANSWER_WORDS, Seat, auth
from server.protocol.codec import ProtocolError
from server.protocol.codes import FINAL_CLOSE_CODES, CloseCode, ErrorCode
from server.protocol.messages import (
    Ack,
    Error,
    Event,
    InterviewEnded,
    ProctorSignal,
    QuestionDelta,
    QuestionDone,
)

# Candidate events whose delivery to watchers is timed (they carry the candidate's client id).
CANDIDATE_KINDS = {"answer": "answer", "proctor": "signal", "screenshot": "screenshot"}
# Away-and-back pairs and single signals, as a browser would send them.
SIGNALS: tuple[tuple[ProctorSignal, ...], ...] = (
    ("tab_hidden", "tab_visible"),
    ("window_blur", "window_focus"),
    ("paste",),
)
# Every simulated socket (and the echo baseline's): a long open timeout, since a thousand
# open at once; no pings of its own (the server pings, the client answers); a short close.
LOAD_SOCKETS = SocketOptions(open_timeout=60, ping_interval=None, close_timeout=5)


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
    loop_lag: bool = False  # sample this process's event-loop lag (Recorder.loop_lag)


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
    # Client ids acked after being sent again (a reconnect, a refusal): their first ack may
    # have been lost with a socket, so theirs may come after later messages' acks.
    resent: list[str] = field(default_factory=list)
    # Per watcher: [(offset, kind)] in the order received, and what looked wrong live.
    watcher_views: list[list[tuple[int, str]]] = field(default_factory=list)
    watcher_problems: list[str] = field(default_factory=list)
    outcome: str = "not started"  # completed | failed: ... | not started
    end_reason: str | None = None
    # The candidate lost its server (not a drop of its own) and resumed: the interview moved.
    moved: bool = False
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
            "resent": self.resent,
            "watcher_views": self.watcher_views,
            "watcher_problems": self.watcher_problems,
            "outcome": self.outcome,
            "end_reason": self.end_reason,
            "moved": self.moved,
        }


async def open_load_socket(
    http: httpx.AsyncClient,
    base_url: str,
    interview_id: str,
    token: str,
    since: int | None = None,
) -> ClientConnection:
    """A simulated candidate's socket, or with ``since`` a watcher's."""
    return await open_socket(
        http, base_url, interview_id, token=token, since=since, options=LOAD_SOCKETS
    )


def _retryable(exc: BaseException) -> bool:
    """Whether starting again later may work: the server said so (503, a 1013 close), or
    the connection failed (refused, or lost without a close frame: its node died)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 503
    if isinstance(exc, websockets.ConnectionClosed):
        return exc.rcvd is None or exc.rcvd.code == 1013
    return isinstance(exc, OSError | httpx.TransportError)


async def open_candidates(
    http: httpx.AsyncClient,
    base_url: str,
    seats: list[Seat],
    failed: Callable[[str], None],
    concurrency: int = 16,
) -> list[tuple[Seat, CandidateSession]]:
    """Each seat's candidate connected (``concurrency`` at a time), past ``session.ready``;
    a seat that could not connect is left out, its exception's name given to ``failed``."""
    gate = asyncio.Semaphore(concurrency)
    opened: list[tuple[Seat, CandidateSession]] = []

    async def join(seat: Seat) -> None:
        async with gate:
            try:
                ws = await open_load_socket(http, base_url, seat.interview_id, seat.candidate_token)
                session = CandidateSession(ws)
                session.ready = await session.receive_until("session.ready")
            except Exception as exc:
                failed(type(exc).__name__)
                return
        opened.append((seat, session))

    await asyncio.gather(*(join(seat) for seat in seats))
    return opened


async def connect_load_socket(url: str) -> ClientConnection:
    """A socket to any URL (the echo baseline) with the simulated sockets' options."""
    return await connect(url, LOAD_SOCKETS)


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
        self.lost_server_at: float | None = None  # see clients.loadtest.faults
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reader: asyncio.Task[None] | None = None

    # --- the socket ------------------------------------------------------------------------

    async def _open(self) -> None:
        async with self.gate:
            ws = await open_load_socket(
                self.http, self.b.base_url, self.seat.interview_id, self.seat.candidate_token
            )
            _ready, size = await read_ready(ws, 60)
        self.rec.received(size)
        self.ws = ws
        if self.lost_server_at is not None:
            self.rec.latency("without_server", self.lost_server_at, time.perf_counter())
            self.track.moved = True
            self.lost_server_at = None
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
                drop(ws)

    async def _read(self, ws: ClientConnection) -> None:
        rec, track = self.rec, self.track
        try:
            async for raw in ws:
                now = time.perf_counter()
                rec.received(len(raw))
                try:
                    message = decode(raw)
                except ProtocolError as exc:
                    rec.errors[f"client: {exc.code}"] += 1
                    continue
                match message:
                    case QuestionDelta():
                        started = self.awaiting_first_token
                        if started is not None:
                            self.awaiting_first_token = None
                            rec.latency("first_token", started, now)
                    case Ack(client_id=cid, offset=offset):
                        self._acked(cid, offset, now)
                    case QuestionDone(question_id=question_id):
                        self.questions.put_nowait(question_id)
                    case Error():
                        self._refused(message)
                    case InterviewEnded(reason=reason):
                        self.ended = True
                        track.end_reason = reason
                        self.questions.put_nowait(None)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.connected.clear()
            self.rec.candidates_open -= 1
            self.awaiting_first_token = None
            code = close_code(ws)
            self.last_close = code
            if not self.ended:
                if self.dropping:
                    self.rec.counts["candidate_drops"] += 1
                else:
                    self.rec.closes[str(code)] += 1
                    if self.lost_server_at is None:
                        self.lost_server_at = time.perf_counter()
                self.reconnect.set()

    def _acked(self, cid: str, offset: int, now: float) -> None:
        pending = self.pending.pop(cid, None)
        if cid in self.acked_ids:
            self.rec.counts["acked_again"] += 1
            return
        self.acked_ids.add(cid)
        self.track.acked.append((cid, self.kinds.get(cid, "unknown"), offset))
        if pending is None or pending.resent:
            self.track.resent.append(cid)
        if pending is None:
            # Refused earlier, acked now: the log must hold it all the same.
            self.rec.counts["acked_after_refusal"] += 1
        elif pending.resent:
            self.track.on_ack(self.rec, offset, None)
        else:
            self.rec.latency(f"{pending.kind}_ack", pending.sent, now)
            self.track.on_ack(self.rec, offset, pending.sent)

    def _refused(self, message: Error) -> None:
        code = message.code
        self.rec.errors[code] += 1
        cid = message.client_id
        pending = self.pending.get(cid) if cid is not None else None
        if pending is None or cid is None:
            return
        if code == ErrorCode.OVERLOADED:  # "resend shortly": keep it, resend in a moment
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
            frame = answer_frame(cid, question_id, text)
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
                await self._submit("signal", cid, proctor_frame(cid, signal))

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
                drop(self.ws)

    async def _reconnects(self) -> None:
        attempts = 0
        while True:
            await self.reconnect.wait()
            self.reconnect.clear()
            if self.ended:
                return
            code = self.last_close
            if code in FINAL_CLOSE_CODES and not self.dropping:
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
        for attempt in range(8):
            try:
                await self._open()
                break
            except Exception as exc:
                # A 503 (say, cluster_unavailable) or a 1013 close says: try again later.
                if attempt == 7 or not _retryable(exc):
                    self._finish(f"could not start: {exc!r}")
                    return
                await asyncio.sleep(min(8.0, 0.5 * 2**attempt) * self.rng.uniform(0.5, 1.0))
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
            ws = await open_load_socket(
                self.http,
                self.b.base_url,
                self.track.interview_id,
                self.b.recruiter_token,
                since=self.last,
            )
        self.ws = ws
        opened = time.perf_counter()
        self.rec.watchers_open += 1
        try:
            async for raw in ws:
                now = time.perf_counter()
                self.rec.received(len(raw))
                try:
                    message = decode(raw)
                except ProtocolError as exc:
                    self.rec.errors[f"client: {exc.code}"] += 1
                    continue
                if not isinstance(message, Event):
                    continue
                offset, kind = message.offset, message.kind
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
        return close_code(ws)

    async def _drops(self) -> None:
        rate = self.b.disconnect_rate / 60
        while not self.done:
            await asyncio.sleep(self.rng.expovariate(rate))
            if self.ws is not None and not self.done:
                self.dropping = True
                drop(self.ws)

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
                    if code == CloseCode.NORMAL:
                        return  # the interview ended and everything was delivered
                    if self.dropping:
                        self.dropping = False
                        self.rec.counts["watcher_drops"] += 1
                    else:
                        self.rec.closes[str(code)] += 1
                        if code in FINAL_CLOSE_CODES:
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
        lag = asyncio.create_task(_sample_loop_lag(recorder)) if behaviour.loop_lag else None
        try:
            await asyncio.gather(*(one(n, seat) for n, seat in seats))
        finally:
            if lag is not None:
                lag.cancel()
                await asyncio.gather(lag, return_exceptions=True)
            if ticker is not None:
                ticker.cancel()
                await asyncio.gather(ticker, return_exceptions=True)
                on_tick(recorder.snapshot())  # type: ignore[misc]
    return tracks


async def _sample_loop_lag(recorder: Recorder, interval: float = 0.01) -> None:
    """How late this process's loop wakes from a short sleep: if that is large, the load
    generator, not the server, is what the latencies measure."""
    while True:
        before = time.perf_counter()
        await asyncio.sleep(interval)
        now = time.perf_counter()
        recorder.lag(now, max(0.0, now - before - interval))


async def _tick(recorder: Recorder, on_tick: Callable[[dict[str, Any]], None]) -> None:
    while True:
        await asyncio.sleep(1.0)
        on_tick(recorder.snapshot())
