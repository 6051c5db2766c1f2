"""The benchmark harness works end to end (structure only: never asserts a time)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from bench.bodies import builtin_patient, order_sign, patient_view, standard_bodies
from bench.report import targets
from bench.tokens import BenchEhr, TokenPool
from service.hooks.discovery import PATIENT_DATA_PREFETCH

REPO = Path(__file__).resolve().parents[2]


def _smoke_run(only: str, out: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`python -m bench --smoke --only ONLY` in a subprocess, results written to `out`."""
    command = [sys.executable, "-m", "bench", "--smoke", "--only", only, "--client", "python"]
    command += ["--out", str(out), "--work-dir", str(tmp_path / "work")]
    return subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=580, check=False
    )


def test_bodies_are_cds_hooks_requests_of_the_asked_size() -> None:
    bodies = standard_bodies()
    assert set(bodies) == {"pv-50k", "pv-250k", "order-sign"}
    for body in bodies.values():
        request = orjson.loads(body.body)
        assert request["hook"] in {"patient-view", "order-sign"}
        assert set(request["prefetch"]) == set(PATIENT_DATA_PREFETCH)  # as discovery asks
    drafts = orjson.loads(bodies["order-sign"].body)["context"]["draftOrders"]
    coding = drafts["entry"][0]["resource"]["medicationCodeableConcept"]["coding"][0]
    assert coding["code"] == "1049621"
    sized = patient_view("x", builtin_patient(), target_resources=30)
    assert sized.resources == 30
    assert order_sign("o", builtin_patient()).service_id == "bedside-order-sign"


def test_token_pool_hands_out_each_token_once() -> None:
    ehr = BenchEhr()
    try:
        pool = TokenPool(ehr, "http://127.0.0.1:1/cds-services/x", batch=10)
        first, second = pool.take(15), pool.take(5)
        assert len(set(first + second)) == 20
        pool.give_back(second[2:])
        assert pool.take(3) == second[2:]
    finally:
        ehr.close()


@pytest.mark.parametrize("algorithm", ["ES384", "RS384"])
def test_the_bench_ehr_signs_what_its_jwks_verifies(algorithm: str) -> None:
    ehr = BenchEhr(algorithm=algorithm)
    try:
        keys = KeySet.import_key_set(httpx.get(ehr.jwks.url, timeout=5).json())
        token = jwt.decode(ehr.token("http://b.test/x"), keys, algorithms=[algorithm])
        assert token.header["alg"] == algorithm
        assert token.claims["iss"] == ehr.issuer
    finally:
        ehr.close()
    with pytest.raises(ValueError, match="ES384 or RS384"):
        BenchEhr(algorithm="HS256")


@pytest.mark.timeout(600)
def test_smoke_run_writes_results_with_the_expected_structure(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    completed = _smoke_run("micro,headline", out, tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = orjson.loads(out.read_bytes())
    assert {"machine", "options", "micro", "headline", "targets"} <= set(results)
    assert "error" not in results["micro"], results["micro"]
    assert "error" not in results["headline"], results["headline"]
    rows = results["headline"]["1"]["bodies"]["pv-50k"]
    for server in ("floor", "bedside", "naive"):
        assert {"rps", "p50_ms", "p99_ms", "cpu_ms_per_request", "failures"} <= set(rows[server])
        assert rows[server]["probe"]["status"] == 200
    stages = results["micro"]["hook"]["pv-250k"]
    assert {"orjson_parse", "facts", "match", "render", "handle_hook"} <= set(stages)
    assert [row["target"] for row in results["targets"]] == [row["target"] for row in targets({})]
    assert "target" in completed.stdout


@pytest.mark.timeout(600)
def test_smoke_library_run_records_the_cards_of_both_libraries(tmp_path: Path) -> None:
    """The library scenario end to end: the small library is a subset of the large one, and
    both servers are probed before and after the load runs (card counts recorded)."""
    out = tmp_path / "results.json"
    completed = _smoke_run("library", out, tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    library = orjson.loads(out.read_bytes())["library"]
    assert "error" not in library, library
    small, large = (f"library-{n}" for n in library["sizes"])
    assert library["subsets"][small]["size"] == library["sizes"][0]
    small_ids = {p.stem for p in (tmp_path / "work").glob(f"{small}-of-*/items/**/*.md")}
    large_ids = {p.stem for p in (tmp_path / "work" / large).glob("items/**/*.md")}
    assert len(small_ids) == library["sizes"][0]
    assert small_ids < large_ids
    for body, servers in library["cards"].items():
        assert set(servers) == {small, large}
        for probes in servers.values():
            assert probes["first"]["status"] == probes["after_load"]["status"] == 200
        counts = {s: (p["first"]["cards"], p["after_load"]["cards"]) for s, p in servers.items()}
        assert counts[small] == counts[large], (body, counts)
        assert library["ratios_large_over_small"][body]["cards_equal"] is True
    assert library["comparable"] is True
