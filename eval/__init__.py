"""Quality evaluations of the event core on the ../shared data sets (run from the repo root)."""
