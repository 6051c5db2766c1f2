"""The source registry (`sources.yaml`): every citation names a known family, edition and
verification date, and `content check --today` reports superseded editions (failing under
`--strict`), so that one edit to the registry finds every item to re-read."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.cards.library import BUNDLED_DIR
from service.cards.loader import read_library
from service.cli import main
from tests.cards.factories import item_data, write_library

TODAY = "2026-12-06"


def family(**overrides: Any) -> dict[str, Any]:
    data = {
        "title": "Standards of Care in Diabetes",
        "organization": "American Diabetes Association",
        "edition": "2026",
        "published": date(2025, 12, 8),
        "cadence": "yearly",
        "url": "https://diabetesjournals.org/care",
        "checked": date(2026, 12, 1),
    }
    return {**data, **overrides}


def cited(**overrides: Any) -> dict[str, Any]:
    source = {
        "family": "ada-standards",
        "edition": "2026",
        "organization": "American Diabetes Association",
        "title": "Standards of Care in Diabetes-2026",
        "year": 2026,
        "url": "https://diabetesjournals.org/care",
        "license": "summarized",
        "verified": date(2026, 12, 1),
    }
    return {**source, **overrides}


def library(root: Path, *items: dict[str, Any], families: dict[str, Any] | None = None) -> Path:
    write_library(root, list(items))
    registry = {"families": families if families is not None else {"ada-standards": family()}}
    (root / "sources.yaml").write_text(yaml.safe_dump(registry), encoding="utf-8")
    return root


def check(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["content", "check", str(root), "--today", TODAY, *extra])
    return code, capsys.readouterr().out


def test_current_citations_pass_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = library(tmp_path, item_data(source=cited()))
    code, out = check(root, capsys, "--strict")
    assert code == 0, out
    assert "0 errors, 0 warnings" in out


def test_a_superseded_edition_warns_and_fails_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = library(tmp_path, item_data(source=cited(edition="2025", year=2025)))
    code, out = check(root, capsys)
    assert code == 0
    assert "cites ada-standards edition '2025'; the latest is '2026'" in out
    assert "(warning)" in out
    code, out = check(root, capsys, "--strict")
    assert code == 1


def test_the_registry_is_the_one_place_to_record_a_new_edition(tmp_path: Path) -> None:
    root = library(tmp_path, item_data(source=cited()))
    assert not read_library(root, today=date(2026, 12, 6)).warnings
    registry = {"families": {"ada-standards": family(edition="2027", published=date(2026, 12, 9))}}
    (root / "sources.yaml").write_text(yaml.safe_dump(registry), encoding="utf-8")
    warnings = read_library(root, today=date(2026, 12, 10)).warnings
    assert [(w.tag, "'2027'" in w.message) for w in warnings] == [("stale", True)]


def test_verified_before_the_edition_came_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the edition label was bumped without reading the new text
    root = library(tmp_path, item_data(source=cited(verified=date(2025, 6, 1))))
    code, out = check(root, capsys, "--strict")
    assert code == 1
    assert "verified on 2025-06-01, before edition '2026'" in out


@pytest.mark.parametrize(
    ("published", "checked", "stale"),
    [
        (date(2025, 10, 7), date(2025, 10, 7), False),  # due today: within the grace
        (date(2025, 10, 6), date(2025, 10, 6), True),  # overdue, nobody has looked
        (date(2025, 10, 6), date(2026, 10, 7), False),  # overdue, looked 60 days ago
        (date(2025, 10, 6), date(2026, 10, 6), True),  # overdue, looked 61 days ago
    ],
)
def test_a_yearly_family_overdue_for_its_next_edition_must_be_looked_at(
    tmp_path: Path, published: date, checked: date, stale: bool
) -> None:
    families = {"ada-standards": family(published=published, checked=checked)}
    root = library(tmp_path, item_data(source=cited(verified=published)), families=families)
    messages = [w.message for w in read_library(root, today=date(2026, 12, 6)).warnings]
    assert any("is updated yearly" in m for m in messages) is stale


def test_an_irregular_family_is_never_due_by_age(tmp_path: Path) -> None:
    families = {"ada-standards": family(cadence="irregular", published=date(2018, 1, 1))}
    root = library(tmp_path, item_data(source=cited(edition="2026")), families=families)
    assert not read_library(root, today=date(2026, 12, 6)).warnings


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (cited(family="uspstf-unknown"), "'uspstf-unknown' is not in sources.yaml"),
        ({k: v for k, v in cited().items() if k != "verified"}, "verified required"),
        ({k: v for k, v in cited().items() if k not in ("family", "edition")}, "family, edition"),
        (cited(verified=date(2027, 1, 1)), "is in the future"),
    ],
)
def test_citations_must_name_a_known_family_edition_and_verification(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: dict[str, Any], message: str
) -> None:
    code, out = check(library(tmp_path, item_data(source=source)), capsys)
    assert code == 1
    assert message in out


def test_perspectives_are_checked_like_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    perspectives = [
        {"label": "ADA (2026)", "position": "One view.", "source": cited()},
        {"label": "ADA (2025)", "position": "Another.", "source": cited(edition="2025")},
    ]
    root = library(tmp_path, item_data(source=cited(), perspectives=perspectives))
    code, out = check(root, capsys, "--strict")
    assert code == 1
    assert "perspectives.1.source: cites ada-standards edition '2025'" in out
    assert "perspectives.0" not in out


def test_registry_errors_name_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = library(tmp_path, item_data(source=cited()))
    (root / "sources.yaml").write_text(
        "families:\n"
        "  ada-standards:\n"
        "    title: ADA\n    organization: ADA\n    edition: '2026'\n"
        "    published: 2025-12-08\n    cadence: monthly\n"
        "    url: https://diabetesjournals.org/care\n    checked: 2026-12-01\n"
        "  ada-standards:\n"
        "    title: again\n",
        encoding="utf-8",
    )
    code, out = check(root, capsys)
    assert code == 1
    assert "sources.yaml:10: family 'ada-standards' is given twice" in out


def test_a_bad_cadence_is_refused_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    families = {"ada-standards": family(cadence="monthly")}
    code, out = check(library(tmp_path, item_data(source=cited()), families=families), capsys)
    assert code == 1
    assert "families.ada-standards.cadence" in out


def test_sources_lists_each_family_and_its_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    families = {"ada-standards": family(), "kdigo-ckd": family(cadence="irregular", edition="2024")}
    root = library(
        tmp_path,
        item_data(source=cited()),
        item_data(id="other-item", source=cited(edition="2025")),
        families=families,
    )
    capsys.readouterr()
    assert main(["content", "sources", str(root), "--today", TODAY]) == 0
    out = capsys.readouterr().out
    assert "ada-standards: Standards of Care in Diabetes, edition 2026" in out
    assert "2 items" in out
    assert "kdigo-ckd:" in out
    assert "0 items" in out
    assert "2 families; 1 items need review" in out


def test_a_library_without_a_registry_is_not_held_to_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_library(tmp_path, [item_data()])
    code, out = check(tmp_path, capsys, "--strict")
    assert code == 0, out


def test_the_bundled_library_cites_current_editions_today() -> None:
    """The issue's bar: `bedside content check --today 2026-12-06 --strict` passes."""
    loaded = read_library(BUNDLED_DIR, today=date.fromisoformat(TODAY))
    assert [str(issue) for issue in loaded.issues] == []
    assert loaded.registry is not None
    families = loaded.registry.registry.families
    cited_families = {item.source.family for item in loaded.items}
    assert cited_families <= set(families)
