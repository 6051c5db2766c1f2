"""The clinical panel through matching and through `bedside match`: no patient gets an item
a clinician marked clinically wrong for it, and every item clinicians expect is found.
Expectations were written from the guideline text (tests/fixtures/clinical_panel); a failure
names the case, the item and why it matched."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

import orjson
import pytest

from service.cards.criteria import FactView
from service.cards.facts import facts_from_resources
from service.cards.library import ContentLibrary, load_library
from service.cards.matching import explain
from service.cards.resources import resources_from_bundle
from service.cli import main
from tests.cards.clinical_panel import (
    PanelCase,
    bundle_of,
    draft_orders_of,
    load_panel,
    matched_ids,
)

CASES = load_panel()
MIN_CASES = 60
MIN_RECALL = 1.0  # every expected item: a miss is a card a clinician expected and lost


@pytest.fixture(scope="module")
def library() -> ContentLibrary:
    return load_library()


def _why(library: ContentLibrary, case: PanelCase, item_id: str) -> str:
    facts = facts_from_resources(
        resources_from_bundle(bundle_of(case)),
        at=case.at,
        draft_orders=draft_orders_of(case),
        terminology=library.terminology,
    )
    result = explain(library, facts, item_id, hook=case.hook, at=case.at)
    return "; ".join(result.reasons_for if result.applies else result.reasons_against)


def test_the_panel_is_large_and_well_formed(library: ContentLibrary) -> None:
    assert len(CASES) >= MIN_CASES
    ids = [case.id for case in CASES]
    assert len(set(ids)) == len(ids), "case ids repeat"
    for case in CASES:
        assert case.must or case.never, f"{case.id}: expects nothing"
        assert not case.must & case.never, f"{case.id}: an item is both must and never"
        unknown = (case.must | case.never) - {item.id for item in library}
        assert not unknown, f"{case.id}: unknown items {sorted(unknown)}"
        assert case.hook in {"patient-view", "order-select", "order-sign", "encounter-start"}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_no_clinically_wrong_item(library: ContentLibrary, case: PanelCase) -> None:
    wrong = matched_ids(library, case) & case.never
    assert not wrong, "; ".join(
        f"{case.id} ({case.file}) got {item}: {_why(library, case, item)}" for item in sorted(wrong)
    )


def test_recall_of_expected_items(library: ContentLibrary) -> None:
    expected = found = 0
    missed: list[str] = []
    for case in CASES:
        got = matched_ids(library, case)
        expected += len(case.must)
        found += len(case.must & got)
        missed += [
            f"{case.id}: {item} ({_why(library, case, item)})" for item in sorted(case.must - got)
        ]
    recall = found / expected
    assert recall >= MIN_RECALL, f"recall {recall:.3f}; missed:\n" + "\n".join(missed)


def _request_file(case: PanelCase, folder: Path) -> Path:
    bundle = bundle_of(case)
    resources = [entry["resource"] for entry in bundle["entry"]]
    context: dict[str, object] = {"userId": "Practitioner/panel", "patientId": "panel-patient"}
    if case.hook in {"order-select", "order-sign"}:
        orders = draft_orders_of(case)
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": order} for order in orders],
        }
    body = {
        "hook": case.hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": {
            "everything": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": resource} for resource in resources],
            }
        },
    }
    path = folder / f"{case.id}.json"
    path.write_bytes(orjson.dumps(body))
    return path


def test_bedside_match_gives_the_same_answer(
    library: ContentLibrary,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`bedside match --json` on each case's CDS Hooks request: what an author runs. The
    bundled library is read once (reading it is tested on its own), not once per case."""
    monkeypatch.setattr("service.cards.library.load_library", lambda *_a, **_k: library)
    for case in CASES:
        path = _request_file(case, tmp_path)
        at = case.at.isoformat() if isinstance(case.at, date) else str(case.at)
        assert main(["match", str(path), "--hook", case.hook, "--at", at, "--json"]) == 0
        shown = {row["id"] for row in json.loads(capsys.readouterr().out)}
        assert shown == matched_ids(library, case), case.id
        assert not shown & case.never, case.id


def test_facts_skipped_by_their_index_keys_would_not_hold(library: ContentLibrary) -> None:
    """A named fact is answered false without evaluation when the patient has none of its
    index keys: on every panel patient, that answer is the evaluation's."""
    for case in CASES:
        facts = facts_from_resources(
            resources_from_bundle(bundle_of(case)),
            at=case.at,
            draft_orders=draft_orders_of(case),
            terminology=library.terminology,
        )
        for fact in library.policy.facts.values():
            evaluated = fact._evaluate(FactView(facts, library.terminology))[0]
            assert fact.check(FactView(facts, library.terminology))[0] == evaluated, (
                case.id,
                fact.name,
            )
