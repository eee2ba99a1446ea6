"""What people read: summaries that give way in the event part, timers shown by their name."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.scoring.model.explain import _shorten_at_word

words = st.lists(st.text("abcdefghij", min_size=1, max_size=12), min_size=1, max_size=60)


@given(words, st.integers(min_value=10, max_value=200))
def test_a_shortened_summary_fits_and_ends_at_a_word(parts: list[str], room: int) -> None:
    text = " ".join(parts)
    short = _shorten_at_word(text, room)
    assert len(short) <= room
    if short != text:
        assert short.endswith("…")
        kept = short.removesuffix("…")
        assert text.startswith(kept)
        if " " in text[:room]:  # a single word longer than the room can only be cut
            assert text[len(kept)] == " "  # cut at a word boundary


def test_a_reopened_cases_timer_is_shown_by_its_case() -> None:
    from services.scoring.model.promises import Deadline

    assert Deadline("case", "case-7#1795710870873244", 0).shown == "case-7 (reopened)"
    assert Deadline("case", "case-7", 0).shown == "case-7"
    assert Deadline("delivery", "ord-1", 0).shown == "ord-1"
