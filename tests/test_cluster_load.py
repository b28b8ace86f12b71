"""The load test across three nodes behind HAProxy, on Redis and PostgreSQL 15: 100 concurrent
interviews, each with a watcher on whichever node the balancer picks (two in three are not the
owner), while one node is killed, or paused then resumed, or Redis is restarted. Every interview
must complete, nothing acked be lost or duplicated, every log's offsets be dense, and every
watcher see every entry once, in order (``openhire loadtest``'s own proof, clients.loadtest.verify).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.cluster_harness import Cluster

pytestmark = pytest.mark.slow

INTERVIEWS = 100


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    made = Cluster(tmp_path_factory.mktemp("cluster-load"))
    try:
        made.start()
        yield made
    finally:
        made.stop()


def run_loadtest(
    cluster: Cluster, out: Path, *extra: str, when_running: Any = None
) -> dict[str, Any]:
    """Run ``openhire loadtest`` through the balancer; ``when_running`` is called once its
    set-up is done and the interviews start."""
    command = [
        sys.executable, "-m", "server.cli", "loadtest", "--url", cluster.url,
        "--interviews", str(INTERVIEWS), "--watchers", "1", "--questions", "4",
        "--think-time", "3", "--ramp-up", "6", "--screenshot-every", "4",
        "--jpeg-kb", "8-16", "--signal-rate", "2", "--disconnect-rate", "0.2",
        "--setup-concurrency", "8", "--json", str(out), *extra,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENHIRE_")}
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stderr is not None and proc.stdout is not None
        progress = b""
        # The progress goes to stderr; "running" follows the set-up.
        while chunk := proc.stderr.read1(4096):  # type: ignore[attr-defined]
            progress += chunk
            if when_running is not None and b"; running" in progress:
                when_running()
                when_running = None
        stdout = proc.stdout.read().decode()
        proc.wait(900)
    assert out.exists(), stdout + progress.decode(errors="replace")[-3000:]
    result: dict[str, Any] = orjson.loads(out.read_bytes())
    print(stdout)
    return result


def assert_nothing_lost(result: dict[str, Any]) -> None:
    verification = result["verification"]
    assert verification["problems"] == [], verification["problems"][:5]
    assert verification["watcher_warnings"] == [], verification["watcher_warnings"][:5]
    assert verification["interviews"] == INTERVIEWS
    assert result["failed_interviews"] == [], result["failed_interviews"][:5]
    assert result["sessions"]["completed"] == INTERVIEWS
    assert result["exit_code"] == 0


def restart_down_nodes(cluster: Cluster) -> None:
    for node in cluster.nodes:
        if node.proc is not None and node.proc.poll() is not None:
            node.proc = None
        if node.proc is None:
            node.start()
    cluster.wait_balanced()


def test_a_node_killed_mid_run(cluster: Cluster, tmp_path: Path) -> None:
    victim = cluster.nodes[0]
    assert victim.proc is not None
    try:
        result = run_loadtest(
            cluster, tmp_path / "kill.json", "--fault", f"kill@10:{victim.proc.pid}"
        )
        assert_nothing_lost(result)
        assert result["cluster"]["faults"][0]["signal"] == "SIGKILL"
        assert result["cluster"]["interviews_moved"] > 0
    finally:
        restart_down_nodes(cluster)


def test_an_owner_paused_then_resumed(cluster: Cluster, tmp_path: Path) -> None:
    victim = cluster.nodes[1]
    assert victim.proc is not None
    result = run_loadtest(
        cluster, tmp_path / "stop.json", "--fault", f"stop@10+8:{victim.proc.pid}"
    )
    assert_nothing_lost(result)
    assert [d["signal"] for d in result["cluster"]["faults"]] == ["SIGSTOP", "SIGCONT"]
    assert result["cluster"]["interviews_moved"] > 0
    # Woken, the paused node found its interviews taken and wrote nothing more.
    output = victim.output()
    assert "session.fenced" in output or "cluster.lease_lost" in output


def test_redis_restarted_mid_run(cluster: Cluster, tmp_path: Path) -> None:
    assert cluster.redis is not None
    redis = cluster.redis
    timers: list[threading.Timer] = []

    def restart_soon() -> None:
        # Down for two seconds, 10 s into the run: an empty Redis comes back.
        timers.extend([threading.Timer(10.0, redis.stop), threading.Timer(12.0, redis.start)])
        for timer in timers:
            timer.start()

    try:
        result = run_loadtest(cluster, tmp_path / "redis.json", when_running=restart_soon)
    finally:
        for timer in timers:
            timer.join(60)
        if redis.proc is None:
            redis.start()
    assert len(timers) == 2
    assert_nothing_lost(result)
