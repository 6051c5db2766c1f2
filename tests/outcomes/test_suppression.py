"""Small-cell suppression: no published number describes 1 to 4 learners, neither directly
nor by subtracting published numbers from a published total (the rule in
service/outcomes/suppression.py and docs/outcomes.md). Properties over random trees of
cells built from random learner sets, plus the cases the rule was written for."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from service.outcomes.suppression import (
    MIN_LEARNERS,
    Hidden,
    Node,
    Protected,
    Tally,
    cell,
    merge,
    protect,
)

POOL = [f"lrn_{n}" for n in range(14)]


def leaf(learners: set[str], value: float | None = None) -> Node:
    return Node(Tally((value if value is not None else float(len(learners)),), frozenset(learners)))


def total(*parts: Node) -> Node:
    return Node(merge(part.tally for part in parts), parts)


learner_sets = st.sets(st.sampled_from(POOL), max_size=9)
leaves = st.builds(leaf, learner_sets)
# a total of leaves (an item's overridden cards and their reasons), or a total of such totals
# (all items); learners of a total are the union of its parts', as in the report
middles = st.lists(leaves, min_size=1, max_size=5).map(lambda parts: total(*parts))
trees = st.one_of(
    leaves,
    middles,
    st.lists(st.one_of(leaves, middles), min_size=1, max_size=5).map(lambda p: total(*p)),
)


def walk(protected: Protected, node: Node) -> list[tuple[Protected, Node]]:
    found = [(protected, node)]
    for p, n in zip(protected.parts, node.parts, strict=True):
        found += walk(p, n)
    return found


def left_by_subtraction(protected: Protected, node: Node) -> set[str]:
    """What a reader learns from a published total: subtract every published part, and for a
    hidden part every published part of it, down the tree. The learners behind what is left
    (an attacker's view, written apart from the rule under test)."""
    left: set[str] = set()
    for part, raw in zip(protected.parts, node.parts, strict=True):
        if not part.cell.suppressed:
            continue
        if part.cell.hidden is Hidden.FEW or not raw.parts:
            left |= raw.tally.learners
        else:
            left |= left_by_subtraction(part, raw)
    return left


@given(trees)
@settings(max_examples=400)
def test_no_published_cell_describes_one_to_four_learners(tree: Node) -> None:
    for protected, node in walk(protect(tree), tree):
        if not protected.cell.suppressed:
            assert protected.cell.learners == len(node.tally.learners)
            assert protected.cell.learners == 0 or protected.cell.learners >= MIN_LEARNERS


@given(trees)
@settings(max_examples=400)
def test_no_published_total_gives_away_a_hidden_cell(tree: Node) -> None:
    for protected, node in walk(protect(tree), tree):
        if protected.cell.suppressed or not node.parts:
            continue
        left = left_by_subtraction(protected, node)
        assert len(left) == 0 or len(left) >= MIN_LEARNERS, (protected, left)


@given(st.lists(leaves, min_size=2, max_size=6))
def test_a_total_is_hidden_when_exactly_one_of_its_parts_is(parts: list[Node]) -> None:
    protected = protect(total(*parts))
    hidden = [p for p in protected.parts if p.cell.suppressed]
    if len(hidden) == 1:
        assert protected.cell.suppressed


@given(trees)
def test_published_cells_keep_their_numbers(tree: Node) -> None:
    for protected, node in walk(protect(tree), tree):
        if not protected.cell.suppressed:
            assert protected.cell.values == node.tally.values


@given(st.integers(min_value=0, max_value=12))
def test_a_plain_cell_is_hidden_exactly_when_it_describes_one_to_four(n: int) -> None:
    shown = cell(Tally((7.0,), frozenset(POOL[:n])))
    assert shown.suppressed is (1 <= n <= 4)
    if shown.suppressed:
        assert (shown.values, shown.learners, shown.hidden) == (None, None, Hidden.FEW)


def test_zero_is_zero() -> None:
    assert cell(Tally.zero()) == cell(Tally((0.0,), frozenset()))
    assert cell(Tally.zero(2)).values == (0, 0)
    assert cell(Tally.zero(2)).learners == 0


def test_five_learners_are_published_and_four_are_not() -> None:
    assert cell(Tally((12.0,), frozenset(POOL[:5]))).values == (12.0,)
    assert cell(Tally((12.0,), frozenset(POOL[:4]))).hidden is Hidden.FEW


def test_overrides_with_one_rare_reason_hide_their_total() -> None:
    # 6 overridden cards: 5 learners gave one reason, 1 learner another. Publishing the total
    # (6) next to the common reason (5) would give away the rare one (1).
    common, rare = leaf(set(POOL[:5])), leaf({POOL[5]})
    protected = protect(total(common, rare))
    assert protected.cell.hidden is Hidden.COMPLEMENT
    assert [p.cell.hidden for p in protected.parts] == [None, Hidden.FEW]


def test_two_hidden_parts_that_together_describe_five_learners_leave_the_total() -> None:
    protected = protect(total(leaf(set(POOL[:6])), leaf(set(POOL[6:9])), leaf(set(POOL[9:11]))))
    assert not protected.cell.suppressed
    assert protected.cell.values == (11.0,)


def test_two_hidden_parts_of_the_same_few_learners_still_hide_the_total() -> None:
    # the two hidden parts describe the same 3 learners: their sum is still about 3 people
    same = set(POOL[6:9])
    protected = protect(total(leaf(set(POOL[:6])), leaf(same), leaf(same)))
    assert protected.cell.hidden is Hidden.COMPLEMENT


def test_a_total_of_totals_does_not_undo_a_hidden_total() -> None:
    # item 1: its overridden total is hidden because one reason is; item 2 is published.
    # All items' total minus item 2 minus item 1's visible reason would give the rare reason.
    item1 = total(leaf(set(POOL[:5])), leaf({POOL[5]}))
    item2 = total(leaf(set(POOL[6:12])))
    protected = protect(total(item1, item2))
    assert protected.parts[0].cell.hidden is Hidden.COMPLEMENT
    assert not protected.parts[1].cell.suppressed
    assert protected.cell.hidden is Hidden.COMPLEMENT
