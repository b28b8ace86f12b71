"""The live edge: the interview sockets, their per-socket writers, rate limits and frame
checks, the candidate's inbox and the watchers' replay. Live interviews (``server.sessions``)
see only an outbox and domain errors, never a socket or Starlette."""
