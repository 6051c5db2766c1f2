"""`python -m bench.profile [--body pv-50k] [--seconds 10]`: where a hook call's CPU goes in
the running server, under the same load as the headline runs (1 worker pinned to CPU 1, wrk
on CPU 0, a fresh EHR JWT per request).

py-spy (`pip install py-spy`; not a test dependency) samples the worker twice:

- **on-CPU** (`py-spy record`, idle threads excluded): what the CPU time per request is
  spent on. Only the event loop's thread counts: aiosqlite's connection threads wait in a
  C-level queue get that py-spy does not recognise as idle.
- **GIL** (`--gil`): only samples of the thread holding the GIL. Work in C that releases
  the GIL (OpenSSL's signature check) vanishes from this view, which is why it understated
  JWT verification before the on-CPU view was added.

Each stage is the share of the event loop thread's samples with that frame on the stack
(inclusive); for the on-CPU view also that share of the CPU ms per request measured during
the profiled run (py-spy slows the worker down: shares are what carry over to an unprofiled
run). Raw samples go to `--out` (py-spy's raw format, for flame graphs).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.bodies import standard_bodies
from bench.harness import Harness, Options
from bench.tokens import BenchEhr

# Stages of a hook call (function name as py-spy prints it, and file), outermost first.
STAGES: tuple[tuple[str, str], ...] = (
    ("call_service", "service/hooks/routes.py"),
    ("CallerGate.admit", "service/hooks/gate.py"),
    ("ESAlgorithm.verify", "joserfc/_rfc7518/jws_algs.py"),
    ("_RSAAlgModel.verify", "joserfc/_rfc7518/jws_algs.py"),
    ("HookService.handle_hook", "service/hooks/service.py"),
    ("HookService.read_call", "service/hooks/service.py"),
    ("parse_call", "service/hooks/service.py"),
    ("facts_from_resources", "service/cards/facts.py"),
    ("choose", "service/cards/ranking.py"),
    ("offer_recall", "service/cards/recall.py"),
    ("why_codes", "service/cards/ranking.py"),
    ("render_cards", "service/hooks/service.py"),
    ("AppContextSigner.sign", "service/app_context.py"),
    ("observe_practice", "service/cards/measures.py"),
    ("PracticeRecorder.observe", "service/memory/practice.py"),
    ("CardsResponse.to_wire", "service/hooks/schemas.py"),
)
_FRAME = re.compile(r"^(?P<name>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")
_EVENT_LOOP = "Runner.run"


@dataclass(frozen=True)
class Profile:
    """Inclusive sample counts per stage, over the event loop thread's samples."""

    samples: int
    stages: dict[str, int]

    def share(self, stage: str) -> float:
        return self.stages.get(stage, 0) / self.samples if self.samples else 0.0


def _stage(frame: str, stages: Iterable[tuple[str, str]]) -> str | None:
    """The stage a raw py-spy frame (`name (path:line)`) is, if any. Paths are relative to a
    sys.path entry, or absolute for scripts: matched by suffix."""
    found = _FRAME.match(frame)
    if found is None:
        return None
    name, file = found["name"], found["file"]
    for stage, path in stages:
        if name == stage and (file == path or file.endswith("/" + path)):
            return stage
    return None


def summarize(lines: Iterable[str], stages: Iterable[tuple[str, str]] = STAGES) -> Profile:
    """Count, from py-spy's raw output (`frame;frame;... count` per line, outermost first),
    the samples of the event loop's thread and how many of them have each stage on the
    stack."""
    stages = tuple(stages)
    counts: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if not any(frame.startswith(_EVENT_LOOP + " (") for frame in frames):
            continue  # another thread's sample
        total += int(count)
        found = {stage for frame in frames if (stage := _stage(frame, stages))}
        counts.update(dict.fromkeys(found, int(count)))
    return Profile(total, dict(counts))


def _record(pid: int, seconds: float, out: Path, *, gil: bool) -> subprocess.Popen[bytes]:
    argv = ["py-spy", "record", "--pid", str(pid), "--rate", "250", "--format", "raw"]
    argv += ["--duration", str(max(1, round(seconds))), "--output", str(out)]
    if gil:
        argv.append("--gil")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run(
    body_name: str, seconds: float, out_dir: Path, ehr_algorithm: str = "ES384"
) -> list[dict[str, object]]:
    """Profile the 1-worker Bedside server on one body: both views, one table each."""
    from bench.scenarios import _running, site_for

    options = Options(seconds=seconds, workers=(1,), ehr_algorithm=ehr_algorithm)
    harness = Harness(options, out_dir / "work", BenchEhr(algorithm=ehr_algorithm))
    body = standard_bodies()[body_name]
    site = site_for(harness, 1, "profile")
    rows: list[dict[str, object]] = []
    with ExitStack() as stack:
        server = _running(stack, site.spec(1, "1"), harness)
        harness.measure(server, body, signed=True, seconds=2.0)  # warm-up
        pid = server.worker_pids()[0]
        for view, gil in (("on-CPU", False), ("GIL", True)):
            raw = out_dir / f"{body_name}-{view.lower()}.txt"
            spy = _record(pid, seconds, raw, gil=gil)
            measured = harness.measure(server, body, signed=True)
            _, errors = spy.communicate()
            if spy.returncode != 0:
                raise RuntimeError(f"py-spy failed: {errors.decode(errors='replace')[-500:]}")
            profile = summarize(raw.read_text().splitlines())
            cpu_ms = measured.cpu_ms_per_request
            for stage, _path in STAGES:
                share = profile.share(stage)
                rows.append(
                    {
                        "view": view,
                        "stage": stage,
                        "share": round(share, 3),
                        # only on-CPU shares are shares of the CPU time
                        "ms_per_request": round(share * cpu_ms, 3) if not gil else None,
                        "cpu_ms_per_request": cpu_ms,
                    }
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--body", default="pv-50k", choices=sorted(standard_bodies()))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, help="keep the raw samples here")
    parser.add_argument("--ehr-alg", choices=("ES384", "RS384"), default="ES384")
    args = parser.parse_args(argv)
    if shutil.which("py-spy") is None:
        print("py-spy is not installed: pip install py-spy", file=sys.stderr)
        return 2
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="bedside-profile-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = run(args.body, args.seconds, out_dir, args.ehr_alg)
    by_view = {(str(r["view"]), str(r["stage"])): r for r in rows}
    cpu_ms = by_view[("on-CPU", STAGES[0][0])]["cpu_ms_per_request"]
    print(f"{args.body}: share of the event loop thread's samples (on-CPU: {cpu_ms} ms per")
    print("request while profiled; GIL: only samples of the thread holding the GIL)")
    print(f"{'stage':<24} {'on-CPU':>8} {'ms':>7} {'GIL':>8}")
    for stage, _path in STAGES:
        cpu, gil = by_view[("on-CPU", stage)], by_view[("GIL", stage)]
        print(
            f"{stage:<24} {cpu['share']:>8.1%} {cpu['ms_per_request']:>7.3f} {gil['share']:>8.1%}"
        )
    print(f"raw samples in {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
