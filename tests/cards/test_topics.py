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


def test_an_item_without_topics_fails_where_the_library_has_a_vocabulary(tmp_path: Path) -> None:
    write_library(tmp_path, [item_data()])
    _with_topics(tmp_path, "topics:\n  diabetes: Diabetes\n")
    messages = [issue.message for issue in read_library(tmp_path).errors]
    assert messages == ["topics: missing; name 1 to 3 of topics.yaml"]


def test_a_fourth_topic_is_a_warning(tmp_path: Path) -> None:
    write_library(tmp_path, [item_data(topics=["a", "b", "c", "d"])])
    _with_topics(tmp_path, "topics:\n  a: A\n  b: B\n  c: C\n  d: D\n")
    loaded = read_library(tmp_path)
    assert loaded.errors == ()
    assert [issue.message for issue in loaded.warnings] == [
        "topics: 4 given; keep to the 3 the item is most about"
    ]


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


def test_every_bundled_item_is_tagged_with_one_to_three_topics() -> None:
    """Learning goals and requirement sets find items by topic: an untagged item is invisible
    to both."""
    untagged = [item.id for item in load_library() if not 1 <= len(item.topics) <= 3]
    assert untagged == []


def test_the_legal_topics_tag_only_items_that_teach_them() -> None:
    """`opioid-prescribing` and `substance-use-disorder` count toward legal requirements
    (service/credit/requirements.yaml): every item carrying one is about opioids or a substance
    use disorder by its own kinds or title."""
    words = ("opioid", "naloxone", "codeine", "alcohol", "drug use", "substance")
    for item in load_library():
        legal = {"opioid-prescribing", "substance-use-disorder"} & set(item.topics)
        if legal:
            about = item.title.lower() + " " + " ".join(item.kinds)
            assert "pain-opioid" in item.kinds or any(w in about for w in words), item.id
