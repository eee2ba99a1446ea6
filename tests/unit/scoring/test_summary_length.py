"""What people read: summaries that give way in the event part, timers shown by their name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scoring.model import CustomerState, ScoringConfig, SignalKind, apply
from services.scoring.model.explain import _shorten_at_word
from tests.unit.scoring.strategies import CUSTOMER, signal

K = SignalKind

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


def _long_fold(note: str, monkeypatch: pytest.MonkeyPatch, config: ScoringConfig) -> str:
    """An event with four drivers after a pause whose time note is ``note``."""
    from services.scoring.model import explain

    monkeypatch.setattr(explain, "_time_note", lambda *args: note)
    state = apply(CustomerState.empty(CUSTOMER), signal(K.PURCHASE, 0, amount=40.0), config)
    review = signal(
        K.REVIEW,
        90,
        stars=1,
        sentiment=-0.8,
        aspects={"delivery_reliability": -0.9, "customer_service": -0.8, "price_value": -0.7},
    )
    _, explanation = explain.fold(state, review, config)
    return explanation.summary


def test_a_long_summary_names_fewer_drivers_before_it_drops_its_time_note(
    monkeypatch: pytest.MonkeyPatch, config: ScoringConfig
) -> None:
    full = _long_fold("", monkeypatch, config)
    assert " and criticism of" in full  # two drivers named
    assert " more" not in full
    note = " (" + "n" * (200 - len(full) + 20) + ")"  # the note no longer fits beside them
    kept = _long_fold(note, monkeypatch, config)
    assert note in kept, kept
    assert " more" in kept  # fewer drivers named, the rest counted
    assert len(kept) <= 200
    # A note too long even beside one driver goes, and every driver stays named.
    dropped = _long_fold(" (" + "n" * 190 + ")", monkeypatch, config)
    assert dropped == full


def test_without_its_time_note_a_long_summary_names_fewer_drivers_rather_than_cut_one(
    monkeypatch: pytest.MonkeyPatch, config: ScoringConfig
) -> None:
    from services.scoring.model import explain

    full = _long_fold("", monkeypatch, config)
    head = full.split(". Now ", 1)[0]
    # A segment note that leaves 10 characters too few for the whole head (with the low
    # confidence note the summary ends with).
    confidence = len(explain.LOW_CONFIDENCE) if full.endswith(explain.LOW_CONFIDENCE) else 0
    long_tail = ". Now " + "t" * (200 - confidence - (len(head) - 10) - len(". Now "))
    monkeypatch.setattr(explain, "segment_note", lambda *args: long_tail)
    summary = _long_fold(" (" + "n" * 190 + ")", monkeypatch, config)
    assert long_tail in summary, summary
    assert " and 1 more" in summary  # one driver named, the other counted: nothing cut
    assert "…" not in summary
