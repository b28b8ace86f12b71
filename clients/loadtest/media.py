"""Media sessions (``--media N``): N candidates each sending audio and 640x360@15 video over
WebRTC at once, held for a while. What it reports:

- offer -> connected: from sending ``rtc.offer`` to the client's peer ``connected``;
- snapshot lag: from a video frame reaching the server to its snapshot committed to the log,
  read from the server's ``openhire_media_snapshot_lag_seconds`` over the hold alone;
- the media sessions held to the end, and the server's peers at their most;
- the server's CPU and memory per media session: the hold's averages less those of the same
  sockets without media, over the sessions held.

The generator stays cheap: the clip is encoded once (``clients.media.write_clip``) and sent as
it is (``MediaPlayer(decode=False)``), one demuxing player shared by every peer through a
``MediaRelay``; no client encodes or decodes anything.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from aiortc import RTCPeerConnection
from aiortc.contrib.media import MediaPlayer, MediaRelay

from clients.interview_client import CandidateSession
from clients.loadtest.report import ProgressLine
from clients.loadtest.resources import ResourceSampler, measure
from clients.loadtest.results import EXIT_FAILED
from clients.loadtest.roster import Seat, setup_held_roster
from clients.loadtest.server_metrics import Scrape, ServerMetrics, increase, quantile
from clients.loadtest.simulate import open_candidates
from clients.media import write_clip

CLIP = "openhire-loadtest-640x360-15fps.webm"
CONNECT_TIMEOUT_S = 30.0
BASELINE_S = 3.0


def clip_path(given: Path | None) -> Path:
    """The clip to send: ``given``, or one written once into the temporary directory."""
    if given is not None:
        return given
    path = Path(tempfile.gettempdir()) / CLIP
    if not path.exists():
        write_clip(path)
    return path


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000, 1)

    return {"p50": at(0.5), "p99": at(0.99), "max": round(ordered[-1] * 1000, 1)}


class _Client:
    def __init__(self, session: CandidateSession) -> None:
        self.session = session
        self.pc = RTCPeerConnection()
        self.connected = asyncio.Event()
        self.pc.on("connectionstatechange", self._changed)

    def _changed(self) -> None:
        if self.pc.connectionState == "connected":
            self.connected.set()


async def hold_media(
    base_url: str,
    seats: list[Seat],
    *,
    hold: float,
    clip: Path,
    ramp_up: float,
    sampler: ResourceSampler | None,
    server_metrics: ServerMetrics | None,
    say: Any,
) -> dict[str, Any]:
    failures: dict[str, int] = {}
    connect_s: list[float] = []
    player = MediaPlayer(str(clip), decode=False, loop=True)
    relay = MediaRelay()

    def failed(why: str) -> None:
        failures[why] = failures.get(why, 0) + 1

    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        opened = await open_candidates(http, base_url, seats, failed)
        clients = [_Client(session) for _, session in opened]
        say(f"media: {len(clients)} sockets open; measuring them without media ...")
        without = await measure(sampler, BASELINE_S)

        async def offer(client: _Client, delay: float) -> None:
            await asyncio.sleep(delay)
            assert player.audio is not None and player.video is not None
            client.pc.addTrack(relay.subscribe(player.audio, buffered=False))
            client.pc.addTrack(relay.subscribe(player.video, buffered=False))
            started = time.perf_counter()
            try:
                reply = await client.session.offer_media(client.pc, timeout=CONNECT_TIMEOUT_S)
                if reply["type"] != "rtc.answer":
                    failed(reply.get("code", reply["type"]))
                    return
                await asyncio.wait_for(client.connected.wait(), CONNECT_TIMEOUT_S)
            except Exception as exc:
                failed(type(exc).__name__)
                return
            connect_s.append(time.perf_counter() - started)

        step = ramp_up / max(1, len(clients))
        await asyncio.gather(*(offer(c, i * step) for i, c in enumerate(clients)))
        say(f"media: {len(connect_s)} connected; holding {hold:g} s ...")
        first = server_metrics._scrape() if server_metrics is not None else None
        during = await measure(sampler, hold)
        last = server_metrics._scrape() if server_metrics is not None else None
        held = sum(1 for c in clients if c.pc.connectionState == "connected")
        for client in clients:
            with contextlib.suppress(Exception):
                await client.pc.close()
            with contextlib.suppress(Exception):
                await client.session.close()
        player_tracks = [t for t in (player.audio, player.video) if t is not None]
        for track in player_tracks:
            track.stop()
    result: dict[str, Any] = {
        "sessions": len(seats),
        "sockets": len(clients),
        "connected": len(connect_s),
        "held_to_the_end": held,
        "failures": failures,
        "offer_to_connected_ms": _percentiles(connect_s),
        "hold_s": hold,
        "clip": str(clip),
    }
    if first is not None and last is not None:
        result.update(_inside(first, last, hold, max(1, held)))
    if without and during:
        n = max(1, held)
        result["server"] = {
            "cpu_without_media": without["cpu"],
            "cpu_with_media": during["cpu"],
            "cpu_per_session": round((during["cpu"] - without["cpu"]) / n, 2),
            "rss_without_media_mb": without["rss_mb"],
            "rss_with_media_mb": during["rss_mb"],
            "rss_per_session_mb": round((during["rss_mb"] - without["rss_mb"]) / n, 2),
            "client_cpu": during["client_cpu"],
        }
    return result


def _inside(first: Scrape, last: Scrape, hold: float, held: int) -> dict[str, Any]:
    lag = increase(
        first.buckets("openhire_media_snapshot_lag_seconds"),
        last.buckets("openhire_media_snapshot_lag_seconds"),
    )
    count = lag[-1][1] if lag else 0.0

    def ms(q: float) -> float | None:
        value = quantile(q, lag)
        return None if value is None else round(value * 1000, 1)

    peers = last.value("openhire_media_peers", role="candidate")
    return {
        "snapshot_lag_ms": {"count": count, "p50": ms(0.5), "p99": ms(0.99)},
        "snapshots_per_session_s": round(count / held / hold, 2),
        "server_peers": peers,
        "loop_lag_p99_ms": _loop_lag(first, last),
    }


def _loop_lag(first: Scrape, last: Scrape) -> float | None:
    name = "openhire_event_loop_lag_seconds"
    value = quantile(0.99, increase(first.buckets(name), last.buckets(name)))
    return None if value is None else round(value * 1000, 1)


def run_media(
    args: argparse.Namespace, base_url: str, sampler: ResourceSampler, progress: ProgressLine
) -> dict[str, Any]:
    n: int = args.media
    clip = clip_path(args.media_clip)
    roster = setup_held_roster(base_url, "media", n, args.setup_concurrency, progress.say)
    media = asyncio.run(
        hold_media(
            base_url,
            roster.seats,
            hold=args.hold,
            clip=clip,
            ramp_up=args.ramp_up if args.ramp_up is not None else 5.0,
            sampler=sampler,
            server_metrics=sampler.server_metrics,
            say=progress.say,
        )
    )
    ok = media["held_to_the_end"] == n
    return {
        "title": f"{n} media sessions",
        "config": {"media": n, "hold": args.hold, "clip": str(clip)},
        "setup_s": round(roster.setup_s, 1),
        "media": media,
        "exit_code": 0 if ok else EXIT_FAILED,
    }


def media_table(result: dict[str, Any]) -> str:
    media = result["media"]
    m = result["machine"]
    connect = media["offer_to_connected_ms"]
    lines = [
        f"OpenHire media sessions: {media['sessions']} candidates sending audio and"
        f" 640x360@15 video, held {media['hold_s']:g} s; target {result['target']}"
        f" ({'local' if result['local'] else 'remote'})",
        f"{m['cpus']} CPUs, load average {m['load_average'][0]:.2f} before,"
        f" {result['load_after'][0]:.2f} after; setup {result['setup_s']:.1f} s",
        f"connected {media['connected']} of {media['sockets']}, held to the end"
        f" {media['held_to_the_end']}; failures {media['failures'] or 'none'}",
        f"offer -> connected: p50 {connect['p50']} ms, p99 {connect['p99']} ms,"
        f" max {connect['max']} ms",
    ]
    if "snapshot_lag_ms" in media:
        lag = media["snapshot_lag_ms"]
        lines.append(
            f"snapshot lag (frame -> logged): p50 {lag['p50']} ms, p99 {lag['p99']} ms over"
            f" {lag['count']:.0f} snapshots ({media['snapshots_per_session_s']:g} per session"
            f" a second); server peers {media['server_peers']:.0f}; loop lag p99"
            f" {media['loop_lag_p99_ms']} ms"
        )
    server = media.get("server")
    if server:
        lines.append(
            f"server CPU {server['cpu_without_media']:.0f}% -> {server['cpu_with_media']:.0f}%"
            f" of one core: {server['cpu_per_session']:.2f}% per media session; RSS"
            f" {server['rss_without_media_mb']:.0f} -> {server['rss_with_media_mb']:.0f} MB:"
            f" {server['rss_per_session_mb']:.2f} MB per session; generator CPU"
            f" {server['client_cpu']:.0f}%"
        )
    else:
        lines.append("server CPU and memory: not measured (a remote server)")
    return "\n".join(lines)
