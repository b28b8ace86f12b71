"""`openhire loadtest`: many concurrent interviews against one server, measured, with proof
that nothing was lost. docs/benchmarks.md explains the options, the output and the figures.

    openhire loadtest --interviews 500 --watchers 1 --think-time 5 --screenshot-every 3 \\
        --ramp-up 30 --duration 60 --baseline --json run.json --plot run.png
    openhire loadtest --profile latency --interviews 200 --watchers 1
    openhire loadtest --idle 2000
    openhire loadtest --media 50 --hold 30
    openhire loadtest --voice 100 --questions 5 --ramp-up 20
    openhire loadtest --url https://interviews.example.com --interviews 50

Without ``--url`` it starts its own server (``openhire serve``, embedded PostgreSQL in a
temporary directory, the scripted interviewer) and samples its CPU and memory, and
PostgreSQL's, over the run.

Exit status: 0 when every interview completed and the logs hold every acked message exactly
once, in order; 1 when a message was lost, duplicated or reordered (the interviews are named);
3 when nothing was lost but some interviews failed or did not complete; 2 for bad options or
a failed setup.
"""

from __future__ import annotations

import os
import sys

import orjson

from clients.loadtest import faults
from clients.loadtest.baseline import run_baseline
from clients.loadtest.idle import idle_table, run_idle
from clients.loadtest.load import run_load
from clients.loadtest.media import media_table, run_media
from clients.loadtest.options import build_parser, check_args
from clients.loadtest.report import ProgressLine, plot, summary_table
from clients.loadtest.resources import ResourceSampler, machine, raise_open_file_limit
from clients.loadtest.results import EXIT_USAGE
from clients.loadtest.roster import SetupError
from clients.loadtest.server import BenchServer
from clients.loadtest.server_metrics import ServerMetrics, serve_locally
from clients.loadtest.transcriber import Transcriber
from clients.loadtest.voice import run_voice, voice_table


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    progress = ProgressLine(quiet=args.quiet)
    soft, _hard = raise_open_file_limit()
    needed = (args.idle or args.media or args.voice or args.interviews * (1 + args.watchers)) + 100
    if soft < needed:
        progress.say(f"warning: the open-file limit is {soft}; this run needs about {needed}")
    load_before = machine()
    server: BenchServer | None = None
    metrics_url: str | None = args.metrics_url
    transcriber: Transcriber | None = None
    if args.url:
        base_url = args.url.rstrip("/")
    else:
        env = {"OPENHIRE_LOG_LEVEL": "warning", "OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
        if args.media is not None:
            # Room for every media session, a snapshot a second from each.
            env["OPENHIRE_MAX_MEDIA_SESSIONS"] = str(args.media + 10)
            env["OPENHIRE_SCREENSHOT_INTERVAL"] = "1"
        elif args.voice is not None:
            # Speech-to-text at the generator's loopback stand-in, in a process of its own.
            transcriber = Transcriber()
            transcriber.start()
            env.update(
                OPENHIRE_MAX_MEDIA_SESSIONS=str(args.voice + 10),
                OPENHIRE_STT_MODEL="whisper-1",
                OPENHIRE_SPEECH_API_KEY="sk-loadtest",
                OPENHIRE_SPEECH_BASE_URL=transcriber.base_url,
            )
        elif args.screenshot_every > 0:
            # Let the server take screenshots at the pace the candidates send them.
            env["OPENHIRE_SCREENSHOT_INTERVAL"] = f"{min(1.0, args.screenshot_every / 2):g}"
        env.update(args.server_env)
        metrics_url = metrics_url or serve_locally(env)
        server = BenchServer(keep=args.keep, env=env)
        progress.say("starting a local server ...")
        try:
            server.start()
        except BaseException:
            if transcriber is not None:
                transcriber.stop()
            raise
        base_url = server.url
    sampler = ResourceSampler(
        server_pid=server.proc.pid if server is not None and server.proc is not None else None,
        data_dir=server.data_dir if server is not None else None,
        server_metrics=ServerMetrics(metrics_url) if metrics_url else None,
    )
    try:
        if args.idle is not None:
            result = run_idle(args, base_url, sampler, progress)
        elif args.media is not None:
            result = run_media(args, base_url, sampler, progress)
        elif transcriber is not None:
            result = run_voice(args, base_url, sampler, progress, transcriber)
        else:
            result = run_load(args, base_url, sampler, progress)
        if args.baseline:
            result["baseline"] = run_baseline(args, base_url, progress, sampler.server_pid)
    except SetupError as exc:
        progress.done()
        print(f"openhire loadtest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if server is not None:
            server.stop()
        if transcriber is not None:
            transcriber.stop()
    if sampler.server_metrics is not None:
        result["server_metrics"] = sampler.server_metrics.summary()
        sampler.server_metrics.close()
    result["machine"] = load_before
    result["load_after"] = [round(v, 2) for v in os.getloadavg()]
    result["target"] = base_url
    result["local"] = server is not None
    progress.done()
    samples = result.pop("_samples", None)
    if samples is not None:
        result["samples"] = {
            kind: [[t, round(latency * 1000, 3)] for t, latency in values]
            for kind, values in samples.items()
        }
    if args.idle is not None:
        print(idle_table(result))
    elif args.media is not None:
        print(media_table(result))
    elif args.voice is not None:
        print(voice_table(result))
    else:
        print(summary_table(result))
        if "cluster" in result:
            print(faults.describe(result))
        if args.plot:
            plot(result, samples or {}, args.plot)
    if args.json:
        args.json.write_bytes(
            orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
        )
    code: int = result["exit_code"]
    return code
