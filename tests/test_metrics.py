"""/metrics, end to end: real servers on loopback, scraped over HTTP and parsed with
prometheus_client's own parser, while real interviews run through them. The AI interviewer
and Supabase Storage are the test stand-ins of tests/fake_openai.py and
tests/fake_supabase_storage.py, so that their failures can be planned and seen counted."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from clients.interview_client import CandidateSession, WatcherSession
from server.config import Settings
from server.errors import ConfigurationError
from tests.conftest import (
    ROOT,
    DatabaseBackend,
    ServerProcess,
    free_port,
    minimal_pdf,
    new_server,
    running_server,
    stop_leftover_postgres,
)
from tests.fake_openai import FakeOpenAI, Reply, serve_fake_openai
from tests.fake_supabase import serve_fake_supabase
from tests.live_helpers import (
    LONG_ANSWER,
    _signup,
    close_clients,
    jpeg,
    new_interview,
    stored_events,
)

LIVE = pytest.mark.asyncio(loop_scope="session")

DOCS = Path(__file__).resolve().parents[1] / "docs" / "operations.md"


class Samples:
    """One scrape: every sample by name and labels."""

    def __init__(self, text: str) -> None:
        self.families = list(text_string_to_metric_families(text))
        self.values: dict[tuple[str, frozenset[tuple[str, str]]], float] = {
            (s.name, frozenset(s.labels.items())): s.value
            for family in self.families
            for s in family.samples
        }

    def __call__(self, name: str, **labels: str) -> float:
        return self.values[(name, frozenset(labels.items()))]

    def names(self) -> set[str]:
        return {family.name for family in self.families}


def metrics_port(server: ServerProcess) -> int:
    return int(server.env_overrides["OPENHIRE_METRICS_PORT"])


def scrape(server: ServerProcess) -> Samples:
    answer = httpx.get(f"http://127.0.0.1:{metrics_port(server)}/metrics", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Samples(answer.text)


async def wait_for(
    server: ServerProcess, holds: Callable[[Samples], bool], what: str, within_s: float = 30
) -> Samples:
    deadline = time.monotonic() + within_s
    while True:
        samples = await asyncio.to_thread(scrape, server)
        if holds(samples):
            return samples
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within_s} s: {what}")
        await asyncio.sleep(0.1)


def start_with_metrics(
    backend: DatabaseBackend, data_dir: Path, **env: str
) -> Iterator[ServerProcess]:
    with running_server(
        backend, data_dir, OPENHIRE_METRICS_PORT=str(free_port()), **env, check_exit=True
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def metrics_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend
) -> Iterator[ServerProcess]:
    # Young collections every 100 new objects: the short runs below make some for certain
    # (with the default 2,000 a run of a few answers may make none, now that scoring
    # allocates in a worker process).
    yield from start_with_metrics(
        database_backend,
        tmp_path_factory.mktemp("metrics") / "data",
        OPENHIRE_GC_THRESHOLDS="100,10,10",
    )


# --- the setting ---------------------------------------------------------------------------


def test_without_the_setting_nothing_listens_and_the_public_port_has_no_metrics(
    server: ServerProcess,
) -> None:
    assert httpx.get(f"{server.url}/metrics", timeout=10).status_code == 404
    assert "metrics.listening" not in server.output()
    assert Settings.from_env({}, dotenv=False).metrics_port is None


def test_with_the_setting_metrics_are_served_on_their_own_port_only(
    metrics_server: ServerProcess,
) -> None:
    samples = scrape(metrics_server)
    assert "openhire_sockets" in samples.names()
    assert "process_open_fds" in samples.names()  # the process's own figures come along
    # The public port still has none: the figures are not behind a log-in.
    assert httpx.get(f"{metrics_server.url}/metrics", timeout=10).status_code == 404
    [listening] = [
        line
        for line in map(json.loads, metrics_server.output().splitlines())
        if line["event"] == "metrics.listening"
    ]
    assert (listening["host"], listening["port"]) == ("127.0.0.1", metrics_port(metrics_server))


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"OPENHIRE_METRICS_PORT": "nine"}, "OPENHIRE_METRICS_PORT must be a whole number"),
        ({"OPENHIRE_METRICS_PORT": "70000"}, "OPENHIRE_METRICS_PORT must be a port number"),
        (
            {"OPENHIRE_METRICS_PORT": "8001", "OPENHIRE_PORT": "8001"},
            "other than OPENHIRE_PORT (8001)",
        ),
    ],
)
def test_a_bad_metrics_port_is_refused_with_a_clear_error(env: dict[str, str], said: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(said)):
        Settings.from_env(env, dotenv=False)


def test_a_metrics_port_in_use_stops_start_up_with_one_line(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data_dir = tmp_path_factory.mktemp("taken") / "data"
        srv = new_server(database_backend, data_dir, OPENHIRE_METRICS_PORT=str(port))
        try:
            with pytest.raises(RuntimeError, match="server exited"):
                srv.start()
            assert f"openhire: cannot serve metrics on 127.0.0.1:{port}" in srv.output()
        finally:
            srv.kill()
            stop_leftover_postgres(data_dir)
            database_backend.release(data_dir)


# --- what the metrics say ------------------------------------------------------------------


def test_every_metric_served_is_documented_and_every_documented_one_is_served(
    metrics_server: ServerProcess,
) -> None:
    served = {n for n in scrape(metrics_server).names() if n.startswith("openhire_")}
    # The metrics table names each as `name` or `name{labels}`.
    documented = set(
        re.findall(r"^\| `(openhire_[a-z_]+)(?:\{[a-z,]+\})?` \|", DOCS.read_text(), re.M)
    )
    # Counters are documented under their exposed names.
    documented = {n.removesuffix("_total") for n in documented}
    assert served == documented


@LIVE
async def test_a_real_interview_moves_the_figures(metrics_server: ServerProcess) -> None:
    before = await asyncio.to_thread(scrape, metrics_server)
    iv = await new_interview(metrics_server)
    answers_acked = 0
    try:
        watcher = await WatcherSession.open(iv.recruiter, iv.id)
        candidate = await CandidateSession.open(iv.candidate, iv.id)
        await wait_for(
            metrics_server,
            lambda m: (
                m("openhire_sockets", role="candidate") == 1
                and m("openhire_sockets", role="watcher") == 1
                and m("openhire_live_interviews") == 1
            ),
            "one candidate, one watcher, one live interview",
        )
        screenshot = await candidate.screenshot(jpeg())
        assert screenshot["type"] == "ack", screenshot
        while True:
            message = await candidate.receive(15)
            if message["type"] == "question.done":
                ack = await candidate.answer(message["question_id"], LONG_ANSWER)
                assert ack["type"] == "ack", ack
                answers_acked += 1
            elif message["type"] == "interview.ended":
                break
            else:
                assert message["type"] in ("question.delta", "time.warning"), message
        assert answers_acked == 2
        after = await wait_for(
            metrics_server,
            lambda m: (
                m("openhire_sockets", role="candidate") == 0
                and m("openhire_sockets", role="watcher") == 0
                and m("openhire_live_interviews") == 0
            ),
            "the sockets closed and the interview forgotten",
        )
        await candidate.close()
        await watcher.close()
        events = await stored_events(metrics_server, iv.id)
    finally:
        await close_clients(iv)

    def grew(name: str, **labels: str) -> float:
        return after(name, **labels) - before(name, **labels)

    # Every ack the candidate got for an answer was timed, and nothing else.
    assert grew("openhire_answer_ack_seconds_count") == answers_acked
    assert grew("openhire_answer_ack_seconds_sum") > 0
    # The writer committed exactly the interview's log, in batches each timed.
    assert grew("openhire_writer_batch_events_sum") == len(events)
    assert 1 <= grew("openhire_writer_batch_events_count") <= len(events)
    assert grew("openhire_writer_commit_seconds_count") == grew(
        "openhire_writer_batch_events_count"
    )
    assert after("openhire_writer_queue_events") == 0
    assert after("openhire_writer_queue_limit") > 0
    # The screenshot's blob, into the local store.
    assert grew("openhire_blob_store_seconds_count", operation="put") == 1
    # Two questions streamed by the scripted interviewer, and the evaluation.
    assert grew("openhire_interviewer_seconds_count", operation="question") == 2
    assert grew("openhire_interviewer_first_chunk_seconds_count") == 2
    assert grew("openhire_interviewer_seconds_count", operation="evaluation") == 1
    for kind in ("unavailable", "failed", "crashed"):
        for op in ("question", "evaluation"):
            assert grew("openhire_interviewer_errors_total", operation=op, kind=kind) == 0
        assert grew("openhire_blob_store_errors_total", operation="put", kind=kind) == 0
    assert grew("openhire_writer_retries_total") == 0
    assert grew("openhire_writer_failed_events_total") == 0
    # The loop's lag is sampled all along; the pool is read as it is.
    assert grew("openhire_event_loop_lag_seconds_count") > 0
    # Garbage collections are timed as they happen (young ones run every few hundred
    # allocations, so an interview makes some).
    assert grew("openhire_gc_pause_seconds_count", generation="0") > 0
    assert after("openhire_db_pool_max_connections") == 10
    in_use = after("openhire_db_pool_connections", state="in_use")
    idle = after("openhire_db_pool_connections", state="idle")
    assert 1 <= in_use + idle <= 10 and in_use >= 0


# --- failures of the services outside ------------------------------------------------------


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with serve_fake_openai() as fake:
        yield fake


@pytest.fixture(scope="module")
def openai_server(
    tmp_path_factory: pytest.TempPathFactory,
    database_backend: DatabaseBackend,
    fake_openai: FakeOpenAI,
) -> Iterator[ServerProcess]:
    yield from start_with_metrics(
        database_backend,
        tmp_path_factory.mktemp("metrics-openai") / "data",
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=fake_openai.base_url,
        OPENHIRE_MODEL="test-model",
    )


@LIVE
async def test_interviewer_failures_are_counted_by_kind(
    openai_server: ServerProcess, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reset()
    fake_openai.plan(
        Reply(chunks=["Tell me ", "about a ", "release ", "you ran."]),
        Reply(status=401, code="invalid_api_key"),  # the second question: permanent
        *[Reply(status=503)] * 4,  # the evaluation: transient, past its retries
    )
    before = await asyncio.to_thread(scrape, openai_server)
    iv = await new_interview(openai_server, follow_ups_per_question=0)
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            done = await session.next_question(15)
            assert (await session.answer(done["question_id"], LONG_ANSWER))["type"] == "ack"
            error = await session.receive_until("error", 15)
            assert error["code"] == "interviewer_failed"
            await session.receive_until("interview.ended", 30)
    finally:
        await close_clients(iv)
    fake_openai.check()
    after = await wait_for(
        openai_server,
        lambda m: (
            m("openhire_interviewer_seconds_count", operation="evaluation")
            > before("openhire_interviewer_seconds_count", operation="evaluation")
        ),
        "the evaluation's failure timed",
    )

    def grew(name: str, **labels: str) -> float:
        return after(name, **labels) - before(name, **labels)

    assert grew("openhire_interviewer_seconds_count", operation="question") == 2
    assert grew("openhire_interviewer_first_chunk_seconds_count") == 1
    assert grew("openhire_interviewer_errors_total", operation="question", kind="failed") == 1
    assert (
        grew("openhire_interviewer_errors_total", operation="evaluation", kind="unavailable") == 1
    )
    assert grew("openhire_interviewer_errors_total", operation="question", kind="unavailable") == 0
    assert grew("openhire_interviewer_errors_total", operation="evaluation", kind="failed") == 0


@pytest.fixture(scope="module")
def supabase_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Supabase mode needs a database of its own (DATABASE_URL): one of the external
    PostgreSQL's. Without OPENHIRE_TEST_DATABASE_URL this is skipped (a failure in CI)."""
    from tests.conftest import IN_CI, TEST_DATABASE_URL_VAR, external_admin_url, require_usable

    admin_url = external_admin_url()
    if admin_url is None:
        message = f"{TEST_DATABASE_URL_VAR} is not set: Supabase mode needs an external database"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    require_usable(admin_url)
    backend = DatabaseBackend("external", admin_url)
    data_dir = tmp_path_factory.mktemp("metrics-supabase") / "data"
    url = backend.url_for(data_dir)
    assert url is not None
    try:
        yield url, data_dir
    finally:
        backend.release_all()


@LIVE
async def test_blob_store_time_and_failures_are_counted(
    supabase_database: tuple[str, Path],
) -> None:
    database_url, data_dir = supabase_database
    with serve_fake_supabase(dsn=database_url) as project:
        srv = ServerProcess(
            data_dir=data_dir,
            database_url=database_url,
            env_overrides={
                "SUPABASE_URL": project.url,
                "SUPABASE_SERVICE_ROLE_KEY": project.service_key,
                "OPENHIRE_METRICS_PORT": str(free_port()),
            },
        )
        srv.start()
        try:
            await _blob_store_checks(srv, project.storage)
        finally:
            assert srv.stop() == 130, srv.output()


async def _blob_store_checks(srv: ServerProcess, storage: Any) -> None:
    before = await asyncio.to_thread(scrape, srv)
    iv = await new_interview(srv)
    applicant = await _signup(srv.url, "candidate")
    try:
        async with await CandidateSession.open(iv.candidate, iv.id) as session:
            await session.next_question()
            assert (await session.screenshot(jpeg()))["type"] == "ack"
        timed = await asyncio.to_thread(scrape, srv)
        assert (
            timed("openhire_blob_store_seconds_count", operation="put")
            - before("openhire_blob_store_seconds_count", operation="put")
            == 1
        )
        # Storage answers 503 to every attempt: the résumé's upload fails, counted once.
        storage.fail_next(3, 503)
        refused = await applicant.post(
            f"/jobs/{iv.job_id}/applications",
            files={
                "cover_letter": (None, "Hello"),
                "resume": ("cv.pdf", minimal_pdf(), "application/pdf"),
            },
        )
        assert refused.status_code == 503, refused.text
        after = await asyncio.to_thread(scrape, srv)
    finally:
        await applicant.aclose()
        await close_clients(iv)

    def grew(name: str, **labels: str) -> float:
        return after(name, **labels) - before(name, **labels)

    assert grew("openhire_blob_store_errors_total", operation="put", kind="unavailable") == 1
    assert grew("openhire_blob_store_errors_total", operation="put", kind="failed") == 0
    assert grew("openhire_blob_store_seconds_count", operation="put") == 2


# --- the load test reads them --------------------------------------------------------------


def test_each_garbage_collection_is_timed_by_generation_until_closed() -> None:
    import gc

    from prometheus_client import CollectorRegistry, Histogram

    from server.metrics import GC_BUCKETS
    from server.metrics.serve import GcPauseMonitor

    registry = CollectorRegistry()
    pause = Histogram("pause", "", ["generation"], registry=registry, buckets=GC_BUCKETS)

    def count(generation: str) -> float:
        return registry.get_sample_value("pause_count", {"generation": generation}) or 0.0

    monitor = GcPauseMonitor(pause)
    gc.collect()
    assert count("2") == 0  # nothing is timed before it starts
    monitor.start()
    try:
        gc.collect(2)
        gc.collect(1)
        assert count("2") == 1 and count("1") == 1
        assert (registry.get_sample_value("pause_sum", {"generation": "2"}) or 0) > 0
    finally:
        monitor.close()
    assert monitor._on_collection not in gc.callbacks
    gc.collect(2)
    assert count("2") == 1  # closed: the process's collections are no longer its business
    monitor.close()  # twice is harmless


@pytest.mark.parametrize(
    ("raw", "thresholds"), [(None, (2000, 20, 100)), ("700,10,10", (700, 10, 10))]
)
def test_the_garbage_collector_thresholds_are_a_setting(
    raw: str | None, thresholds: tuple[int, int, int]
) -> None:
    env = {} if raw is None else {"OPENHIRE_GC_THRESHOLDS": raw}
    assert Settings.from_env(env, dotenv=False).gc_thresholds == thresholds


@pytest.mark.parametrize("raw", ["700,10", "700,10,10,10", "0,10,10", "a,b,c", "700,-1,10"])
def test_bad_garbage_collector_thresholds_are_refused(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="OPENHIRE_GC_THRESHOLDS must be three"):
        Settings.from_env({"OPENHIRE_GC_THRESHOLDS": raw}, dotenv=False)


def test_the_load_test_reads_the_servers_figures_beside_its_own(
    metrics_server: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "run.json"
    url = f"http://127.0.0.1:{metrics_port(metrics_server)}/metrics"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "loadtest",
            *("--url", metrics_server.url, "--metrics-url", url),
            *("--interviews", "3", "--questions", "2", "--think-time", "0.3"),
            *("--ramp-up", "0.5", "--screenshot-every", "1.2", "--disconnect-rate", "0"),
            *("--json", str(out), "--quiet"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "inside:    commit p99 " in proc.stdout
    result = json.loads(out.read_bytes())
    inside = result["server_metrics"]
    assert inside["url"] == url and inside["scrapes_failed"] == 0
    # The server timed every answer the clients saw acked, and only those (the setup made
    # no acks, and the run's first reading came before the first answer).
    assert inside["answer_ack_ms"]["count"] == result["latency_ms"]["answer_ack"]["count"] == 6
    assert inside["commit_ms"]["count"] >= 1 and inside["commit_ms"]["p99"] > 0
    assert inside["loop_lag_ms"]["p99"] is not None
    assert inside["gc_pause_ms"]["collections"] > 0 and inside["gc_pause_ms"]["total"] > 0
    assert "garbage collection: " in proc.stdout
    assert inside["writer"]["batches"] == inside["commit_ms"]["count"]
    assert inside["writer"]["queue_max"] >= 0 and inside["writer"]["failed_events"] == 0
    assert inside["pool"]["size_max"] == 10
    assert all("server_queue" in row for row in result["timeline"])
