#!/usr/bin/env python3
"""Emotions on a public set this project has never seen: the GoEmotions test split (issue 15).

``test.tsv`` holds the 2,984 GoEmotions test comments (Reddit, CC BY 4.0) that carry exactly
one emotion label, as processed by amazon-science/Glean; ``PREREGISTRATION.md`` gives the
mapping onto Rapport's eleven emotions and the comparison, both fixed before the first run.
Evaluation only: nothing is tuned on it (``tests/unit/sentiment/test_goemotions.py`` checks the
data's checksum and that the record matches a fresh run).

Usage (from the repository root)::

    .venv/bin/python -m evaluation.sentiment.goemotions.evaluate            # print the tables
    .venv/bin/python -m evaluation.sentiment.goemotions.evaluate --record   # + results.json/.md

Each text goes the sentiment service's way: the language check, then the CX annotation of
English text (another language gets no emotion). ``BEFORE`` is the annotator before issue 15
(``a89ee7b``, which had no language check) on the same texts with the same mapping, recorded
once from a worktree of that commit by ``before.py`` (see ``README.md``).
"""

from __future__ import annotations

import csv
import hashlib
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

_REPO_ROOT: Final = Path(__file__).resolve().parents[3]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from evaluation.sentiment.metrics import pct, precision_recall_f1, print_and_record  # noqa: E402

HERE: Final = Path(__file__).resolve().parent
DATA: Final = HERE / "test.tsv"
DATA_SHA256: Final = "203dd7d28bf527d235de75781b41e004d2a21f118b95c284089e0b4d960fc504"
RESULTS_JSON: Final = HERE / "results.json"
RESULTS_MD: Final = HERE / "results.md"

# Rapport's emotions (services.sentiment.cx.EMOTIONS, in its order), spelled out so that the
# module also runs against an older checkout.
EMOTIONS: Final = (
    "joy",
    "satisfaction",
    "gratitude",
    "trust",
    "frustration",
    "anger",
    "disappointment",
    "sadness",
    "anxiety",
    "confusion",
    "surprise",
)
# PREREGISTRATION.md's mapping: GoEmotions label -> Rapport emotion (unlisted labels map to none).
MAPPING: Final = {
    "joy": "joy",
    "amusement": "joy",
    "excitement": "joy",
    "love": "joy",
    "admiration": "satisfaction",
    "approval": "satisfaction",
    "relief": "satisfaction",
    "gratitude": "gratitude",
    "annoyance": "frustration",
    "anger": "anger",
    "disappointment": "disappointment",
    "sadness": "sadness",
    "grief": "sadness",
    "remorse": "sadness",
    "fear": "anxiety",
    "nervousness": "anxiety",
    "confusion": "confusion",
    "surprise": "surprise",
}
UNMAPPED: Final = frozenset(
    {
        "caring",
        "curiosity",
        "desire",
        "disapproval",
        "disgust",
        "embarrassment",
        "optimism",
        "pride",
        "realization",
    }
)

# The annotator of a89ee7b (before issue 15) on these texts, recorded with predict_all from a
# worktree of that commit by before.py (README.md): per emotion, (predicted, true positives).
BEFORE: Final[dict[str, tuple[int, int]]] = {
    "joy": (347, 197),
    "satisfaction": (343, 154),
    "gratitude": (247, 215),
    "trust": (22, 0),
    "frustration": (319, 44),
    "anger": (174, 26),
    "disappointment": (68, 11),
    "sadness": (66, 35),
    "anxiety": (59, 26),
    "confusion": (23, 13),
    "surprise": (86, 30),
}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(path: Path = DATA) -> list[tuple[str, str]]:
    """``(text, GoEmotions label)`` rows of ``test.tsv``."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [(row["text"], row["label"]) for row in rows]


def gold(label: str) -> frozenset[str]:
    """Rapport's emotions for a GoEmotions label (a KeyError for a label the mapping forgot)."""
    if label in UNMAPPED:
        return frozenset()
    return frozenset({MAPPING[label]})


def predict_all(texts: Sequence[str]) -> list[frozenset[str]]:
    """The emotions the service publishes for each text: none for a text the language check
    says is not English (checkouts without the check annotate every text)."""
    # Imported here, not at the top: before.py runs this with another checkout's services.
    from services.sentiment.cx import CxAnnotator

    annotator = CxAnnotator()
    try:
        from services.sentiment.language import ENGLISH, LanguageDetector
    except ImportError:  # pragma: no cover - only an older checkout (a89ee7b)
        return [frozenset(annotator.annotate(text).emotions) for text in texts]
    detector = LanguageDetector()
    return [
        frozenset(annotator.annotate(text).emotions)
        if detector.language_of(text) == ENGLISH
        else frozenset()
        for text in texts
    ]


def scores(golds: Sequence[frozenset[str]], predicted: Sequence[frozenset[str]]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for label in (*EMOTIONS, None):
        precision, recall, f1, support = precision_recall_f1(golds, predicted, label)
        table[label or "micro"] = {
            "support": support,
            "predicted": sum((label in s) if label else len(s) for s in predicted),
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }
    return table


def before_scores(golds: Sequence[frozenset[str]]) -> dict[str, Any]:
    """``scores`` of the recorded a89ee7b predictions (from their counts)."""
    table: dict[str, Any] = {}
    total_predicted = total_tp = total_support = 0
    for label in (*EMOTIONS, None):
        if label is None:
            predicted, tp, support = total_predicted, total_tp, total_support
        else:
            predicted, tp = BEFORE[label]
            support = sum(label in g for g in golds)
            total_predicted += predicted
            total_tp += tp
            total_support += support
        precision = tp / predicted if predicted else float("nan")
        recall = tp / support if support else float("nan")
        # As metrics.precision_recall_f1: 0 if both are defined and no hit, NaN if one is not.
        f1 = 2 * tp / (predicted + support) if predicted and support else float("nan")
        table[label or "micro"] = {
            "support": support,
            "predicted": predicted,
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }
    return table


def counts(golds: Sequence[frozenset[str]], predicted: Sequence[frozenset[str]]) -> dict[str, Any]:
    """Per emotion, (predicted, true positives): what BEFORE records."""
    return {
        label: (
            sum(label in p for p in predicted),
            sum(label in p and label in g for g, p in zip(golds, predicted, strict=True)),
        )
        for label in EMOTIONS
    }


def _rounded(value: Any) -> Any:
    # As the blind set's record (JSON has no NaN: null); not imported from there, because that
    # module imports this checkout's services, which before.py must not.
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def evaluate() -> dict[str, Any]:
    rows = load()
    golds = [gold(label) for _, label in rows]
    now = scores(golds, predict_all([text for text, _ in rows]))
    result: dict[str, Any] = {
        "data_sha256": sha256_of(DATA),
        "texts": len(rows),
        "texts_with_a_mapped_emotion": sum(bool(g) for g in golds),
        "now": _rounded(now),
    }
    if BEFORE:
        result["before_a89ee7b"] = _rounded(before_scores(golds))
    return result


def markdown(result: dict[str, Any]) -> str:
    before = result.get("before_a89ee7b")
    lines = [
        f"### GoEmotions test, single-label: {result['texts']} texts "
        f"({result['texts_with_a_mapped_emotion']} with one of our emotions)",
        "",
        "| emotion | gold | before: predicted | P / R / F1 | now: predicted | P / R / F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, m in result["now"].items():
        b = before[label] if before else None

        def triple(e: dict[str, Any]) -> str:
            return " / ".join(
                pct(float("nan") if e[k] is None else e[k]) for k in ("precision", "recall", "f1")
            )

        name = "**micro**" if label == "micro" else label
        old = f"{b['predicted']} | {triple(b)}" if b else "- | -"
        lines.append(f"| {name} | {m['support']} | {old} | {m['predicted']} | {triple(m)} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    description = (__doc__ or "").split("\n\n")[0]
    return print_and_record(argv, description, evaluate, markdown, (RESULTS_JSON, RESULTS_MD))


if __name__ == "__main__":
    raise SystemExit(main())
