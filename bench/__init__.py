"""Ops tooling: the demo, benchmarks, and (later) replays and load generators."""
