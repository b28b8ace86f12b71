"""question.delta coalescing (server/sessions/deltas.py), on a real event loop with real time:
what a provider streams reaches the sockets in few frames, whose texts join to exactly the
chunks, the first without waiting, then at most one frame per interval, the rest right before
the question is done."""

from __future__ import annotations

import asyncio
import itertools

from server.sessions.deltas import DeltaCoalescer

INTERVAL = 0.05


async def _stream(gaps: list[float], interval: float = INTERVAL) -> list[tuple[float, str]]:
    """Chunks "c0 ", "c1 ", ... each after its gap in seconds (0: no pause at all), then the
    final flush; the frames sent, with their times from the start."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent: list[tuple[float, str]] = []
    deltas = DeltaCoalescer(lambda text: sent.append((loop.time() - start, text)), interval)
    for i, gap in enumerate(gaps):
        if gap:
            await asyncio.sleep(gap)
        deltas.add(f"c{i} ")
    deltas.flush()
    deltas.close()
    return sent


async def test_a_stream_with_no_pause_is_one_frame() -> None:
    # The scripted interviewer yields its chunks without ever giving the loop a turn.
    sent = await _stream([0.0] * 8)
    assert [text for _, text in sent] == ["".join(f"c{i} " for i in range(8))]


async def test_the_first_chunk_goes_out_at_once_then_one_frame_per_interval() -> None:
    gaps = [0.0] + [0.005] * 40  # a chunk every 5 ms for 200 ms
    sent = await _stream(gaps)
    texts = [text for _, text in sent]
    assert "".join(texts) == "".join(f"c{i} " for i in range(len(gaps)))
    assert texts[0] == "c0 "  # not held back for the interval
    assert sent[0][0] < INTERVAL / 2
    times = [t for t, _ in sent]
    # Between frames at least the interval, except the last (sent with question.done).
    assert all(b - a >= INTERVAL * 0.95 for a, b in itertools.pairwise(times[:-1]))
    # 41 chunks over about 200 ms (longer on a busy machine): one frame per interval at most,
    # plus the first and the last, and far fewer frames than chunks.
    assert 3 <= len(sent) <= sent[-1][0] / INTERVAL + 2
    assert len(sent) < len(gaps) / 2


async def test_a_slow_stream_is_sent_chunk_by_chunk() -> None:
    # Chunks further apart than the interval are not held back at all.
    sent = await _stream([0.0, 0.08, 0.08, 0.08])
    assert [text for _, text in sent] == ["c0 ", "c1 ", "c2 ", "c3 "]


async def test_close_drops_what_was_not_sent() -> None:
    sent: list[str] = []
    deltas = DeltaCoalescer(sent.append)
    deltas.add("a")
    deltas.close()  # the question was cancelled before the loop had a turn
    await asyncio.sleep(INTERVAL * 2)
    assert sent == []
