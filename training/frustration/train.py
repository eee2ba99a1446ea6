#!/usr/bin/env python3
"""Train the annotator's frustration component (issue 15), as ``PREREGISTRATION.md`` fixes it.

Usage (from the repository root)::

    .venv/bin/python -m training.frustration.train            # choose, train, print
    .venv/bin/python -m training.frustration.train --write    # + the weights file, selection.json

The training data ships beside this file (GoEmotions train and dev, CC BY 4.0) and in
``evaluation/sentiment/emotionset`` (the second set, CC0). Features are the annotator's token
keys and its (the rules') reading of the text. Deterministic: ``liblinear`` with a
fixed seed; ``tests/unit/sentiment/test_frustration_model.py`` retrains and compares.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import yaml
from scipy import sparse
from sklearn.linear_model import LogisticRegression

_REPO_ROOT: Final = Path(__file__).resolve().parents[2]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from services.sentiment.cx import CxAnnotator  # noqa: E402
from training.frustration.component import FACTS, facts_of  # noqa: E402

HERE: Final = Path(__file__).resolve().parent
GOEMOTIONS: Final = HERE / "goemotions"
SECOND_SET: Final = tuple(
    _REPO_ROOT / "evaluation" / "sentiment" / "emotionset" / part
    for part in ("part-a.jsonl", "part-b.jsonl")
)
EVALUATION_TEST: Final = _REPO_ROOT / "evaluation" / "sentiment" / "goemotions" / "test.tsv"
# Not in the lexicon directory: the component did not pass its pre-registered evaluation
# (results.md), so the annotator does not load it; evaluate.py applies it (component.py).
WEIGHTS_FILE: Final = HERE / "frustration_model.yaml"
SELECTION_FILE: Final = HERE / "selection.json"

# PREREGISTRATION.md, "Model" and "Choices".
MIN_TEXTS: Final = 5
GRID_C: Final = (0.1, 0.3, 1.0)
GRID_WEIGHT: Final = (1.0, 10.0, 30.0)
THRESHOLDS: Final = tuple(round(0.15 + 0.05 * i, 2) for i in range(12))
FOLDS: Final = 5
SEED: Final = 0
DECIMALS: Final = 4


@dataclass(frozen=True, slots=True)
class Reading:
    """A text as the component sees it: its token keys and the rules' four facts."""

    keys: tuple[str, ...]
    facts: tuple[float, float, float, float]  # FACTS' order


def read(annotator: CxAnnotator, text: str) -> Reading:
    return Reading(tuple(annotator.token_keys(text)), facts_of(annotator.annotate(text)))


def goemotions(name: str) -> list[tuple[str, set[str]]]:
    labels = (GOEMOTIONS / "labels.txt").read_text(encoding="utf-8").split()
    rows = []
    for line in (GOEMOTIONS / name).read_text(encoding="utf-8").splitlines():
        text, ids, _ = line.split("\t")
        rows.append((text, {labels[int(i)] for i in ids.split(",")}))
    return rows


def second_set() -> list[tuple[str, bool]]:
    rows = []
    for path in SECOND_SET:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if (row.get("language") or "en") == "en":
                    rows.append((row["text"], "frustration" in (row.get("emotions") or ())))
    return rows


def evaluation_texts() -> set[str]:
    lines = EVALUATION_TEST.read_text(encoding="utf-8").splitlines()[1:]
    return {line.split("\t")[0] for line in lines if line}


def matrix(readings: Sequence[Reading], vocabulary: dict[str, int]) -> sparse.csr_matrix:
    rows, cols, values = [], [], []
    width = len(vocabulary)
    for i, reading in enumerate(readings):
        for key, count in Counter(reading.keys).items():
            column = vocabulary.get(key)
            if column is not None:
                rows.append(i)
                cols.append(column)
                values.append(float(count))
        for j, value in enumerate(reading.facts):
            if value:
                rows.append(i)
                cols.append(width + j)
                values.append(value)
    shape = (len(readings), width + len(FACTS))
    return sparse.csr_matrix((values, (rows, cols)), shape=shape)


def fit(x: sparse.csr_matrix, y: np.ndarray, weights: np.ndarray, c: float) -> LogisticRegression:
    model = LogisticRegression(C=c, solver="liblinear", random_state=SEED, max_iter=1000)
    model.fit(x, y, sample_weight=weights)
    return model


def f1_at(y: np.ndarray, probabilities: np.ndarray, threshold: float) -> float:
    predicted = probabilities >= threshold
    true_positives = float(np.sum(predicted & (y == 1)))
    if true_positives == 0:
        return 0.0
    precision = true_positives / float(np.sum(predicted))
    recall = true_positives / float(np.sum(y == 1))
    return 2 * precision * recall / (precision + recall)


Rows = list[tuple[str, bool]]


def _rows() -> tuple[Rows, Rows, Rows]:
    """GoEmotions train (minus the evaluation's texts), the second set, GoEmotions dev (texts
    with exactly one label other than neutral): (text, frustrated) pairs."""
    held_out = evaluation_texts()
    train_rows = [(t, "annoyance" in ls) for t, ls in goemotions("train.tsv") if t not in held_out]
    dev_rows = [
        (t, "annoyance" in ls)
        for t, ls in goemotions("dev.tsv")
        if len(ls) == 1 and "neutral" not in ls
    ]
    return train_rows, second_set(), dev_rows


def _readings(*groups: Rows) -> list[list[Reading]]:
    annotator = CxAnnotator()
    return [[read(annotator, text) for text, _ in rows] for rows in groups]


def train(*, verbose: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """The weights document and the selection record (PREREGISTRATION.md, "Choices")."""
    train_rows, customer_rows, dev_rows = _rows()
    ge_readings, cx_readings, dev_readings = _readings(train_rows, customer_rows, dev_rows)
    texts_with: Counter[str] = Counter()
    for reading in (*ge_readings, *cx_readings):
        texts_with.update(set(reading.keys))
    vocabulary = {
        key: i for i, key in enumerate(sorted(k for k, n in texts_with.items() if n >= MIN_TEXTS))
    }
    x_ge = matrix(ge_readings, vocabulary)
    x_cx = matrix(cx_readings, vocabulary)
    x_dev = matrix(dev_readings, vocabulary)
    y_ge = np.array([int(label) for _, label in train_rows])
    y_cx = np.array([int(label) for _, label in customer_rows])
    y_dev = np.array([int(label) for _, label in dev_rows])
    folds = np.arange(len(customer_rows)) % FOLDS
    grid = []
    for c in GRID_C:
        for weight in GRID_WEIGHT:
            held = np.zeros(len(customer_rows))
            for fold in range(FOLDS):
                keep = folds != fold
                x = sparse.vstack([x_ge, x_cx[keep]]).tocsr()
                y = np.concatenate([y_ge, y_cx[keep]])
                w = np.concatenate([np.ones(len(y_ge)), np.full(int(keep.sum()), weight)])
                held[~keep] = fit(x, y, w, c).predict_proba(x_cx[~keep])[:, 1]
            x = sparse.vstack([x_ge, x_cx]).tocsr()
            y = np.concatenate([y_ge, y_cx])
            w = np.concatenate([np.ones(len(y_ge)), np.full(len(y_cx), weight)])
            dev = fit(x, y, w, c).predict_proba(x_dev)[:, 1]
            for threshold in THRESHOLDS:
                cv_f1 = f1_at(y_cx, held, threshold)
                dev_f1 = f1_at(y_dev, dev, threshold)
                grid.append(
                    {
                        "C": c,
                        "weight": weight,
                        "threshold": threshold,
                        "second_set_cv_f1": round(cv_f1, 4),
                        "goemotions_dev_f1": round(dev_f1, 4),
                        "score": round((cv_f1 + dev_f1) / 2, 4),
                    }
                )
            if verbose:
                best_here = max(
                    (g for g in grid if g["C"] == c and g["weight"] == weight),
                    key=lambda g: g["score"],
                )
                print(f"C={c} weight={weight}: best {best_here}", flush=True)
    # The highest score; ties to the smaller C, the smaller weight, the higher threshold.
    chosen = max(grid, key=lambda g: (g["score"], -g["C"], -g["weight"], g["threshold"]))
    x = sparse.vstack([x_ge, x_cx]).tocsr()
    y = np.concatenate([y_ge, y_cx])
    w = np.concatenate([np.ones(len(y_ge)), np.full(len(y_cx), chosen["weight"])])
    final = fit(x, y, w, chosen["C"])
    coefficients = final.coef_[0]
    keys = sorted(vocabulary, key=vocabulary.__getitem__)
    weights = {}
    for key, value in zip(keys, coefficients[: len(keys)], strict=True):
        rounded = round(float(value), DECIMALS)
        if rounded != 0:
            weights[key] = rounded
    width = len(keys)
    document = {
        "family": "frustration_model",
        "description": (
            "Trained frustration component (issue 15): logistic regression on token keys and "
            "the rules' reading. Generated by training/frustration/train.py; do not edit."
        ),
        "bias": round(float(final.intercept_[0]), DECIMALS),
        "threshold": chosen["threshold"],
        "facts": {
            name: round(float(coefficients[width + j]), DECIMALS) for j, name in enumerate(FACTS)
        },
        "weights": weights,
    }
    selection = {
        "training_texts": {
            "goemotions_train": len(train_rows),
            "goemotions_train_annoyance": int(y_ge.sum()),
            "second_set": len(customer_rows),
            "second_set_frustration": int(y_cx.sum()),
            "goemotions_dev_single_label": len(dev_rows),
            "vocabulary": len(vocabulary),
            "nonzero_weights": len(weights),
        },
        "chosen": chosen,
        "grid": grid,
    }
    return document, selection


def dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the weights and selection")
    args = parser.parse_args(argv)
    document, selection = train()
    print(json.dumps({"chosen": selection["chosen"], **selection["training_texts"]}, indent=2))
    if args.write:
        WEIGHTS_FILE.write_text(dump(document), encoding="utf-8")
        SELECTION_FILE.write_text(json.dumps(selection, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_FILE.relative_to(_REPO_ROOT)} and {SELECTION_FILE.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
