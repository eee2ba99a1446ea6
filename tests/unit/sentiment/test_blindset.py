"""The blind test set is frozen, and its recorded evaluation is the current one (issue 15).

* The texts and labels are byte for byte what their authors wrote: ``SHA256SUMS`` pins them.
* ``results.json`` was recorded with today's lexicon and rules: a change to either without
  re-running ``python -m evaluation.sentiment.blindset.evaluate --record`` fails here, so every
  change is measured on text its author never saw before it lands.
* The recorded numbers are what the evaluation computes now (nothing edited by hand).
"""

from __future__ import annotations

import json

import pytest

from evaluation.sentiment.blindset import evaluate
from services.sentiment.cx import EMOTIONS, CxAnnotator

pytestmark = pytest.mark.skipif(
    not evaluate.RESULTS_JSON.exists(), reason="the blind set has not been recorded yet"
)


def _recorded() -> dict[str, object]:
    result: dict[str, object] = json.loads(evaluate.RESULTS_JSON.read_text(encoding="utf-8"))
    return result


def test_blind_set_files_match_their_checksums() -> None:
    recorded = evaluate.recorded_checksums()
    assert sorted(recorded) == sorted(evaluate.PARTS)
    for part in evaluate.PARTS:
        assert evaluate.sha256_of(evaluate.HERE / part) == recorded[part], part
    assert _recorded()["data_sha256"] == recorded


def test_lexicon_and_rules_unchanged_since_the_recorded_evaluation() -> None:
    result = _recorded()
    message = (
        "the lexicon or the rules changed after the last recorded blind-set evaluation: run "
        "`.venv/bin/python -m evaluation.sentiment.blindset.evaluate --record` and commit "
        "results.json and results.md with the change"
    )
    assert result["rules_fingerprint"] == evaluate.rules_fingerprint(), message
    assert result["model_version"] == CxAnnotator().model_version, message


def test_recorded_numbers_are_what_the_evaluation_computes() -> None:
    assert evaluate.evaluate()["metrics"] == _recorded()["metrics"]


def test_the_set_is_big_enough_and_well_formed() -> None:
    examples = evaluate.load()
    assert len(examples) >= 1500
    assert len({e.id for e in examples}) == len(examples)
    assert {e.label for e in examples} == {"negative", "neutral", "positive"}
    assert all(e.emotions <= set(EMOTIONS) for e in examples)
