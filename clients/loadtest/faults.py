"""A load test across several nodes: faults at chosen seconds, and what they cost.

``--fault kill@20:PID`` sends SIGKILL to process PID (a node on this machine) 20 s into the
run; ``--fault stop@20+8:PID`` pauses it (SIGSTOP) at 20 s and resumes it (SIGCONT) 8 s later.
Either may be given several times. The run goes through the balancer (``--url``), and the
report adds, beside the usual no-loss proof over every interview, how many interviews moved
(their candidate lost its server and resumed on another) and how long candidates were without
a server (``without_server``: from the socket's loss to the next ``session.ready``).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

_SPEC = re.compile(r"^(kill|stop)@(\d+(?:\.\d+)?)(?:\+(\d+(?:\.\d+)?))?:(\d+)$")


@dataclass(frozen=True)
class Fault:
    action: str  # kill | stop
    at_s: float
    pid: int
    pause_s: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> Fault:
        match = _SPEC.match(spec)
        if match is None:
            raise argparse.ArgumentTypeError(
                f"{spec!r}: expected kill@SECONDS:PID or stop@SECONDS+PAUSE:PID"
            )
        action, at, pause, pid = match.groups()
        if action == "stop" and pause is None:
            raise argparse.ArgumentTypeError(f"{spec!r}: a stop needs +PAUSE (seconds)")
        return cls(action, float(at), int(pid), float(pause or 0))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("faults (several nodes behind --url)")
    group.add_argument(
        "--fault",
        type=Fault.parse,
        action="append",
        default=[],
        metavar="SPEC",
        help="kill@SECONDS:PID (SIGKILL) or stop@SECONDS+PAUSE:PID (SIGSTOP, then SIGCONT)",
    )


@dataclass
class FaultPlan:
    faults: list[Fault]
    done: list[dict[str, Any]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        if self.faults:
            self._thread = threading.Thread(target=self._run, name="faults", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        started = time.monotonic()
        steps: list[tuple[float, str, int]] = []
        for f in self.faults:
            if f.action == "kill":
                steps.append((f.at_s, "SIGKILL", f.pid))
            else:
                steps.append((f.at_s, "SIGSTOP", f.pid))
                steps.append((f.at_s + f.pause_s, "SIGCONT", f.pid))
        for at, name, pid in sorted(steps):
            if self._stop.wait(max(0.0, at - (time.monotonic() - started))):
                name = "SIGCONT"  # ended early: never leave a process paused
                if not any(d["pid"] == pid and d["signal"] == "SIGSTOP" for d in self.done):
                    continue
            try:
                os.kill(pid, getattr(signal, name))
                self.done.append(
                    {
                        "signal": name,
                        "pid": pid,
                        "at_s": round(time.monotonic() - started, 2),
                        # To line up with the nodes' logs (a takeover's time from the kill).
                        "at_wall": round(time.time(), 3),
                    }
                )
            except ProcessLookupError:
                self.done.append({"signal": name, "pid": pid, "error": "no such process"})


def summary(tracks: list[dict[str, Any]], plan: FaultPlan) -> dict[str, Any]:
    return {
        "faults": plan.done,
        "interviews_moved": sum(1 for t in tracks if t.get("moved")),
    }


def describe(result: dict[str, Any]) -> str:
    cluster = result.get("cluster")
    if not cluster:
        return ""
    faults = ", ".join(
        f"{d['signal']} {d['pid']} at {d.get('at_s', '?')} s" for d in cluster["faults"]
    )
    away = result["latency_ms"].get("without_server", {})
    line = f"faults: {faults or 'none'}; interviews moved: {cluster['interviews_moved']}"
    if away.get("count"):
        line += (
            f"; candidates without a server: p50 {away['p50']:.0f} ms, p99 {away['p99']:.0f} ms"
            f" ({away['count']} times)"
        )
    return line
