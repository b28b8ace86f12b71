"""Benchmarks that need more than the public API (they seed the database directly), run from a
source tree: ``python -m benchmarks.job_search``. The load generator, which speaks only the
public API and protocol, is ``openhire loadtest`` (``clients/loadtest``)."""
