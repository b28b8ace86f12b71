"""Production logs: a traceback says where it failed, never what the frames held."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = """
import logging, sys
import structlog
from server.logs import configure_logging

configure_logging("info", sys.argv[1])

def score(answer):
    secret_token = "tok-LOCAL" + "-VALUE-1"
    raise ValueError("the scorer failed")

try:
    score("my answer LOCAL" + "-VALUE-2")
except ValueError:
    structlog.get_logger("server").exception("evaluation.failed")
try:
    score("my answer LOCAL" + "-VALUE-3")
except ValueError:
    # How uvicorn reports an exception in the application: the standard library's logging.
    logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
"""


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_tracebacks_carry_no_local_variables(fmt: str, tmp_path: Path) -> None:
    script = tmp_path / "fail.py"
    script.write_text(SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script), fmt],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stderr
    # Both tracebacks are there, down to the failing frame and its line...
    assert out.count(", in score") == 2, out
    assert out.count("raise ValueError(") == 2, out
    assert out.count("ValueError: the scorer failed") == 2, out
    # ...and none of the values the frames held (built at run time, not in the source).
    assert "LOCAL-VALUE" not in out, out
