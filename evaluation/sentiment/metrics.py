"""Classification metrics shared by the dev-set and blind-set evaluations."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Final

LABELS: Final = ("negative", "neutral", "positive")


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    if not gold:
        return float("nan")
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Unweighted mean of the per-class F1 over the three labels (absent classes score 0)."""
    scores = []
    for label in LABELS:
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
        denominator = 2 * tp + fp + fn
        scores.append(2 * tp / denominator if denominator else 0.0)
    return sum(scores) / len(scores)


def precision_recall_f1(
    gold: Iterable[frozenset[str]], predicted: Iterable[frozenset[str]], label: str | None = None
) -> tuple[float, float, float, int]:
    """Precision, recall, F1 and support of one label of a multi-label task (micro over all
    labels if ``label`` is None). An undefined ratio (no prediction, no gold) is NaN."""
    tp = fp = fn = 0
    for g, p in zip(gold, predicted, strict=True):
        gs = g if label is None else g & {label}
        ps = p if label is None else p & {label}
        tp += len(gs & ps)
        fp += len(ps - gs)
        fn += len(gs - ps)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    if math.isnan(precision) or math.isnan(recall) or precision + recall == 0:
        f1 = 0.0 if tp + fp and tp + fn else float("nan")
    else:
        f1 = 2 * precision * recall / (precision + recall)
    return precision, recall, f1, tp + fn


def pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.1f}"


def print_and_record(
    argv: Sequence[str] | None,
    description: str,
    evaluate: Callable[[], dict[str, Any]],
    markdown: Callable[[dict[str, Any]], str],
    results: tuple[Path, Path],
) -> int:
    """The ``main`` of an evaluation module: print its tables; with ``--record`` also write
    ``results`` (the JSON of the result, the tables as Markdown)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--record", action="store_true", help="write results.json and .md")
    args = parser.parse_args(argv)
    result = evaluate()
    text = markdown(result)
    print(text, end="")
    if args.record:
        results_json, results_md = results
        results_json.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", "utf-8")
        results_md.write_text(text, "utf-8")
    return 0
