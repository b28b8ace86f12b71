"""``--baseline``: the bare echo server and OpenHire at saturation, at the same concurrency and
with the same client, and their ratios."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
from typing import Any

from clients.loadtest.report import ProgressLine
from clients.loadtest.roster import plan, setup_roster


def run_baseline(
    args: argparse.Namespace, base_url: str, progress: ProgressLine, server_pid: int | None
) -> dict[str, Any]:
    from clients.loadtest.echo import EchoServer
    from clients.loadtest.images import webcam_jpeg
    from clients.loadtest.saturation import (
        echo_saturation,
        openhire_saturation,
        ratios,
        sample_answer,
        screenshot_echo_frame,
    )

    clients, seconds = args.saturation_clients, args.saturation_seconds
    low, high = args.jpeg_kb
    image = webcam_jpeg((low + high) * 500)
    progress.say(f"baseline: echo server, {clients} clients, {seconds:g} s per frame size ...")
    with EchoServer() as echo:
        load_echo = os.getloadavg()[0]
        pids = {"server": echo.proc.pid} if echo.proc is not None else {}
        text = asyncio.run(
            echo_saturation(echo.url, sample_answer(), clients=clients, seconds=seconds, pids=pids)
        )
        binary = asyncio.run(
            echo_saturation(
                echo.url,
                screenshot_echo_frame(image),
                clients=clients,
                seconds=seconds,
                pids=pids,
            )
        )
    # Enough interviews (30 questions each) that no client runs out below 2,000 answers/s.
    jobs = max(4, math.ceil((seconds + 2) * 2000 / 30 / clients))
    progress.say(f"baseline: OpenHire at saturation ({clients} candidates x {jobs} interviews) ...")
    roster = setup_roster(
        base_url,
        clients,
        jobs,
        plan(30, answer_time_limit_s=600, total_time_limit_min=60),
        args.setup_concurrency,
    )
    load_openhire = os.getloadavg()[0]
    openhire = asyncio.run(
        openhire_saturation(
            base_url,
            roster.seats,
            clients=clients,
            seconds=seconds,
            pids={"server": server_pid} if server_pid is not None else None,
        )
    )
    return {
        "echo_text": text,
        "echo_binary": binary,
        "openhire": openhire,
        "ratio": ratios(openhire, text),
        "load1_at_start": {"echo": round(load_echo, 2), "openhire": round(load_openhire, 2)},
    }
