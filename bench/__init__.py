"""Bedside's benchmark harness: realistic CDS Hooks bodies, signed EHR JWTs, servers started as
subprocesses, an external load generator (wrk, or a small httpx client as a fallback) and
in-process micro-benchmarks. Run it with `python -m bench`; see docs/performance.md.
"""
