"""The emotion sets (issue 15): frozen texts, and their recorded evaluation is the current one."""

from __future__ import annotations

import json

from evaluation.sentiment.blindset import evaluate as blind
from evaluation.sentiment.emotionset import evaluate
from services.sentiment.cx import EMOTIONS


def test_files_match_their_checksums() -> None:
    lines = evaluate.CHECKSUMS.read_text(encoding="utf-8").splitlines()
    recorded = {name: digest for digest, name in (line.split() for line in lines if line)}
    assert sorted(recorded) == sorted(evaluate.PARTS)
    for part, digest in recorded.items():
        assert blind.sha256_of(evaluate.HERE / part) == digest, part


def test_recorded_numbers_are_what_the_evaluation_computes() -> None:
    recorded = json.loads(evaluate.RESULTS_JSON.read_text(encoding="utf-8"))
    assert evaluate.evaluate() == recorded, (
        "the lexicon or rules changed: re-run "
        "`.venv/bin/python -m evaluation.sentiment.emotionset.evaluate --record`"
    )


def test_the_set_is_well_formed() -> None:
    examples = evaluate.load()
    assert len(examples) == 1280
    assert len({e.id for e in examples}) == len(examples)
    assert all(e.emotions <= set(EMOTIONS) for e in examples)
    assert {e.language for e in examples} == {"en"}
