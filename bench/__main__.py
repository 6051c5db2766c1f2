"""`python -m bench [--smoke] [--out results.json] [--only ...]`: run the benchmark, print a
table, write JSON. See docs/performance.md for what each scenario measures."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from bench.harness import Harness, Options, machine
from bench.load import wrk_available
from bench.report import table, targets
from bench.tokens import BenchEhr

SCENARIOS = ("micro", "headline", "library", "patients", "cold", "ledger")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny runs: proves the harness")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)}",
    )
    parser.add_argument("--seconds", type=float, help="length of one measured run")
    parser.add_argument("--rounds", type=int, help="A/B rounds (medians over them)")
    parser.add_argument("--workers", help="worker counts for the headline, e.g. 1,2")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--ehr-alg",
        choices=("ES384", "RS384"),
        default="ES384",
        help="how the benchmark's EHR signs its JWTs (the EHR's choice; RS384 is cheaper)",
    )
    parser.add_argument("--work-dir", type=Path, help="keep databases, libraries and logs here")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of other code (e.g. `git worktree add DIR REV`): the headline runs it "
        "as `baseline` beside `bedside`, interleaved in the same rounds (an A/B of two builds)",
    )
    return parser


def options_from(args: argparse.Namespace) -> Options:
    options = Options.smoke_options() if args.smoke else Options()
    if args.seconds:
        options.seconds = args.seconds
    if args.rounds:
        options.rounds = args.rounds
    if args.workers:
        options.workers = tuple(int(w) for w in args.workers.split(","))
    options.client = args.client
    options.ehr_algorithm = args.ehr_alg
    options.baseline = str(args.baseline.resolve()) if args.baseline else None
    return options


def run(options: Options, work_dir: Path, only: Sequence[str]) -> dict[str, Any]:
    """Run the chosen scenarios; a failing scenario is recorded, the others still run."""
    from bench import ledger, micro, scenarios

    harness = Harness(options, work_dir, BenchEhr(algorithm=options.ehr_algorithm))
    results: dict[str, Any] = {
        "machine": machine(),
        "options": asdict(options),
        "load_client": "wrk" if (options.client != "python" and wrk_available()) else "python",
    }
    large = options.library_sizes[-1]
    steps: dict[str, Callable[[], Any]] = {
        "micro": lambda: micro.run_micro(harness, scenarios.synth_library(harness, large)),
        "headline": lambda: {str(w): scenarios.headline(harness, w) for w in options.workers},
        "library": lambda: scenarios.library_scaling(harness),
        "patients": lambda: scenarios.patient_scaling(harness),
        "cold": lambda: scenarios.cold_start(harness),
        "ledger": lambda: ledger.claims_per_second(options.postgres_url, options.claims),
    }
    names = {"cold": "cold_start"}
    try:
        for step in SCENARIOS:
            if step not in only:
                continue
            started = time.perf_counter()
            print(f"[bench] {step} ...", file=sys.stderr, flush=True)
            try:
                results[names.get(step, step)] = steps[step]()
            except Exception as exc:  # report and go on: one broken scenario is not all
                results[names.get(step, step)] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
            print(
                f"[bench] {step} done in {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
                flush=True,
            )
    finally:
        harness.ehr.close()
    results["tokens_signed"] = sum(pool.signed for pool in harness.pools.values())
    results["targets"] = targets(results)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = options_from(args)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        print(f"unknown scenarios: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if args.work_dir:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        results = run(options, args.work_dir, only)
    else:
        with tempfile.TemporaryDirectory(prefix="bedside-bench-") as tmp:
            results = run(options, Path(tmp), only)
    print(table(results))
    if args.out:
        args.out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
