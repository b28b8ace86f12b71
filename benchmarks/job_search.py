"""Benchmark: latency of filtered, sorted, paginated ``GET /jobs`` over 10,000 jobs.

    .venv/bin/python -m benchmarks.job_search [--jobs 10000] [--requests 5000]
                                               [--concurrency 4]

Starts its own server (embedded PostgreSQL in a temporary directory), signs up recruiters
and a candidate over the API, fills the jobs table directly over asyncpg (the same table the
API writes; COPY is much faster than 10,000 POSTs), then sends a seeded, realistic mix of
searches from several concurrent clients: title substrings, job type, location, status,
remote, recruiter, every sort key in both directions, limits of 20 to 100, and some searches
that follow ``next_cursor`` for a few pages. Prints the latency percentiles seen by the
client and those the server logged for the same requests (its ``duration_ms``), and the
throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson

from clients.loadtest.server import BenchServer
from server.http.jobs import InterviewPlan
from server.store.embedded import EmbeddedPostgres

SENIORITY = ["Junior", "Mid-level", "Senior", "Staff", "Principal", "Lead", "Head of"]
FIELDS = [
    "Python", "Go", "Rust", "TypeScript", "Java", "Data", "Machine Learning", "Platform",
    "Frontend", "Backend", "DevOps", "Security", "iOS", "Android", "QA", "Site Reliability",
]  # fmt: skip
ROLES = ["Engineer", "Developer", "Architect", "Analyst", "Scientist", "Manager", "Consultant"]
CITIES = [
    "Berlin", "London", "Paris", "Amsterdam", "Lisbon", "Madrid", "Barcelona", "Warsaw",
    "Prague", "Vienna", "Zurich", "Munich", "Stockholm", "Copenhagen", "Dublin", "New York",
    "San Francisco", "Austin", "Toronto", "Montreal", "Tokyo", "Singapore", "Sydney",
    "Bangalore", "Remote",
]  # fmt: skip
JOB_TYPES = ["full_time", "part_time", "contract", "internship", "temporary"]
JOB_TYPE_WEIGHTS = [60, 10, 20, 5, 5]
CURRENCIES = ["EUR", "USD", "GBP", "CHF"]
SKILLS = [
    "python", "postgresql", "kubernetes", "aws", "gcp", "react", "typescript", "go", "rust",
    "terraform", "kafka", "redis", "django", "fastapi", "spark", "pytorch", "sql", "linux",
]  # fmt: skip
# Substrings people type into a job search box (matched case-insensitively).
TITLE_SEARCHES = [
    "python", "engineer", "senior", "data", "lead", "ops", "script", "staff", "machine",
    "backend", "ios", "rust", "manager", "go", "platform", "security", "qa", "front",
]  # fmt: skip
SORT_KEYS = ["created_at", "salary_min", "salary_max", "title"]
COLUMNS = [
    "id", "recruiter_id", "title", "description", "job_type", "location", "remote", "salary_min",
    "salary_max", "salary_currency", "required_skills", "status", "interview_plan", "created_at",
    "updated_at",
]  # fmt: skip


def make_jobs(count: int, recruiters: list[uuid.UUID], rng: random.Random) -> list[tuple[Any, ...]]:
    plan = json.dumps(InterviewPlan().model_dump(mode="json"))
    now = datetime.now(UTC)
    rows = []
    for _ in range(count):
        title = f"{rng.choice(SENIORITY)} {rng.choice(FIELDS)} {rng.choice(ROLES)}"
        salary_min = salary_max = currency = None
        if rng.random() < 0.8:
            salary_min = rng.randrange(20_000, 180_000, 1000)
            salary_max = salary_min + rng.randrange(0, 80_000, 1000)
            currency = rng.choice(CURRENCIES)
        elif rng.random() < 0.5:
            salary_max = rng.randrange(30_000, 200_000, 1000)
            currency = rng.choice(CURRENCIES)
        created = now - timedelta(seconds=rng.uniform(0, 365 * 24 * 3600))
        rows.append(
            (
                uuid.uuid4(),
                rng.choice(recruiters),
                title,
                f"We are hiring a {title} to build and run our products.",
                rng.choices(JOB_TYPES, JOB_TYPE_WEIGHTS)[0],
                rng.choice(CITIES) if rng.random() < 0.9 else None,
                rng.random() < 0.3,
                salary_min,
                salary_max,
                currency,
                rng.sample(SKILLS, rng.randint(1, 5)),
                "open" if rng.random() < 0.85 else "closed",
                plan,
                created,
                created,
            )
        )
    return rows


async def fill(dsn: str, rows: list[tuple[Any, ...]]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "jobs", schema_name="public", records=rows, columns=COLUMNS
        )
        # What autovacuum does shortly after a bulk load (autovacuum_vacuum_insert_threshold):
        # fresh planner statistics, and a visibility map that lets index-only scans skip
        # the table.
        await conn.execute("vacuum analyze public.jobs")
    finally:
        await conn.close()


@dataclass
class Search:
    """One user's search: the first page, then up to ``pages - 1`` more by cursor."""

    who: str
    params: dict[str, str]
    pages: int


def make_searches(n_requests: int, rng: random.Random, recruiters: list[uuid.UUID]) -> list[Search]:
    """Searches worth at least ``n_requests`` pages; some stop early, at their last page,
    so the runner stops at ``n_requests`` requests rather than at the end of this list."""
    searches: list[Search] = []
    total = 0
    while total < 2 * n_requests:
        params: dict[str, str] = {
            "sort_by": rng.choice(SORT_KEYS),
            "sort_order": rng.choice(["asc", "desc"]),
            "limit": str(rng.randint(20, 100)),
        }
        if rng.random() < 0.35:
            params["title"] = rng.choice(TITLE_SEARCHES)
        if rng.random() < 0.3:
            params["job_type"] = rng.choices(JOB_TYPES, JOB_TYPE_WEIGHTS)[0]
        if rng.random() < 0.25:
            params["location"] = rng.choice(CITIES).lower()
        if rng.random() < 0.3:
            params["status"] = "open" if rng.random() < 0.8 else "closed"
        if rng.random() < 0.15:
            params["remote"] = rng.choice(["true", "false"])
        if rng.random() < 0.1:
            params["recruiter_id"] = str(rng.choice(recruiters))
        pages = rng.choices([1, 2, 3, 4, 5], [50, 25, 12, 8, 5])[0]
        searches.append(Search(rng.choice(["recruiter", "candidate"]), params, pages))
        total += pages
    return searches


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    items: int = 0
    slowest: list[tuple[float, str, dict[str, str]]] = field(default_factory=list)


async def run_searches(
    url: str,
    tokens: dict[str, str],
    searches: list[Search],
    n_requests: int,
    concurrency: int,
    results: Results | None,
    tag: str,
) -> float:
    """Send ``n_requests`` requests for the searches, from ``concurrency`` clients at once;
    returns the elapsed seconds."""
    queue: asyncio.Queue[Search] = asyncio.Queue()
    for s in searches:
        queue.put_nowait(s)
    counter = iter(range(n_requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                search = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            headers = {"Authorization": f"Bearer {tokens[search.who]}"}
            params = dict(search.params)
            for page in range(search.pages):
                number = next(counter, None)
                if number is None:
                    return
                headers["X-Request-ID"] = f"{tag}-{number:08d}"
                started = time.perf_counter()
                resp = await client.get("/jobs", params=params, headers=headers)
                elapsed = (time.perf_counter() - started) * 1000
                if resp.status_code != 200:
                    if results is not None:
                        results.errors.append(f"{resp.status_code} {resp.text[:200]}")
                    break
                body = orjson.loads(resp.content)
                if results is not None:
                    results.latencies_ms.append(elapsed)
                    results.slowest.append((elapsed, search.who, dict(params)))
                    results.by_kind[f"sort_by={params['sort_by']}"].append(elapsed)
                    results.by_kind["first page" if page == 0 else "cursor page"].append(elapsed)
                    filtered = {"title", "job_type", "location", "status", "remote"} & set(params)
                    results.by_kind["filtered" if filtered else "unfiltered"].append(elapsed)
                    results.items += len(body["items"])
                if body["next_cursor"] is None:
                    break
                params["cursor"] = body["next_cursor"]

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank on sorted values."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: list[float]) -> str:
    p50, p90, p99 = (percentile(values, q) for q in (50, 90, 99))
    return (
        f"n={len(values):>6}  p50={p50:6.2f}  p90={p90:6.2f}  p99={p99:6.2f}"
        f"  max={max(values):7.2f}  mean={statistics.fmean(values):6.2f}"
    )


def server_durations(log_text: str, tag: str) -> list[float]:
    durations = []
    for line in log_text.splitlines():
        if f'"{tag}-' not in line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "request" and str(event.get("request_id", "")).startswith(tag):
            durations.append(float(event["duration_ms"]))
    return durations


async def log_statements(dsn: str, on: bool) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        value = "0" if on else "-1"
        await conn.execute(f"alter system set log_min_duration_statement = {value}")
        await conn.execute("select pg_reload_conf()")
    finally:
        await conn.close()


def statement_durations(db_log: str) -> dict[str, list[float]]:
    """PostgreSQL's own time per statement: the search's page and total (which the server
    runs at once, on two connections), and the token's user lookup."""
    kinds = {
        "page": "select p.sort_key,",
        "total": "select count(*) from public.jobs",
        "auth": "from public.users where id",
    }
    found: dict[str, list[float]] = {kind: [] for kind in kinds}
    for line in db_log.splitlines():
        _, marker, rest = line.partition("duration: ")
        # Extended protocol: parse and bind are logged apart; count the execution.
        if not marker or " ms  execute " not in rest:
            continue
        for kind, text in kinds.items():
            if text in rest:
                found[kind].append(float(rest.split(" ms", 1)[0]))
                break
    return {kind: values for kind, values in found.items() if values}


def signup(url: str, role: str, n: int) -> tuple[uuid.UUID, str]:
    resp = httpx.post(
        url + "/auth/signup",
        json={
            "email": f"bench-{role}-{n}-{uuid.uuid4().hex[:6]}@example.test",
            "password": "benchmark-password",
            "full_name": f"Bench {role.title()} {n}",
            "role": role,
        },
        timeout=30,
    )
    resp.raise_for_status()
    body = resp.json()
    return uuid.UUID(body["user"]["id"]), body["access_token"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs in the table (10000)")
    parser.add_argument("--requests", type=int, default=5_000, help="measured requests (5000)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients (4)")
    parser.add_argument("--warmup", type=int, default=500, help="unmeasured requests first")
    parser.add_argument("--recruiters", type=int, default=10, help="recruiters owning the jobs")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the data and the mix")
    parser.add_argument("--keep", action="store_true", help="keep the server's data directory")
    parser.add_argument("--slowest", type=int, default=0, help="list the N slowest requests")
    parser.add_argument(
        "--db-times",
        action="store_true",
        help="also report the time PostgreSQL spent on each statement (from its log)",
    )
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    with BenchServer(keep=args.keep) as srv:
        # The embedded PostgreSQL's unix socket, where the server puts it.
        dsn = EmbeddedPostgres(srv.data_dir).dsn
        print(f"server {srv.url}, data in {srv.data_dir}", file=sys.stderr)
        recruiter_id, recruiter_token = signup(srv.url, "recruiter", 0)
        recruiters = [recruiter_id] + [
            signup(srv.url, "recruiter", n)[0] for n in range(1, args.recruiters)
        ]
        _, candidate_token = signup(srv.url, "candidate", 0)
        tokens = {"recruiter": recruiter_token, "candidate": candidate_token}

        started = time.perf_counter()
        asyncio.run(fill(dsn, make_jobs(args.jobs, recruiters, rng)))
        print(f"filled {args.jobs} jobs in {time.perf_counter() - started:.1f} s", file=sys.stderr)

        warmup = make_searches(args.warmup, rng, recruiters)
        asyncio.run(
            run_searches(srv.url, tokens, warmup, args.warmup, args.concurrency, None, "warm")
        )
        searches = make_searches(args.requests, rng, recruiters)
        if args.db_times:
            asyncio.run(log_statements(dsn, True))
        results = Results()
        elapsed = asyncio.run(
            run_searches(
                srv.url, tokens, searches, args.requests, args.concurrency, results, "bench"
            )
        )
        log_text = srv.output()
        if args.db_times:
            asyncio.run(log_statements(dsn, False))
            db_log = (srv.data_dir / "postgres" / "server.log").read_text(errors="replace")

    if results.errors:
        print(f"{len(results.errors)} failed requests, e.g. {results.errors[0]}", file=sys.stderr)
        return 1
    lat = results.latencies_ms
    print(
        f"GET /jobs over {args.jobs} jobs: {len(lat)} requests, concurrency {args.concurrency},"
        f" {results.items / len(lat):.0f} items per page on average"
    )
    print(f"client-side latency (ms)  {summary(lat)}")
    server_side = server_durations(log_text, "bench")
    if server_side:
        print(f"server-side latency (ms)  {summary(server_side)}")
    print(f"throughput: {len(lat) / elapsed:.0f} requests/s")
    if args.db_times:
        for kind, durations in statement_durations(db_log).items():
            print(f"database time (ms) {kind:<7} {summary(durations)}")
    for kind in sorted(results.by_kind):
        print(f"  {kind:<22} {summary(results.by_kind[kind])}")
    for ms, who, params in sorted(results.slowest, key=lambda r: -r[0])[: args.slowest]:
        params.pop("cursor", None) and params.update(cursor="…")
        print(f"  {ms:7.2f} ms  {who:<9} {params}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
