#!/usr/bin/env python3
"""Evaluate plain VADER and Rapport's CX annotator on the customer-text dev set.

Usage (from the repository root)::

    .venv/bin/python evaluation/sentiment/devset/evaluate.py [--errors N]
        [--errors-split heldout|unseen|tune|all] [--path customer_texts.jsonl]

Prints Markdown tables: 3-class accuracy and macro-F1 of

* **VADER**: ``vaderSentiment``'s ``polarity_scores(text)["compound"]`` with the
  standard thresholds (>= 0.05 positive, <= -0.05 negative, else neutral);
* **Rapport**: ``CxAnnotator().annotate(text).label`` (same thresholds on the
  CX-adjusted compound);

on the **tuning split** (even ids, the texts the CX lexicon was developed
against), the **held-out split** (odd ids, not looked at while writing the
lexicon), the held-out texts that were never seen at all (held-out minus the
texts quoted in the dev-set README and cx-0001..cx-0014) and all texts, then
per phenomenon tag and per industry.
``--errors N`` lists N remaining Rapport errors with the rules that fired.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# Run as a file: put the repository root on sys.path so ``services`` imports.
_REPO_ROOT: Final = Path(__file__).resolve().parents[3]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from evaluation.sentiment.metrics import LABELS, accuracy, macro_f1  # noqa: E402
from evaluation.sentiment.metrics import pct as _pct  # noqa: E402
from services.sentiment.cx import CxAnnotator, TextAnnotation, label_for  # noqa: E402

DEFAULT_PATH: Final = Path(__file__).with_name("customer_texts.jsonl")
PHENOMENA: Final = (
    "factual_complaint",
    "polite_complaint",
    "negated_problem",
    "sarcasm",
    "noise",
    "mixed",
    "question",
    "short",
)
INDUSTRIES: Final = ("airline", "retail", "telecom", "banking", "software", "food_delivery")
SPLITS: Final = ("tune", "heldout", "unseen", "all")
SPLIT_NAMES: Final = {
    "tune": "tuning (even ids)",
    "heldout": "held-out (odd ids)",
    "unseen": "held-out, never seen (see below)",
    "all": "all",
}
README: Final = Path(__file__).with_name("README.md")
# Held-out texts that were seen while the CX lexicon was written: the ones the
# dev-set README quotes as examples, and cx-0001..cx-0014, which were on screen
# while the file format was inspected. "unseen" is the held-out split without
# them: the cleanest estimate of performance on new text.
SEEN_IDS_UP_TO: Final = 14


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    text: str
    label: str
    industry: str
    channel: str
    phenomena: tuple[str, ...]

    @property
    def number(self) -> int:
        return int(self.id.split("-")[1])

    @property
    def split(self) -> str:
        return "tune" if self.number % 2 == 0 else "heldout"


@dataclass(frozen=True, slots=True)
class Prediction:
    example: Example
    vader: str
    rapport: str
    annotation: TextAnnotation


def load(path: Path) -> list[Example]:
    examples = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                examples.append(
                    Example(
                        row["id"],
                        row["text"],
                        row["label"],
                        row["industry"],
                        row["channel"],
                        tuple(row["phenomena"]),
                    )
                )
    return examples


def predict(examples: Iterable[Example]) -> list[Prediction]:
    vader = SentimentIntensityAnalyzer()
    annotator = CxAnnotator()
    predictions = []
    for example in examples:
        annotation = annotator.annotate(example.text)
        predictions.append(
            Prediction(
                example,
                label_for(vader.polarity_scores(example.text)["compound"]),
                annotation.label,
                annotation,
            )
        )
    return predictions


def _select(predictions: Sequence[Prediction], split: str) -> list[Prediction]:
    if split == "unseen":
        quoted = README.read_text(encoding="utf-8") if README.exists() else ""
        return [
            p
            for p in predictions
            if p.example.split == "heldout"
            and p.example.number > SEEN_IDS_UP_TO
            and p.example.text not in quoted
        ]
    return [p for p in predictions if split in ("all", p.example.split)]


def _scores(
    predictions: Sequence[Prediction], metric: Callable[[Sequence[str], Sequence[str]], float]
) -> tuple[float, float]:
    gold = [p.example.label for p in predictions]
    return (
        metric(gold, [p.vader for p in predictions]),
        metric(gold, [p.rapport for p in predictions]),
    )


def split_table(predictions: Sequence[Prediction]) -> list[str]:
    lines = [
        "| split | texts | VADER acc | Rapport acc | VADER macro-F1 | Rapport macro-F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for split in SPLITS:
        chosen = _select(predictions, split)
        va, ra = _scores(chosen, accuracy)
        vf, rf = _scores(chosen, macro_f1)
        lines.append(
            f"| {SPLIT_NAMES[split]} | {len(chosen)} | {_pct(va)} | {_pct(ra)} "
            f"| {_pct(vf)} | {_pct(rf)} |"
        )
    return lines


def group_table(
    predictions: Sequence[Prediction],
    title: str,
    groups: Sequence[str],
    member: Callable[[Example, str], bool],
    with_f1: bool,
) -> list[str]:
    header = f"| {title} |"
    rule = "|---|"
    for split in ("heldout", "all"):
        name = "held-out" if split == "heldout" else "all"
        header += f" {name} n | {name} VADER acc | {name} Rapport acc |"
        rule += "---:|---:|---:|"
        if with_f1:
            header += f" {name} VADER F1 | {name} Rapport F1 |"
            rule += "---:|---:|"
    lines = [header, rule]
    for group in groups:
        row = f"| `{group}` |"
        for split in ("heldout", "all"):
            chosen = [p for p in _select(predictions, split) if member(p.example, group)]
            va, ra = _scores(chosen, accuracy)
            row += f" {len(chosen)} | {_pct(va)} | {_pct(ra)} |"
            if with_f1:
                vf, rf = _scores(chosen, macro_f1)
                row += f" {_pct(vf)} | {_pct(rf)} |"
        lines.append(row)
    return lines


def confusion_table(predictions: Sequence[Prediction]) -> list[str]:
    lines = ["| gold \\ Rapport | " + " | ".join(LABELS) + " |", "|---|---:|---:|---:|"]
    for gold in LABELS:
        counts = [
            sum(p.example.label == gold and p.rapport == label for p in predictions)
            for label in LABELS
        ]
        lines.append(f"| {gold} | " + " | ".join(map(str, counts)) + " |")
    return lines


def error_lines(predictions: Sequence[Prediction], limit: int) -> list[str]:
    lines = []
    errors = [p for p in predictions if p.rapport != p.example.label]
    for p in errors[:limit]:
        a = p.annotation
        rules = ", ".join(
            f"{adj.rule}:{adj.pattern}({adj.contribution:+.2f})"
            for adj in a.adjustments
            if adj.contribution
        )
        lines.append(
            f"- {p.example.id} gold={p.example.label} rapport={p.rapport} "
            f"(compound {a.compound:+.3f}, VADER {a.vader.compound:+.3f}) "
            f"[{', '.join(p.example.phenomena)}] {p.example.text!r}"
            + (f"\n    rules: {rules}" if rules else "")
        )
    lines.append(f"({len(errors)} errors in this split, {min(limit, len(errors))} shown)")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--errors", type=int, default=0, metavar="N", help="list N errors")
    parser.add_argument("--errors-split", choices=SPLITS, default="heldout")
    args = parser.parse_args(argv)

    predictions = predict(load(args.path))
    out = [
        "### Overall",
        "",
        *split_table(predictions),
        "",
        "### Per phenomenon (accuracy; a text can have several tags)",
        "",
        *group_table(
            predictions,
            "phenomenon",
            PHENOMENA,
            lambda e, g: g in e.phenomena,
            with_f1=False,
        ),
        "",
        "### Per industry",
        "",
        *group_table(
            predictions, "industry", INDUSTRIES, lambda e, g: e.industry == g, with_f1=True
        ),
        "",
        "### Rapport confusion matrix, held-out split",
        "",
        *confusion_table(_select(predictions, "heldout")),
    ]
    if args.errors:
        out += [
            "",
            f"### Remaining Rapport errors ({SPLIT_NAMES[args.errors_split]})",
            "",
            *error_lines(_select(predictions, args.errors_split), args.errors),
        ]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
