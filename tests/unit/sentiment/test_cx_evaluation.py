"""Regression guard on the dev set: Rapport must stay clearly better than plain VADER.

Deliberately loose bounds (not the current numbers), so lexicon work can move
the scores a little without touching this file, but a change that erases the
CX layer's advantage on the held-out split fails.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

EVALUATE = Path(__file__).resolve().parents[3] / "evaluation/sentiment/devset/evaluate.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cx_devset_evaluate", EVALUATE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


evaluate = _load()
PREDICTIONS = evaluate.predict(evaluate.load(evaluate.DEFAULT_PATH))


def _scores(split: str, phenomenon: str | None = None) -> tuple[float, float, float, float]:
    chosen = [
        p
        for p in PREDICTIONS
        if split in ("all", p.example.split)
        and (phenomenon is None or phenomenon in p.example.phenomena)
    ]
    gold = [p.example.label for p in chosen]
    vader = [p.vader for p in chosen]
    rapport = [p.rapport for p in chosen]
    return (
        evaluate.accuracy(gold, vader),
        evaluate.accuracy(gold, rapport),
        evaluate.macro_f1(gold, vader),
        evaluate.macro_f1(gold, rapport),
    )


def test_splits_are_even_and_odd_ids() -> None:
    assert {p.example.split for p in PREDICTIONS} == {"tune", "heldout"}
    assert all((int(p.example.id[3:]) % 2 == 0) == (p.example.split == "tune") for p in PREDICTIONS)


def test_vader_baseline_is_the_documented_one() -> None:
    vader_acc, _, _, _ = _scores("all")
    assert vader_acc == pytest.approx(0.568, abs=0.002)


@pytest.mark.parametrize("split", ["heldout", "tune", "all"])
def test_rapport_beats_vader_by_a_wide_margin(split: str) -> None:
    vader_acc, rapport_acc, vader_f1, rapport_f1 = _scores(split)
    assert rapport_f1 >= vader_f1 + 0.15
    assert rapport_acc >= vader_acc + 0.15


@pytest.mark.parametrize(
    "phenomenon", ["factual_complaint", "polite_complaint", "negated_problem", "sarcasm"]
)
def test_large_gains_on_the_target_phenomena_held_out(phenomenon: str) -> None:
    vader_acc, rapport_acc, _, _ = _scores("heldout", phenomenon)
    assert rapport_acc >= vader_acc + 0.15


def test_report_and_error_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate.main(["--errors", "3"]) == 0
    out = capsys.readouterr().out
    assert "| held-out (odd ids) | 502 |" in out
    assert "### Per phenomenon" in out
    assert "### Per industry" in out
    assert "### Remaining Rapport errors (held-out (odd ids))" in out
