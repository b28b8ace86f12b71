"""The load generator (``openhire loadtest``): a client of the public API and protocol only
(``clients.interview_client`` on ``server.protocol``); it never imports the server's command
line, which loads it through this one entry point.

``main(argv)`` runs ``openhire loadtest``; see ``clients.loadtest.cli`` and docs/benchmarks.md.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from clients.loadtest.cli import main as run

    return run(argv)
