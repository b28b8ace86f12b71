"""The load generator (``openhire loadtest``) and the benchmarks of OpenHire.

``main(argv)`` runs ``openhire loadtest``; see ``clients.loadtest.cli`` and docs/benchmarks.md.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from clients.loadtest.cli import main as run

    return run(argv)
