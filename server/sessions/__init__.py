"""Live interviews: the session state machine, its registry, watchers and persistence."""
