"""Benchmark harness of tenancy: `python -m bench` (or `make bench`) from the repository root.

What it measures, and why: `tenancy validate` runs in CI on every pull request against the whole
roster, so its user-facing wall time (process start included) and memory must stay small as the
platform grows from 1,000 to 10,000 users. Each suite generates a deterministic, realistic
tenancy repository of N users (with exactly three deliberately bad users, so the reporting path
runs as it would on a real pull request), measures tenancy side by side with the reference
tools on the very same policies and input, and checks that every tool finds the same problems:
a benchmark that checks nothing would time a tool doing the wrong thing.

Modules: `generate` (the synthetic repository), `measure` (wall clock, peak RSS, the process
tree's peak PSS, statistics, the table), `opa` (a real OPA server on loopback), `stages`
(in-process stage timings, run in a fresh process per repeat), `validate` (the validate suite).
"""
