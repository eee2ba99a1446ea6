"""Scores ``services.ingest.pii`` on the evaluation sets: recall per kind, false positives.

* Recall, on ``labelled.jsonl``: an item is found when one placeholder of its kind replaces all
  of it (the redacted region may be larger, never smaller).
* Over-redaction, on the same texts: redacted regions that overlap no labelled item.
* False positives, on texts without personal data: ``control.jsonl`` (generated look-alikes) and
  the sentiment dev set (``evaluation/sentiment/devset/customer_texts.jsonl``, 1,003 customer
  texts written by another author): the share of texts in which anything was redacted.
* Look-alikes, on ``lookalikes.jsonl``: 300 customer messages written by a helper who had not
  seen the detector, 200 without personal data but full of numbers a detector could misread
  (references beside phone words, dotted versions, codes after country-like letters) and 100
  with phone numbers whose phone word comes after them, dotted card numbers and IBANs with a
  space after the country code. Text level: redacted or not. It was used once, to tune the
  rule for a phone word after a number (docs/pii.md, "Evaluation").

Run from the repository root::

    .venv/bin/python -m evaluation.pii.evaluate
    .venv/bin/python -m evaluation.pii.evaluate --show-misses
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.pii.generate import CONTROL_PATH, LABELLED_PATH
from services.ingest.pii import PiiKind, detect

DEVSET_PATH = Path(__file__).resolve().parents[1] / "sentiment" / "devset" / "customer_texts.jsonl"
LOOKALIKES_PATH = Path(__file__).with_name("lookalikes.jsonl")


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@dataclass(frozen=True)
class Miss:
    kind: str
    value: str
    text: str
    redacted_as: tuple[tuple[str, str], ...]  # (kind, redacted text) of overlapping spans


@dataclass(frozen=True)
class ControlResult:
    name: str
    texts: int
    flagged: int  # texts in which anything was redacted
    flagged_by_kind: Counter[str] = field(default_factory=Counter)
    examples: tuple[str, ...] = ()

    @property
    def rate(self) -> float:
        return self.flagged / self.texts if self.texts else 0.0


@dataclass(frozen=True)
class Evaluation:
    found: Counter[str]
    total: Counter[str]
    labelled_texts: int
    extra_spans: int  # redactions in labelled texts that overlap no labelled item
    misses: tuple[Miss, ...]
    controls: tuple[ControlResult, ...]
    lookalike_pii_texts: int = 0
    lookalike_pii_found: int = 0  # of those, texts in which something was redacted

    def recall(self, kind: str | None = None) -> float:
        if kind is None:
            return sum(self.found.values()) / max(1, sum(self.total.values()))
        return self.found[kind] / max(1, self.total[kind])

    def control(self, name: str) -> ControlResult:
        return next(c for c in self.controls if c.name == name)


def score_labelled(
    rows: Sequence[dict[str, Any]],
) -> tuple[Counter[str], Counter[str], int, list[Miss]]:
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    extra = 0
    misses: list[Miss] = []
    for row in rows:
        text = row["text"]
        spans = detect(text)
        labels = row["spans"]
        for label in labels:
            kind, start, end = label["kind"], label["start"], label["end"]
            total[kind] += 1
            if any(s.kind == kind and s.start <= start and end <= s.end for s in spans):
                found[kind] += 1
            else:
                overlapping = tuple(
                    (s.kind.value, text[s.start : s.end])
                    for s in spans
                    if s.start < end and start < s.end
                )
                misses.append(Miss(kind, label["value"], text, overlapping))
        extra += sum(
            1
            for s in spans
            if not any(s.start < label["end"] and label["start"] < s.end for label in labels)
        )
    return found, total, extra, misses


def score_control(name: str, texts: Sequence[str]) -> ControlResult:
    flagged = 0
    by_kind: Counter[str] = Counter()
    examples: list[str] = []
    for text in texts:
        spans = detect(text)
        if spans:
            flagged += 1
            by_kind.update({span.kind.value for span in spans})
            examples.append(text)
    return ControlResult(name, len(texts), flagged, by_kind, tuple(examples))


def evaluate() -> Evaluation:
    labelled = load_jsonl(LABELLED_PATH)
    found, total, extra, misses = score_labelled(labelled)
    controls = [score_control("generated", [row["text"] for row in load_jsonl(CONTROL_PATH)])]
    if DEVSET_PATH.exists():
        controls.append(score_control("devset", [row["text"] for row in load_jsonl(DEVSET_PATH)]))
    lookalikes = load_jsonl(LOOKALIKES_PATH)
    controls.append(score_control("lookalikes", [r["text"] for r in lookalikes if not r["pii"]]))
    with_pii = [row["text"] for row in lookalikes if row["pii"]]
    return Evaluation(
        found,
        total,
        len(labelled),
        extra,
        tuple(misses),
        tuple(controls),
        lookalike_pii_texts=len(with_pii),
        lookalike_pii_found=sum(1 for text in with_pii if detect(text)),
    )


def format_report(evaluation: Evaluation, show_misses: bool = False) -> str:
    lines = [f"Recall on {evaluation.labelled_texts} labelled texts ({LABELLED_PATH.name}):", ""]
    lines.append(f"  {'kind':<8} {'found':>6} {'items':>6} {'recall':>8}")
    for kind in PiiKind:
        lines.append(
            f"  {kind.value:<8} {evaluation.found[kind.value]:>6} "
            f"{evaluation.total[kind.value]:>6} {evaluation.recall(kind.value):>8.2%}"
        )
    lines.append(
        f"  {'all':<8} {sum(evaluation.found.values()):>6} "
        f"{sum(evaluation.total.values()):>6} {evaluation.recall():>8.2%}"
    )
    lines.append(f"\n  redactions overlapping no labelled item: {evaluation.extra_spans}")
    lines.append("\nFalse positives on texts without personal data:\n")
    for control in evaluation.controls:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(control.flagged_by_kind.items()))
        lines.append(
            f"  {control.name:<10} {control.flagged:>4} / {control.texts:<5} texts "
            f"{control.rate:>7.2%}" + (f"  ({kinds})" if kinds else "")
        )
    all_texts = sum(c.texts for c in evaluation.controls)
    all_flagged = sum(c.flagged for c in evaluation.controls)
    lines.append(
        f"  {'all':<10} {all_flagged:>4} / {all_texts:<5} texts {all_flagged / all_texts:>7.2%}"
    )
    lines.append(
        f"\nLook-alike set, texts with personal data redacted: {evaluation.lookalike_pii_found} "
        f"/ {evaluation.lookalike_pii_texts}"
    )
    if show_misses:
        lines.append("\nMissed items:")
        lines.extend(
            f"  {miss.kind}: {miss.value!r} in {miss.text!r} -> {list(miss.redacted_as)}"
            for miss in evaluation.misses
        )
        lines.append("\nFalse positives:")
        for control in evaluation.controls:
            lines.extend(f"  {control.name}: {text!r}" for text in control.examples)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score PII redaction on the evaluation sets.")
    parser.add_argument("--show-misses", action="store_true", help="list misses and FPs")
    args = parser.parse_args(argv)
    print(format_report(evaluate(), show_misses=args.show_misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
