"""The topic vocabulary: items name topics from it, learners pick goals from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.cards.library import load_library
from service.cards.loader import read_library
from tests.cards.factories import item_data, write_library


def _with_topics(tmp_path: Path, text: str) -> None:
    (tmp_path / "topics.yaml").write_text(text, encoding="utf-8")


def test_an_item_topic_must_be_in_the_vocabulary(tmp_path: Path) -> None:
    write_library(tmp_path, [item_data(topics=["diabetes", "gardening"])])
    _with_topics(tmp_path, "topics:\n  diabetes: Diabetes\n")
    messages = [issue.message for issue in read_library(tmp_path).errors]
    assert messages == ["unknown topic 'gardening': add it to topics.yaml or use one of its ids"]


def test_a_library_without_a_vocabulary_accepts_any_tag(tmp_path: Path) -> None:
    write_library(tmp_path, [item_data(topics=["gardening"])])
    loaded = read_library(tmp_path)
    assert loaded.errors == ()
    assert dict(loaded.topics) == {}


@pytest.mark.parametrize("text", ["topics: []\n", "topics:\n  diabetes: ''\n", "- diabetes\n"])
def test_a_malformed_vocabulary_is_an_error(tmp_path: Path, text: str) -> None:
    write_library(tmp_path, [item_data()])
    _with_topics(tmp_path, text)
    assert read_library(tmp_path).errors


def test_the_bundled_library_carries_its_vocabulary_in_order() -> None:
    library = load_library()
    assert library.topics["opioid-prescribing"] == "Opioid prescribing"
    assert next(iter(library.topics)) == "hypertension"
    used = {topic for item in library for topic in item.topics}
    assert used <= set(library.topics)
