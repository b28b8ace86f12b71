"""The load generator (``openhire loadtest``): a smoke run of 20 concurrent interviews with
watchers, drops and resumes against a real server, to completion, with the no-loss check;
and proof that the check fails when a log is not what the acks promised.

Nothing here asserts speed: the figures are for benchmarks (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import ast
import copy
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets
from websockets.frames import Close

from clients.loadtest.images import webcam_jpegs
from clients.loadtest.metrics import Recorder
from clients.loadtest.options import build_parser, check_args, questions_for
from clients.loadtest.roster import build_roster, plan
from clients.loadtest.simulate import Behaviour, _retryable, play
from clients.loadtest.verify import check_interview, verify_all
from tests.conftest import ROOT, ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]


async def test_twenty_interviews_complete_and_nothing_is_lost(server: ServerProcess) -> None:
    roster = await build_roster(
        server.url,
        candidates=20,
        interview_plan=plan(4, answer_time_limit_s=120, total_time_limit_min=10),
    )
    behaviour = Behaviour(
        base_url=server.url,
        recruiter_token=roster.recruiter_token,
        questions=4,
        think_time=0.5,
        # The suite's server takes a screenshot a second at most.
        screenshot_every=1.2,
        signal_rate=30,
        disconnect_rate=20,
        watchers=1,
        ramp_up=1.0,
        deadline=120,
        images=webcam_jpegs((30, 80), count=3),
    )
    recorder = Recorder(time.time())
    tracks = await play(
        list(enumerate(roster.seats)),
        behaviour,
        recorder,
        seed=7,
        run_start=time.perf_counter(),
        total=20,
    )
    exported = [t.export() for t in tracks]
    outcomes = {t["interview_id"]: t["outcome"] for t in exported}
    assert list(outcomes.values()) == ["completed"] * 20, outcomes
    assert recorder.counts["started"] == 20
    assert recorder.counts["completed"] == 20
    # Drops happened, some with a message in flight, and both kinds of socket came back.
    assert recorder.counts["candidate_reconnects"] > 0, recorder.counts
    assert recorder.counts["watcher_reconnects"] > 0, recorder.counts
    assert recorder.counts["resent"] > 0, recorder.counts
    for t in exported:
        kinds = {kind for _, kind, _ in t["acked"]}
        assert {"answer", "screenshot"} <= kinds, t
        # Every answer was acked, unless the last was cut off in flight and the interview
        # ended (on it) before the candidate was back: then it is still unacked.
        answers = sum(kind == "answer" for _, kind, _ in t["acked"])
        assert answers + sum(cid.startswith("a-") for cid in t["unacked"]) == 4, t
        assert len(t["watcher_views"]) == 1
    assert any(kind == "signal" for t in exported for _, kind, _ in t["acked"])

    verdicts, logs = await verify_all(server.url, roster.recruiter_token, exported)
    assert [v.problems for v in verdicts] == [[]] * 20
    assert sum(v.acked for v in verdicts) >= 20 * 6

    # The check can fail: take one interview's real log and acks, and tamper with them.
    track = max(exported, key=lambda t: len(t["acked"]))
    interview_id = track["interview_id"]
    log, acked, views = logs[interview_id], track["acked"], track["watcher_views"]
    assert check_interview(interview_id, acked, log, views, expect_completed=True).ok

    cid, kind, offset = acked[len(acked) // 2]
    lost = [e for e in log if e.get("client_id") != cid]
    verdict = check_interview(interview_id, acked, lost)
    assert f"lost: {kind} {cid}, acked at offset {offset}, is not in the log" in verdict.problems

    doubled = copy.deepcopy(log)
    twin = next(e for e in doubled if e.get("client_id") == cid)
    doubled.append({**twin, "offset": len(doubled) + 1})
    verdict = check_interview(interview_id, acked, doubled)
    assert any(p.startswith(f"duplicate: client id {cid}") for p in verdict.problems), verdict

    swapped = list(acked)
    i = len(swapped) // 2
    swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
    verdict = check_interview(interview_id, swapped, log)
    assert any(p.startswith("out of order") for p in verdict.problems), verdict
    # Unless the late one was sent again: its first ack may have gone with a dropped socket.
    late = swapped[i + 1][0]
    assert check_interview(interview_id, swapped, log, resent={late}).ok
    others = {cid for cid, _, _ in swapped[:i]}
    assert not check_interview(interview_id, swapped, log, resent=others).ok


def _event(offset: int, kind: str, client_id: str | None = None) -> dict[str, Any]:
    return {"offset": offset, "kind": kind, "client_id": client_id, "data": {}}


def test_the_check_names_every_kind_of_problem() -> None:
    log = [
        _event(1, "connection"),
        _event(2, "answer", "a1"),
        _event(3, "screenshot", "s1"),
        _event(4, "proctor", "p1"),
    ]
    acked = [("a1", "answer", 2), ("s1", "screenshot", 3), ("p1", "signal", 4)]
    views = [[(1, "connection"), (2, "answer"), (3, "screenshot"), (4, "proctor")]]
    assert check_interview("i", acked, log, views).ok

    def problems(acked: Any = acked, log: Any = log, views: Any = views) -> list[str]:
        return check_interview("i", acked, log, views).problems

    assert problems(acked=[*acked, ("a2", "answer", 5)]) == [
        "lost: answer a2, acked at offset 5, is not in the log"
    ]
    assert problems(acked=[("a1", "answer", 3), *acked[1:]]) == [
        "moved: answer a1 was acked at offset 3, logged at 2"
    ]
    assert problems(acked=[("s1", "answer", 3)]) == [
        "wrong kind: s1 was sent as answer, logged as screenshot"
    ]
    assert problems(acked=[*acked, ("a1", "answer", 2)]) == [
        "out of order: acked messages are logged at offsets [2, 3, 4, 2]",
        "acked twice as new: a1 (2 times)",
    ]
    assert problems(log=[*log[:3], _event(5, "proctor", "p1")]) == [
        "log offsets are not 1..4 in order: [1, 2, 3, 5]",
        "moved: signal p1 was acked at offset 4, logged at 5",
        "watcher 0: received proctor at offset 4, the log has None",
    ]
    assert problems(views=[[(1, "connection"), (3, "screenshot")]]) == [
        "watcher 0: received offsets [1, 3], not 1, 2, 3..."
    ]
    assert problems(views=[[(1, "connection"), (2, "answer"), (2, "answer")]]) == [
        "watcher 0: received offsets [1, 2, 2], not 1, 2, 3..."
    ]


def test_openhire_loadtest_runs_as_a_command(server: ServerProcess, tmp_path: Any) -> None:
    out = tmp_path / "run.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "loadtest",
            "--url",
            server.url,
            "--interviews",
            "3",
            "--questions",
            "2",
            "--think-time",
            "0.3",
            "--ramp-up",
            "0.5",
            "--screenshot-every",
            "1.2",
            "--disconnect-rate",
            "0",
            "--json",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK: nothing lost, nothing duplicated" in proc.stdout
    result = orjson.loads(out.read_bytes())
    assert result["sessions"]["completed"] == 3
    assert result["verification"]["ok"] is True
    assert result["latency_ms"]["answer_ack"]["count"] == 6
    assert result["local"] is False


def test_the_clients_import_only_the_protocol_from_the_server() -> None:
    """The Python client and the load generator are clients of the public API and protocol:
    from ``server`` they take ``server.protocol`` (and the echo baseline the way ``openhire
    serve`` runs uvicorn), never the command line (an import cycle: ``openhire loadtest``
    imports them) nor the server's internals (a benchmark that seeds the database lives in
    benchmarks/)."""
    allowed = ("server.protocol", "server.serving")
    found = []
    paths = [
        ROOT / "clients" / "interview_client.py",
        *(ROOT / "clients" / "loadtest").rglob("*.py"),
    ]
    for path in sorted(paths):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                inside = name == "server" or name.startswith("server.")
                if inside and not any(name == a or name.startswith(a + ".") for a in allowed):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert found == []


def test_the_profiles_defaults_and_checks() -> None:
    def parse(*argv: str) -> argparse.Namespace:
        parser = build_parser()
        args = parser.parse_args(argv)
        check_args(parser, args)
        return args

    whole = parse()
    assert (whole.interviews, whole.watchers, whole.think_time) == (20, 1, 5.0)
    assert (whole.think_jitter, whole.disconnect_rate) == (0.2, 0.2)
    assert questions_for(whole) == 12
    latency = parse("--profile", "latency")
    assert (latency.interviews, latency.watchers, latency.think_time) == (200, 0, 1.0)
    assert (latency.disconnect_rate, latency.signal_rate, latency.screenshot_every) == (0, 0, 0)
    # Enough questions that no interview ends inside the window: 2 + 3 + 20 s at 1 s, and 2.
    assert questions_for(latency) == 27
    # What is given wins over the profile.
    assert parse("--profile", "latency", "--watchers", "1").watchers == 1
    with pytest.raises(SystemExit):
        parse("--profile", "latency", "--duration", "60")
    # Settings for the local server, in order; malformed ones, or with --url, refused.
    assert whole.server_env == []
    given = parse("--server-env", "OPENHIRE_SCORING_PROCESSES=0", "--server-env", "A_B=x=y")
    assert given.server_env == [("OPENHIRE_SCORING_PROCESSES", "0"), ("A_B", "x=y")]
    for bad in (["--server-env", "NO_VALUE"], ["--server-env", "=1"]):
        with pytest.raises(SystemExit):
            parse(*bad)
    with pytest.raises(SystemExit):
        parse("--url", "http://127.0.0.1:1", "--server-env", "OPENHIRE_SCORING_PROCESSES=0")


def test_the_latency_profile_measures_a_window_of_steady_state(
    server: ServerProcess, tmp_path: Any
) -> None:
    out = tmp_path / "latency.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "loadtest",
            "--profile",
            "latency",
            "--url",
            server.url,
            "--interviews",
            "3",
            "--watchers",
            "1",
            "--think-time",
            "0.3",
            "--ramp-up",
            "0.5",
            "--warmup",
            "1",
            "--duration",
            "3",
            "--json",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "window:    3 s measured from 1.5 s" in proc.stdout
    result = orjson.loads(out.read_bytes())
    assert result["config"]["profile"] == "latency"
    assert result["verification"]["ok"] is True
    window = result["window"]
    assert window["fewest_candidates_live"] == 3
    in_window = window["latency_ms"]["answer_ack"]["count"]
    # Answers sent in the 3 s window, out of all of them; every one seen by the watcher.
    assert 0 < in_window < result["latency_ms"]["answer_ack"]["count"]
    assert window["latency_ms"]["watcher_event"]["count"] == in_window
    assert window["client_loop_lag_ms"]["p99"] >= 0
    assert set(window["cpu_percent"]) >= {"client", "machine"}


def test_faults_are_parsed_and_sent_at_their_second() -> None:
    """--fault kill@S:PID and stop@S+P:PID: refused when malformed; sent to a real process at
    their time (a paused process is resumed, even when the run ends first)."""
    import argparse
    import signal
    import subprocess
    import time as clock

    from clients.loadtest.faults import Fault, FaultPlan

    assert Fault.parse("kill@20:123") == Fault("kill", 20.0, 123)
    assert Fault.parse("stop@1.5+8:7") == Fault("stop", 1.5, 7, 8.0)
    for bad in ("kill@x:1", "stop@3:1", "pause@1:2", "kill@1"):
        with pytest.raises(argparse.ArgumentTypeError):
            Fault.parse(bad)
    assert build_parser().parse_args(["--fault", "kill@2:9"]).fault == [Fault("kill", 2.0, 9)]

    def state(pid: int) -> str:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]

    victim = subprocess.Popen(["sleep", "30"])
    paused = subprocess.Popen(["sleep", "30"])
    try:
        plan = FaultPlan([Fault("kill", 0.1, victim.pid), Fault("stop", 0.1, paused.pid, 60.0)])
        plan.start()
        assert victim.wait(10) == -signal.SIGKILL
        deadline = clock.monotonic() + 10
        while state(paused.pid) != "T" and clock.monotonic() < deadline:
            clock.sleep(0.02)
        assert state(paused.pid) == "T"
        plan.stop()  # the run ended before the pause did: resumed
        assert state(paused.pid) in ("S", "R")
        assert [d["signal"] for d in plan.done] == ["SIGKILL", "SIGSTOP", "SIGCONT"]
    finally:
        for process in (victim, paused):
            process.kill()
            process.wait()


def _http_error(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://server/interviews/x/ticket")
    return httpx.HTTPStatusError("", request=request, response=httpx.Response(status))


@pytest.mark.parametrize(
    ("exc", "again"),
    [
        # The node died under the handshake or before session.ready: no close frame.
        (websockets.ConnectionClosedError(None, None), True),
        (websockets.ConnectionClosedError(Close(1013, "try again later"), None), True),
        (websockets.ConnectionClosedError(Close(4001, "bad ticket"), None), False),
        (websockets.ConnectionClosedOK(Close(1000, ""), None), False),
        (ConnectionRefusedError(), True),
        (_http_error(503), True),
        (_http_error(401), False),
    ],
)
def test_a_simulated_candidate_starts_again_only_when_it_may_work(
    exc: BaseException, again: bool
) -> None:
    assert _retryable(exc) is again
