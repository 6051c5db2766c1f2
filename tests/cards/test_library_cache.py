"""The start-up cache of a checked library: a hit gives exactly what reading the files gives,
without parsing or checking them again; any edit (items, value sets, terminology) or another
`today` is seen, a broken cache is ignored, and a library with any issue is never cached."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from service.cards import loader
from service.cards.library import load_library
from service.cards.loader import read_library
from tests.cards.factories import item_data, item_text, make_item, write_library


def _cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("library-*.jsonl"))


def test_a_hit_equals_reading_the_files(tmp_path: Path) -> None:
    library = write_library(
        tmp_path / "lib", [item_data(id="first-item"), item_data(id="second-item")]
    )
    cache = tmp_path / "cache"
    fresh = read_library(library, today=date(2026, 2, 1))
    first = read_library(library, today=date(2026, 2, 1), cache_dir=cache)
    assert len(_cache_files(cache)) == 1
    hit = read_library(library, today=date(2026, 2, 1), cache_dir=cache)
    assert hit.items == first.items == fresh.items
    assert hit.terminology == fresh.terminology
    assert hit.issues == fresh.issues == ()


def test_a_library_with_warnings_is_not_cached(tmp_path: Path) -> None:
    library = write_library(tmp_path / "lib", [item_data(id="soon", expires=date(2026, 3, 1))])
    cache = tmp_path / "cache"
    for _ in range(2):
        loaded = read_library(library, today=date(2026, 2, 1), cache_dir=cache)
        assert any("expires" in issue.message and issue.line > 1 for issue in loaded.warnings)
    assert _cache_files(cache) == []
    # another day, no warning: cached under that day's name
    read_library(library, today=date(2025, 1, 1), cache_dir=cache)
    assert len(_cache_files(cache)) == 1
    assert read_library(library, today=date(2026, 2, 1), cache_dir=cache).warnings


def test_a_hit_does_not_parse_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    library = write_library(tmp_path / "lib", [item_data(id="only-item")])
    cache = tmp_path / "cache"
    read_library(library, cache_dir=cache)

    def refuse(*_: object) -> None:
        raise AssertionError("parsed the files despite a valid cache")

    monkeypatch.setattr(loader, "parse_item", refuse)
    monkeypatch.setattr(loader, "check_items", refuse)
    assert [item.id for item in read_library(library, cache_dir=cache).items] == ["only-item"]


def test_a_hit_does_not_read_the_source_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registry only checks citations (12 ms of YAML for the bundled one): a library
    cached after passing it starts without reading it again."""
    source = {**item_data()["source"], "family": "uspstf-test", "edition": "2021"}
    library = write_library(
        tmp_path / "lib", [item_data(source={**source, "verified": "2026-01-02"})]
    )
    family = (
        "families:\n  uspstf-test:\n    title: T\n    organization: USPSTF\n"
        "    edition: '2021'\n    published: 2021-01-01\n    cadence: irregular\n"
        "    url: https://example.org/rec\n    checked: 2026-01-01\n"
    )
    (library / "sources.yaml").write_text(family, encoding="utf-8")
    cache = tmp_path / "cache"
    first = read_library(library, cache_dir=cache, today=date(2026, 6, 1))
    assert first.registry is not None
    assert not first.issues

    def refuse(*_: object) -> None:
        raise AssertionError("read the registry despite a valid cache")

    monkeypatch.setattr(loader, "parse_registry", refuse)
    again = read_library(library, cache_dir=cache, today=date(2026, 6, 1))
    assert [item.id for item in again.items] == ["test-item"]


def test_an_edit_is_seen(tmp_path: Path) -> None:
    library = write_library(tmp_path / "lib", [item_data(id="edited-item", title="Before")])
    cache = tmp_path / "cache"
    assert read_library(library, cache_dir=cache).items[0].title == "Before"
    path = library / "items" / "area" / "edited-item.md"
    path.write_text(item_text(item_data(id="edited-item", title="After")), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert read_library(library, cache_dir=cache).items[0].title == "After"
    assert len(_cache_files(cache)) == 1  # the stale one was replaced


def test_a_new_file_is_seen(tmp_path: Path) -> None:
    library = write_library(tmp_path / "lib", [item_data(id="first-item")])
    cache = tmp_path / "cache"
    read_library(library, cache_dir=cache)
    write_library(library, [item_data(id="added-item")], terminology=False)
    ids = {item.id for item in read_library(library, cache_dir=cache).items}
    assert ids == {"first-item", "added-item"}


def test_a_value_set_edit_is_seen(tmp_path: Path) -> None:
    spec = {"conditions": {"any_of": {"valuesets": ["vs-diabetes"]}}}
    library = write_library(
        tmp_path / "lib",
        [item_data(id="vs-item", applies=spec)],
        valuesets={"vs-diabetes": {"snomed": ["44054006"]}},
    )
    cache = tmp_path / "cache"
    assert read_library(library, cache_dir=cache).errors == ()
    write_library(library, [], valuesets={"vs-other": {"snomed": ["44054006"]}})
    (library / "valuesets" / "vs-diabetes.yaml").unlink()
    errors = read_library(library, cache_dir=cache).errors
    assert any("vs-diabetes" in issue.message for issue in errors)


def test_a_corrupt_cache_is_ignored_and_rewritten(tmp_path: Path) -> None:
    library = write_library(tmp_path / "lib", [item_data(id="only-item")])
    cache = tmp_path / "cache"
    read_library(library, cache_dir=cache)
    (written,) = _cache_files(cache)
    written.write_bytes(b'{"id": "Not An Id"}')
    assert [item.id for item in read_library(library, cache_dir=cache).items] == ["only-item"]
    assert b"only-item" in written.read_bytes()


def test_a_library_with_parse_problems_is_not_cached(tmp_path: Path) -> None:
    library = write_library(tmp_path / "lib", [item_data(id="good-item")])
    bad = library / "items" / "area" / "bad-item.md"
    bad.write_text(item_text(item_data(id="bad-item", colour="red")), encoding="utf-8")
    cache = tmp_path / "cache"
    for _ in range(2):
        loaded = read_library(library, cache_dir=cache)
        assert [issue.message for issue in loaded.errors] == ["colour: unknown field"]
    assert _cache_files(cache) == []


def test_an_unwritable_cache_only_costs_the_parse(tmp_path: Path) -> None:
    library = write_library(tmp_path / "lib", [item_data(id="only-item")])
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be", encoding="utf-8")
    assert len(load_library(library, cache_dir=blocked)) == 1


def test_equal_parts_are_held_once(tmp_path: Path) -> None:
    library = write_library(
        tmp_path / "lib", [item_data(id="first-item"), item_data(id="second-item")]
    )
    fresh = read_library(library)
    parsed = read_library(library, cache_dir=tmp_path / "cache").items
    cached = read_library(library, cache_dir=tmp_path / "cache").items  # a cache hit
    for first, second in (fresh.items, parsed, cached):
        assert first.source is second.source
        assert first.authors[0] is second.authors[0]
        assert first.applies.conditions is second.applies.conditions
    assert parsed == cached == fresh.items
    unshared = (make_item(id="first-item"), make_item(id="second-item"))
    assert [item.model_dump() for item in cached] == [item.model_dump() for item in unshared]
    assert [item.model_dump(exclude_unset=True) for item in cached] == [
        item.model_dump(exclude_unset=True) for item in unshared
    ]
    assert cached[0].model_fields_set is cached[1].model_fields_set
    copied = cached[0].model_copy(update={"title": "Changed"})
    assert cached[1].title == "A test guideline"
    assert copied.model_fields_set is not cached[1].model_fields_set
