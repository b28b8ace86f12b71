"""Several nodes, one cluster: what the nodes share live, in Redis (docs/deploy-cluster.md).

With ``REDIS_URL`` unset none of this runs, and one node keeps everything in its own memory.

- ``connection``: the Redis client, checked at start-up (one line and exit when unreachable).
- ``tickets``: socket tickets, single use across every node (``GETDEL``).
- ``throttle``: the log-in throttle's counts, reserved and settled atomically in Lua.
- ``node``: this node's identity, its heartbeat (and so whether Redis answers), and its
  channel, on which other nodes ask it to release an interview or pass a recruiter's command.
- ``leases``: one owner per live interview (a lease in Redis, renewed; the fencing epoch is
  PostgreSQL's, ``store.interview_log``).
- ``streams``: each live interview's capped stream of committed entries and live-only frames,
  which watchers on any node follow.
"""
