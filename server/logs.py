"""Structured logs: one configuration for the whole process.

Every line is a structlog event; context bound with ``bind_contextvars`` (a request id, later
an interview id) appears in every line logged while handling it.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: str = "info", fmt: str = "console") -> None:
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    renderer: structlog.typing.Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        # Plain tracebacks: the console renderer's default (rich, when installed) prints every
        # frame's local variables, which hold tokens, passwords and candidates' answers.
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    # Tracebacks become text (file, line, code; never local variables) before rendering, for
    # structlog's own lines and the standard library's (uvicorn) alike.
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries that log through the standard library (uvicorn) go through the same renderer.
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_NoQueryStrings())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processor=renderer)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _ConfigurationTraceback) for f in error_log.filters):
        error_log.addFilter(_ConfigurationTraceback())


class _NoQueryStrings(logging.Filter):
    """uvicorn logs each socket's path with its query string (``"WebSocket /ws/...?ticket=..."
    [accepted]``), and a socket ticket opens an interview until it is used. So every
    URL-path argument of a standard-library record loses its query string before it is
    formatted; our own access line (``server.http.middleware``) never logs one either."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_without_query(arg) for arg in record.args)
        return True


def _without_query(arg: object) -> object:
    if isinstance(arg, str) and arg.startswith("/") and "?" in arg:
        return arg.split("?", 1)[0]
    return arg


class _ConfigurationTraceback(logging.Filter):
    """A start-up refused for its configuration has already said why in one line
    (``openhire: ...``); uvicorn would follow it with the lifespan's whole traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "server.errors.ConfigurationError:" not in record.getMessage()
