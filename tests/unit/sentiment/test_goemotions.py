"""The GoEmotions test split (issue 15): frozen data, a complete mapping, a current record."""

from __future__ import annotations

import json

from evaluation.sentiment.goemotions import evaluate
from services.sentiment.cx import EMOTIONS


def test_the_data_is_the_committed_file() -> None:
    assert evaluate.sha256_of(evaluate.DATA) == evaluate.DATA_SHA256


def test_every_label_is_mapped_or_listed_as_unmapped() -> None:
    labels = {label for _, label in evaluate.load()}
    assert len(labels) == 27  # GoEmotions' emotions without neutral
    assert labels == set(evaluate.MAPPING) | evaluate.UNMAPPED
    assert not set(evaluate.MAPPING) & evaluate.UNMAPPED
    assert set(evaluate.MAPPING.values()) <= set(EMOTIONS)
    assert evaluate.EMOTIONS == EMOTIONS
    assert set(evaluate.BEFORE) == set(EMOTIONS)


def test_recorded_numbers_are_what_the_evaluation_computes() -> None:
    recorded = json.loads(evaluate.RESULTS_JSON.read_text(encoding="utf-8"))
    assert evaluate.evaluate() == recorded, (
        "the lexicon or rules changed: re-run "
        "`.venv/bin/python -m evaluation.sentiment.goemotions.evaluate --record`"
    )
