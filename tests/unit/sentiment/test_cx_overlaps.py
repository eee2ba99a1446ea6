"""The annotator's choice among overlapping spans equals the set-and-sort formulation it
replaced (``_keep_disjoint``: longest first, then by rank, then leftmost; stable)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.sentiment.cx import annotator as cx_annotator

_SPANS = st.lists(
    st.tuples(st.integers(0, 8), st.integers(0, 4), st.integers(-3, 0)), max_size=8
).map(lambda spans: [(start, start + length, rank) for start, length, rank in spans])


def _reference(spans: list[tuple[int, int, int]]) -> list[int]:
    order = sorted(
        range(len(spans)), key=lambda k: (spans[k][0] - spans[k][1], spans[k][2], spans[k][0])
    )
    taken: set[int] = set()
    kept = []
    for k in order:
        tokens = range(spans[k][0], spans[k][1])
        if taken.isdisjoint(tokens):
            taken.update(tokens)
            kept.append(k)
    kept.sort(key=lambda k: spans[k][0])
    return kept


@settings(max_examples=1000)
@given(_SPANS)
def test_keep_disjoint_is_the_set_and_sort_choice(spans: list[tuple[int, int, int]]) -> None:
    starts = [span[0] for span in spans]
    ends = [span[1] for span in spans]
    ranks = [span[2] for span in spans]
    assert cx_annotator._keep_disjoint(starts, ends, ranks) == _reference(spans)
