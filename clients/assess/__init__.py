"""The simulated-candidate suite: personas of known quality interviewed for several jobs, and
the table of how the interviewer scored them (``openhire assess``; docs/assessment.md)."""
