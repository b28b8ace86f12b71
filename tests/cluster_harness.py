"""Several OpenHire nodes behind a real HAProxy, sharing one Redis and one PostgreSQL 15: the
deployment docs/deploy-cluster.md describes, started by the tests on free loopback ports.

- ``RedisServer``: a ``redis-server`` of the test's own (no persistence: a restart forgets
  everything, the harshest case), which the test can stop, restart and kill.
- ``HAProxy``: the configuration printed in docs/deploy-cluster.md, read from that page, with
  the test's ports put in; so the tests run what the docs show.
- ``Cluster``: the three (or N) nodes (``openhire serve`` with ``REDIS_URL`` and
  ``DATABASE_URL``, one data directory each and one shared signing key), Redis, HAProxy, and a
  PostgreSQL of the test's own.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI, ServerProcess, free_port
from tests.private_postgres import PrivatePostgres

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "deploy-cluster.md"


def need(program: str) -> str:
    """The program's path; skipped (failed in CI) with the package to install when absent."""
    path = shutil.which(program) or (
        f"/usr/sbin/{program}" if os.path.exists(f"/usr/sbin/{program}") else None
    )
    if path is None:
        message = (
            f"{program} is not installed (Debian package"
            f" {'redis-server' if program == 'redis-server' else program};"
            " scripts/test installs it)"
        )
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@dataclass
class RedisServer:
    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.proc is None
        self.root.mkdir(parents=True, exist_ok=True)
        log = (self.root / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                need("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--protected-mode",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def haproxy_config(node_ports: list[int], port: int) -> str:
    """The configuration of docs/deploy-cluster.md with this test's addresses."""
    text = DOC.read_text()
    match = re.search(r"```haproxy\n(.*?)```", text, re.S)
    assert match is not None, "docs/deploy-cluster.md shows no haproxy configuration"
    config = match.group(1)
    config = re.sub(r"bind \S+", f"bind 127.0.0.1:{port}", config, count=1)
    # The documented connection limit needs a raised file limit (the Debian service has one);
    # a test needs a few hundred.
    config = re.sub(r"maxconn \d+", "maxconn 4000", config, count=1)
    servers = re.findall(r"^(\s*server (\S+) )(\S+)(.*)$", config, re.M)
    assert len(servers) >= len(node_ports), "the documented configuration names too few nodes"
    for (head, _name, address, tail), node_port in zip(servers, node_ports, strict=False):
        config = config.replace(f"{head}{address}{tail}", f"{head}127.0.0.1:{node_port}{tail}", 1)
    for head, _name, address, tail in servers[len(node_ports) :]:
        config = config.replace(f"{head}{address}{tail}", "", 1)
    return config


@dataclass
class HAProxy:
    root: Path
    node_ports: list[int]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "haproxy.cfg"
        config.write_text(haproxy_config(self.node_ports, self.port))
        program = need("haproxy")
        check = subprocess.run([program, "-c", "-f", str(config)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        log = (self.root / "haproxy.log").open("ab")
        self.proc = subprocess.Popen(
            [program, "-db", "-f", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@dataclass
class Cluster:
    root: Path
    size: int = 3
    lease_s: float = 3.0
    postgres: PrivatePostgres | None = None
    redis: RedisServer | None = None
    nodes: list[ServerProcess] = field(default_factory=list)
    balancer: HAProxy | None = None
    database_url: str = ""

    @property
    def url(self) -> str:
        assert self.balancer is not None
        return self.balancer.url

    def start(self) -> None:
        self.postgres = PrivatePostgres(self.root / "pg")
        self.postgres.init()
        self.postgres.start()
        self.database_url = self.postgres.url(self.postgres.create_database())
        self.redis = RedisServer(self.root / "redis")
        self.redis.start()
        key = self.root / "jwt_signing_key.pem"
        for n in range(self.size):
            node = ServerProcess(
                data_dir=self.root / f"node{n}" / "data",
                database_url=self.database_url,
                env_overrides={
                    "REDIS_URL": self.redis.url,
                    "OPENHIRE_LEASE": str(self.lease_s),
                    "OPENHIRE_NODE_NAME": f"node{n}",
                    "OPENHIRE_JWT_SIGNING_KEY_FILE": str(key),
                    "OPENHIRE_TRUSTED_PROXIES": "127.0.0.1",
                    "OPENHIRE_DB_POOL_MAX": "10",
                },
            )
            node.data_dir.mkdir(parents=True, exist_ok=True)
            self.nodes.append(node)
        # The first node applies the migrations alone; the others then start together.
        self.nodes[0].start()
        for node in self.nodes[1:]:
            node.start()
        self.balancer = HAProxy(self.root / "haproxy", [n.port for n in self.nodes])
        self.balancer.start()
        self.wait_balanced()

    def wait_balanced(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("HAProxy did not become ready")

    def node_named(self, name: str) -> ServerProcess:
        return self.nodes[int(name.removeprefix("node"))]

    def pause(self, node: ServerProcess) -> None:
        assert node.proc is not None
        node.proc.send_signal(signal.SIGSTOP)

    def resume(self, node: ServerProcess) -> None:
        assert node.proc is not None
        node.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.balancer is not None:
            self.balancer.stop()
        for node in self.nodes:
            if node.proc is not None:
                node.proc.send_signal(signal.SIGCONT)
                try:
                    node.stop(timeout=30)
                except subprocess.TimeoutExpired:
                    node.kill()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop_if_running()
