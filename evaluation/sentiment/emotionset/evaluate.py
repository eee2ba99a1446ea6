#!/usr/bin/env python3
"""Two more sets of 640 English texts each, for emotions above all (issue 15).

Written on 2026-12-05 by four writers who never saw the lexicon, its rules, the dev set or the
first blind set, briefed with ``../blindset/GUIDELINE.md``; frozen (``SHA256SUMS``):

* ``part-a.jsonl``, ``part-b.jsonl`` (**tuning**, "second set"): the writers were also asked to
  take care over the emotion labels; the frustration rule was tuned on them;
* ``part-c.jsonl``, ``part-d.jsonl`` (**blind**, "third set"): guideline only, written after
  that rule was fixed; they decided, by a rule written down before they existed, which of two
  variants ships, and nothing was changed after (README.md).

Usage (from the repository root)::

    .venv/bin/python -m evaluation.sentiment.emotionset.evaluate            # print the tables
    .venv/bin/python -m evaluation.sentiment.emotionset.evaluate --record   # + results.json/.md

VADER and Rapport as in ``evaluation.sentiment.blindset.evaluate`` (every text here is English).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

_REPO_ROOT: Final = Path(__file__).resolve().parents[3]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from evaluation.sentiment.blindset import evaluate as blind  # noqa: E402
from evaluation.sentiment.metrics import pct, print_and_record  # noqa: E402

HERE: Final = Path(__file__).resolve().parent
PARTS: Final = ("part-a.jsonl", "part-b.jsonl", "part-c.jsonl", "part-d.jsonl")
HALVES: Final = {"tuning (a, b)": ("part-a", "part-b"), "blind (c, d)": ("part-c", "part-d")}
CHECKSUMS: Final = HERE / "SHA256SUMS"
RESULTS_JSON: Final = HERE / "results.json"
RESULTS_MD: Final = HERE / "results.md"


def load() -> list[blind.Example]:
    examples = []
    for part in PARTS:
        for line in (HERE / part).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                examples.append(
                    blind.Example(
                        id=row["id"],
                        text=row["text"],
                        label=row["label"],
                        emotions=frozenset(row.get("emotions") or ()),
                        phenomena=tuple(row.get("phenomena") or ()),
                        language=row.get("language") or "en",
                        industry=row.get("industry") or "",
                        channel=row.get("channel") or "",
                        part=part.removesuffix(".jsonl"),
                    )
                )
    return examples


def evaluate() -> dict[str, Any]:
    predictions = blind.predict(load())
    halves = {}
    for name, parts in HALVES.items():
        computed = blind.metrics([p for p in predictions if p.example.part in parts])
        halves[name] = {
            "overall": computed["overall"]["all"],
            "emotions": computed["emotions"],
            "confusion_english": computed["confusion_english"],
        }
    return {
        "data_sha256": {part: blind.sha256_of(HERE / part) for part in PARTS},
        # The same rounding as the blind set's record.
        "metrics": blind._rounded(halves),
    }


def markdown(result: dict[str, Any]) -> str:
    lines = []
    for name, m in result["metrics"].items():
        s = m["overall"]
        lines += [
            f"### {name}: {s['n']} English texts",
            "",
            "| n | VADER acc | Rapport acc | VADER macro-F1 | Rapport macro-F1 |",
            "|---:|---:|---:|---:|---:|",
            f"| {s['n']} | {pct(s['vader_accuracy'])} | {pct(s['rapport_accuracy'])} "
            f"| {pct(s['vader_macro_f1'])} | {pct(s['rapport_macro_f1'])} |",
            "",
            "| emotion | gold | predicted | precision | recall | F1 |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {'**micro**' if label == 'micro' else label} | {e['support']} | {e['predicted']} "
            f"| {pct(e['precision'])} | {pct(e['recall'])} | {pct(e['f1'])} |"
            for label, e in m["emotions"].items()
        ]
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    description = __doc__.split("\n\n")[0]
    return print_and_record(argv, description, evaluate, markdown, (RESULTS_JSON, RESULTS_MD))


if __name__ == "__main__":
    raise SystemExit(main())
