"""Helpers for live-interview tests: set up a job, an application and an interview over the
public API, and read the event log straight from PostgreSQL."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from tests.conftest import ServerProcess, job_payload

PLAN = {
    "question_count": 2,
    "follow_ups_per_question": 1,
    "answer_time_limit_s": 60,
    "total_time_limit_min": 10,
}
LONG_ANSWER = (
    "At my last job I rebuilt our deployment pipeline in Python with asyncio and PostgreSQL. "
    "It cut release time from two hours to ten minutes because we parallelised the checks, "
    "and I measured the result over three months of releases."
)


@dataclass
class Interview:
    id: str
    recruiter: httpx.AsyncClient
    candidate: httpx.AsyncClient
    application_id: str
    job_id: str


async def _signup(base_url: str, role: str) -> httpx.AsyncClient:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as anon:
        resp = await anon.post(
            "/auth/signup",
            json={
                "email": f"{role}-{uuid.uuid4().hex[:12]}@example.test",
                "password": "correct horse battery",
                "full_name": f"Live {role}",
                "role": role,
            },
        )
        resp.raise_for_status()
        token = resp.json()["access_token"]
    return httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


async def new_interview(server: ServerProcess, **plan: Any) -> Interview:
    recruiter = await _signup(server.url, "recruiter")
    candidate = await _signup(server.url, "candidate")
    job = await recruiter.post("/jobs", json=job_payload(interview_plan={**PLAN, **plan}))
    job.raise_for_status()
    application = await candidate.post(
        f"/jobs/{job.json()['id']}/applications", files={"cover_letter": (None, "Hello")}
    )
    application.raise_for_status()
    interview = await recruiter.post(
        f"/applications/{application.json()['id']}/interviews", json={}
    )
    interview.raise_for_status()
    return Interview(
        interview.json()["id"], recruiter, candidate, application.json()["id"], job.json()["id"]
    )


async def close_clients(interview: Interview) -> None:
    await interview.recruiter.aclose()
    await interview.candidate.aclose()


async def stored_events(server: ServerProcess, interview_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(server.dsn)
    try:
        rows = await conn.fetch(
            'select "offset", kind, data::text as data, client_id from public.interview_events'
            ' where interview_id = $1 order by "offset"',
            uuid.UUID(interview_id),
        )
    finally:
        await conn.close()
    import orjson

    return [{**dict(r), "data": orjson.loads(r["data"])} for r in rows]


def jpeg(width: int = 320, height: int = 240) -> bytes:
    """A real (tiny, valid) baseline JPEG of the given size, made by Pillow if present,
    otherwise by hand: SOI, a frame header with the dimensions, and EOI."""
    try:
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (width, height), (40, 120, 200)).save(buffer, "JPEG", quality=70)
        return buffer.getvalue()
    except ImportError:  # pragma: no cover - Pillow is a dev dependency
        sof = b"\xff\xc0\x00\x11\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big")
        sof += b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
        return b"\xff\xd8" + sof + b"\xff\xd9"
