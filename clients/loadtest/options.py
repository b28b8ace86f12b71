"""The options of ``openhire loadtest``: the parser, the profiles' defaults, the checks across
options, and what follows from them (how many questions an interview has).

Two profiles play the same simulated people through the same code; they differ in defaults and
in what is reported:

- ``interviews`` (the default): whole interviews started over a ramp-up, with screenshots,
  proctoring signals and network drops, measured over the whole run;
- ``latency``: many interviews at once answering fast, nothing else unless asked, measured in
  a window of steady state (after a warm-up, before any interview ends), with the CPU each
  process used in that window and the generator's own event-loop lag.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from clients.loadtest import faults

# Options whose default depends on the profile (the parser's default is None: "not given").
PROFILES: dict[str, dict[str, Any]] = {
    "interviews": {
        "interviews": 20,
        "watchers": 1,
        "ramp_up": 10.0,
        "duration": 60.0,
        "think_time": 5.0,
        "think_jitter": 0.2,
        "screenshot_every": 3.0,
        "signal_rate": 2.0,
        "disconnect_rate": 0.2,
        "warmup": 0.0,
    },
    "latency": {
        "interviews": 200,
        "watchers": 0,
        "ramp_up": 2.0,
        "duration": 20.0,
        "think_time": 1.0,
        "think_jitter": 0.5,
        "screenshot_every": 0.0,
        "signal_rate": 0.0,
        "disconnect_rate": 0.0,
        "warmup": 3.0,
    },
}
MAX_QUESTIONS = 30  # an interview plan's limit


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Defaults shown, but for the profile's options, whose help says both."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None:
            return action.help or ""
        return super()._get_help_string(action) or ""


def _profiled(dest: str, what: str) -> str:
    values = ", ".join(f"{name} {defaults[dest]:g}" for name, defaults in PROFILES.items())
    return f"{what} (default: {values})"


def _kb_range(text: str) -> tuple[int, int]:
    try:
        low, _, high = text.partition("-")
        lo, hi = int(low), int(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected KB or LOW-HIGH in KB, got {text!r}") from None
    if not 1 <= lo <= hi <= 500:
        raise argparse.ArgumentTypeError("sizes must satisfy 1 <= LOW <= HIGH <= 500 (KB)")
    return lo, hi


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openhire loadtest",
        description="Play many concurrent interviews against an OpenHire server, measure "
        "them, and prove from the event logs that nothing acked was lost.",
        epilog="Exit status: 0 all completed, nothing lost; 1 loss, duplicate or reorder; "
        "2 bad options or setup; 3 nothing lost but interviews failed.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="interviews",
        help="whole interviews over the run, or latency in a window of steady state",
    )
    target = parser.add_argument_group("target")
    target.add_argument(
        "--url", help="a running server (default: start a throw-away local one and sample it)"
    )
    target.add_argument(
        "--metrics-url",
        help="the server's /metrics, read beside the load (default: the local server's own)",
    )
    target.add_argument("--keep", action="store_true", help="keep the local server's data")
    target.add_argument(
        "--server-env",
        action="append",
        type=_setting,
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the local server (docs/operations.md), e.g. "
        "OPENHIRE_SCORING_PROCESSES=0; repeat for more",
    )
    load = parser.add_argument_group("load")
    load.add_argument(
        "--interviews", type=int, help=_profiled("interviews", "concurrent interviews")
    )
    load.add_argument(
        "--watchers", type=int, help=_profiled("watchers", "recruiter sockets per interview")
    )
    load.add_argument(
        "--ramp-up", type=float, help=_profiled("ramp_up", "seconds over which interviews start")
    )
    load.add_argument(
        "--duration",
        type=float,
        help=_profiled(
            "duration",
            "interviews: seconds each interview lasts (duration / think-time questions, 1-30);"
            " latency: seconds measured after the warm-up",
        ),
    )
    load.add_argument(
        "--warmup",
        type=float,
        help=_profiled("warmup", "latency: seconds after the ramp-up that are not measured"),
    )
    load.add_argument("--questions", type=int, help="questions per interview (overrides the above)")
    load.add_argument(
        "--think-time",
        type=float,
        help=_profiled("think_time", "seconds from a question to its answer"),
    )
    load.add_argument(
        "--think-jitter",
        type=float,
        help=_profiled("think_jitter", "the think time varies by this fraction either way"),
    )
    load.add_argument(
        "--screenshot-every",
        type=float,
        help=_profiled("screenshot_every", "seconds between screenshots (0: none)"),
    )
    load.add_argument(
        "--jpeg-kb", type=_kb_range, default=(30, 80), help="screenshot sizes, LOW-HIGH KB"
    )
    load.add_argument(
        "--signal-rate",
        type=float,
        help=_profiled("signal_rate", "proctoring signals per candidate-minute"),
    )
    load.add_argument(
        "--disconnect-rate",
        type=float,
        help=_profiled(
            "disconnect_rate", "drops (then resume) per socket-minute, candidates and watchers"
        ),
    )
    load.add_argument("--procs", type=int, default=1, help="load-generator processes")
    load.add_argument("--seed", type=int, default=2026)
    load.add_argument(
        "--setup-concurrency", type=int, default=8, help="sign-ups at once (argon2 is slow)"
    )
    base = parser.add_argument_group("baseline")
    base.add_argument(
        "--baseline",
        action="store_true",
        help="also measure a bare echo server and OpenHire at saturation; report ratios",
    )
    base.add_argument(
        "--saturation-clients", type=int, default=32, help="closed-loop clients at saturation"
    )
    base.add_argument(
        "--saturation-seconds", type=float, default=10.0, help="measured seconds per phase"
    )
    idle = parser.add_argument_group("idle sessions")
    idle.add_argument(
        "--idle",
        type=int,
        metavar="N",
        help="instead of the load: hold N connected idle candidates; report memory per session",
    )
    idle.add_argument("--hold", type=float, default=10.0, help="seconds to hold idle sessions")
    media = parser.add_argument_group("media sessions (WebRTC)")
    media.add_argument(
        "--media",
        type=int,
        metavar="N",
        help="instead of the load: N candidates sending audio and 640x360@15 video over"
        " WebRTC, held --hold seconds; report offer->connected, snapshot lag, CPU and memory"
        " per media session",
    )
    media.add_argument(
        "--media-clip",
        type=Path,
        help="a WebM (VP8 + Opus) to send as it is; default: one written once with PyAV",
    )
    voice = parser.add_argument_group("spoken interviews (WebRTC audio, speech-to-text)")
    voice.add_argument(
        "--voice",
        type=int,
        metavar="N",
        help="instead of the load: N candidates answering --questions (default 5) questions"
        " aloud at once, audio only, on a local server whose speech-to-text is a loopback"
        " stand-in; report end of speech -> ack, the stand-in's time apart, CPU and memory"
        " per voice session, and the no-loss proof",
    )
    faults.add_arguments(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--json", type=Path, help="write the full result as JSON here")
    out.add_argument("--plot", type=Path, help="write a PNG of latency and load over time here")
    out.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Fill in the profile's defaults for what was not given, then check the options
    against each other."""
    for dest, value in PROFILES[args.profile].items():
        if getattr(args, dest) is None:
            setattr(args, dest, value)
    if args.interviews < 1 or args.watchers < 0 or args.procs < 1:
        parser.error("--interviews and --procs must be at least 1, --watchers at least 0")
    if args.think_time <= 0 or args.duration <= 0 or args.ramp_up < 0:
        parser.error("--think-time and --duration must be positive, --ramp-up not negative")
    if not 0 <= args.think_jitter < 1 or args.warmup < 0:
        parser.error("--think-jitter: from 0 to below 1; --warmup: not negative")
    if 0 < args.screenshot_every < 1.0:
        parser.error("--screenshot-every: at least 1 s (0 for none)")
    if args.questions is not None and not 1 <= args.questions <= MAX_QUESTIONS:
        parser.error(f"--questions: 1 to {MAX_QUESTIONS} (an interview plan's limit)")
    if args.profile == "latency" and args.questions is None:
        needed = latency_questions(args)
        if needed > MAX_QUESTIONS:
            parser.error(
                f"interviews must last through the ramp-up, warm-up and {args.duration:g} s"
                f" measured: about {needed} questions at a {args.think_time:g} s think time, and"
                f" an interview has at most {MAX_QUESTIONS}: shorten --duration or lengthen"
                " --think-time"
            )
    if args.server_env and args.url:
        parser.error("--server-env: only for the local server (set a running one's own settings)")
    if args.idle is not None and args.idle < 1:
        parser.error("--idle: at least 1")
    if args.media is not None and (args.media < 1 or args.idle is not None):
        parser.error("--media: at least 1, and not with --idle")
    if args.voice is not None:
        if args.voice < 1 or args.idle is not None or args.media is not None:
            parser.error("--voice: at least 1, and not with --idle or --media")
        if args.url:
            parser.error(
                "--voice starts its own server (its speech-to-text is the generator's stand-in)"
            )
    if args.procs > args.interviews:
        args.procs = args.interviews


def questions_for(args: argparse.Namespace) -> int:
    if args.questions is not None:
        return int(args.questions)
    if args.profile == "latency":
        return latency_questions(args)
    duration: float = args.duration
    think: float = args.think_time
    return max(1, min(MAX_QUESTIONS, round(duration / think)))


def latency_questions(args: argparse.Namespace) -> int:
    """Enough questions that no interview ends before the measured window does (an ending
    interview is evaluated, which is not what the window measures): one answer per think
    time on average, over the ramp-up, the warm-up and the window, and two to spare."""
    span: float = args.ramp_up + args.warmup + args.duration
    think: float = args.think_time
    return math.ceil(span / think) + 2
