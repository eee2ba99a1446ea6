"""Recall and false-positive rate of ``services.ingest.pii`` on the evaluation sets.

The thresholds are the numbers measured when the sets were made (docs/pii.md) with a margin:
recall may not drop below 99 % overall nor 98 % for any kind, and no control set may have more
than 2 % of its texts redacted.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest

from evaluation.pii.evaluate import (
    DEVSET_PATH,
    Evaluation,
    evaluate,
    format_report,
    load_jsonl,
)
from evaluation.pii.generate import (
    CONTROL_PATH,
    LABELLED_PATH,
    generate_control,
    generate_labelled,
)
from services.ingest.pii import PiiKind, iban_is_valid, luhn_is_valid

MIN_RECALL = 0.99
MIN_RECALL_PER_KIND = 0.98
MAX_FALSE_POSITIVE_RATE = 0.02  # measured: 0 %
MAX_EXTRA_REDACTIONS = 0.01  # per labelled text; measured: 0


@pytest.fixture(scope="module")
def labelled() -> list[dict[str, Any]]:
    return load_jsonl(LABELLED_PATH)


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    return evaluate()


def test_stored_sets_are_what_the_generator_makes(labelled: list[dict[str, Any]]) -> None:
    assert labelled == generate_labelled()
    assert load_jsonl(CONTROL_PATH) == generate_control()


def test_labelled_set_covers_every_kind(labelled: list[dict[str, Any]]) -> None:
    assert len(labelled) >= 300
    kinds = [span["kind"] for row in labelled for span in row["spans"]]
    for kind in PiiKind:
        assert kinds.count(kind.value) >= 100, kind


def test_labelled_items_are_valid(labelled: list[dict[str, Any]]) -> None:
    for row in labelled:
        for span in row["spans"]:
            value = span["value"]
            assert row["text"][span["start"] : span["end"]] == value
            if span["kind"] == "card":
                assert luhn_is_valid(re.sub(r"[ -]", "", value)), value
            elif span["kind"] == "iban":
                assert iban_is_valid(value), value
            elif span["kind"] == "ip":
                ipaddress.ip_address(value)


def test_control_sets_are_large_enough() -> None:
    assert len(load_jsonl(CONTROL_PATH)) >= 300
    assert DEVSET_PATH.exists()
    assert len(load_jsonl(DEVSET_PATH)) >= 1000


def test_recall(evaluation: Evaluation) -> None:
    report = format_report(evaluation, show_misses=True)
    assert evaluation.recall() >= MIN_RECALL, report
    for kind in PiiKind:
        assert evaluation.recall(kind.value) >= MIN_RECALL_PER_KIND, report


def test_little_is_redacted_beside_the_labelled_items(evaluation: Evaluation) -> None:
    assert evaluation.extra_spans <= MAX_EXTRA_REDACTIONS * evaluation.labelled_texts


@pytest.mark.parametrize("name", ["generated", "devset"])
def test_false_positive_rate(evaluation: Evaluation, name: str) -> None:
    control = evaluation.control(name)
    assert control.rate <= MAX_FALSE_POSITIVE_RATE, format_report(evaluation, show_misses=True)


def test_the_look_alike_set_holds_its_measured_figures(evaluation: Evaluation) -> None:
    """Written by a helper who had not seen the detector, adversarial by design. Its figures
    when first run after tuning (docs/pii.md), as bounds: 7 of 200 texts without personal data
    redacted (four dotted version numbers read as IPv4, three shipping or loyalty numbers read
    as phone numbers; all from before the rules it was used to tune), 98 of 100 with it."""
    report = format_report(evaluation, show_misses=True)
    assert evaluation.control("lookalikes").texts == 200
    assert evaluation.control("lookalikes").flagged <= 7, report
    assert evaluation.lookalike_pii_found >= 98, report
