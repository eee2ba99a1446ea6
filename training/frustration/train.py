#!/usr/bin/env python3
"""Train the annotator's frustration component (issue 15), as ``PREREGISTRATION.md`` fixes it.

Usage (from the repository root)::

    .venv/bin/python -m training.frustration.train attempt-1           # choose, train, print
    .venv/bin/python -m training.frustration.train attempt-1 --write   # + weights, selection

The training data ships beside this file (GoEmotions train and dev, CC BY 4.0; the customer
texts written for the second attempt, CC0) and in ``evaluation/sentiment/emotionset`` (the
second set, CC0). ``PREREGISTRATION.md`` and ``PREREGISTRATION-2.md`` fix each attempt.
Features are the annotator's token keys and its (the rules') reading of the text.
Deterministic: ``liblinear`` with a fixed seed; ``tests/unit/sentiment/
test_frustration_component.py`` retrains and compares.
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

from evaluation.sentiment.goemotions import evaluate as goemotions_test  # noqa: E402
from services.sentiment.cx import CxAnnotator  # noqa: E402
from training.frustration.attempts import ATTEMPTS, Attempt  # noqa: E402
from training.frustration.component import FACTS, facts_of  # noqa: E402

HERE: Final = Path(__file__).resolve().parent
GOEMOTIONS: Final = HERE / "goemotions"

MIN_TEXTS: Final = 5
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


Rows = list[tuple[str, bool]]


def customer_rows(paths: Sequence[Path]) -> Rows:
    """(text, frustrated) of the English texts of customer JSON Lines files."""
    rows = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if (row.get("language") or "en") == "en":
                    rows.append((row["text"], "frustration" in (row.get("emotions") or ())))
    return rows


def evaluation_texts() -> set[str]:
    """The GoEmotions test texts, as the evaluation reads them (a TSV with quoting)."""
    return {text for text, _ in goemotions_test.load()}


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


@dataclass(frozen=True, slots=True)
class Part:
    """A block of training data: its features and labels."""

    x: sparse.csr_matrix
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def rows(self, keep: np.ndarray) -> Part:
        return Part(self.x[keep], self.y[keep])


def stack(parts: Sequence[tuple[Part, float]]) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Features, labels and sample weights of weighted parts (a weight of 0 leaves one out)."""
    kept = [(part, weight) for part, weight in parts if weight > 0 and len(part)]
    x = sparse.vstack([part.x for part, _ in kept]).tocsr()
    y = np.concatenate([part.y for part, _ in kept])
    w = np.concatenate([np.full(len(part), weight) for part, weight in kept])
    return x, y, w


def _parts(attempt: Attempt) -> tuple[dict[str, int], Part, Part, Part, Part]:
    """The vocabulary and the four blocks: GoEmotions train (minus the evaluation's texts), the
    cross-validated customer texts, the other customer texts, GoEmotions dev (comments with
    exactly one label other than neutral)."""
    held_out = evaluation_texts()
    groups = [
        [(t, "annoyance" in ls) for t, ls in goemotions("train.tsv") if t not in held_out],
        customer_rows(attempt.cv_files),
        customer_rows(attempt.extra_files),
        [
            (t, "annoyance" in ls)
            for t, ls in goemotions("dev.tsv")
            if len(ls) == 1 and "neutral" not in ls
        ],
    ]
    annotator = CxAnnotator()
    readings = [[read(annotator, text) for text, _ in rows] for rows in groups]
    texts_with: Counter[str] = Counter()
    for reading in (*readings[0], *readings[1], *readings[2]):
        texts_with.update(set(reading.keys))
    vocabulary = {
        key: i for i, key in enumerate(sorted(k for k, n in texts_with.items() if n >= MIN_TEXTS))
    }
    ge, cv, extra, dev = (
        Part(matrix(r, vocabulary), np.array([int(label) for _, label in rows], dtype=int))
        for r, rows in zip(readings, groups, strict=True)
    )
    return vocabulary, ge, cv, extra, dev


def _entry(  # noqa: PLR0917 - one grid point's values, private
    attempt: Attempt, c: float, weight: float, extra: float, threshold: float, cv: float, dev: float
) -> dict[str, Any]:
    entry: dict[str, Any] = {"C": c, "weight": weight}
    if attempt.extra_files:
        entry[f"{attempt.extra_name}_weight"] = extra
    entry |= {
        "threshold": threshold,
        f"{attempt.cv_name}_cv_f1": round(cv, 4),
        "goemotions_dev_f1": round(dev, 4),
        "score": round((cv + dev) / 2, 4),
    }
    return entry


def train(attempt: Attempt, *, verbose: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """The weights document and the selection record (the attempt's pre-registration)."""
    vocabulary, ge, cv, extra, dev = _parts(attempt)
    folds = np.arange(len(cv)) % FOLDS
    grid = []
    for c in attempt.grid_c:
        for weight in attempt.cv_weights:
            for extra_weight in attempt.extra_weights:
                held = np.zeros(len(cv))
                for fold in range(FOLDS):
                    keep = folds != fold
                    x, y, w = stack([(ge, 1.0), (cv.rows(keep), weight), (extra, extra_weight)])
                    held[~keep] = fit(x, y, w, c).predict_proba(cv.x[~keep])[:, 1]
                x, y, w = stack([(ge, 1.0), (cv, weight), (extra, extra_weight)])
                on_dev = fit(x, y, w, c).predict_proba(dev.x)[:, 1]
                here = [
                    _entry(
                        attempt,
                        c,
                        weight,
                        extra_weight,
                        threshold,
                        f1_at(cv.y, held, threshold),
                        f1_at(dev.y, on_dev, threshold),
                    )
                    for threshold in THRESHOLDS
                ]
                grid += here
                if verbose:
                    print(f"best of {max(here, key=lambda g: g['score'])}", flush=True)
    # The highest score; ties to the smaller C, the smaller weights, the higher threshold.
    extra_key = f"{attempt.extra_name}_weight"
    chosen = max(
        grid,
        key=lambda g: (
            g["score"],
            -g["C"],
            -g["weight"],
            -g.get(extra_key, 0.0),
            g["threshold"],
        ),
    )
    x, y, w = stack([(ge, 1.0), (cv, chosen["weight"]), (extra, chosen.get(extra_key, 0.0))])
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
    texts: dict[str, int] = {
        "goemotions_train": len(ge),
        "goemotions_train_annoyance": int(ge.y.sum()),
        attempt.cv_name: len(cv),
        f"{attempt.cv_name}_frustration": int(cv.y.sum()),
    }
    if attempt.extra_files:
        texts |= {
            attempt.extra_name: len(extra),
            f"{attempt.extra_name}_frustration": int(extra.y.sum()),
        }
    texts |= {
        "goemotions_dev_single_label": len(dev),
        "vocabulary": len(vocabulary),
        "nonzero_weights": len(weights),
    }
    selection = {"training_texts": texts, "chosen": chosen, "grid": grid}
    return document, selection


def dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("attempt", choices=sorted(ATTEMPTS), help="which pre-registered component")
    parser.add_argument("--write", action="store_true", help="write the weights and selection")
    args = parser.parse_args(argv)
    attempt = ATTEMPTS[args.attempt]
    document, selection = train(attempt)
    print(json.dumps({"chosen": selection["chosen"], **selection["training_texts"]}, indent=2))
    if args.write:
        attempt.directory.mkdir(exist_ok=True)
        attempt.weights_file.write_text(dump(document), encoding="utf-8")
        attempt.selection_file.write_text(json.dumps(selection, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {attempt.directory.relative_to(_REPO_ROOT)}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
