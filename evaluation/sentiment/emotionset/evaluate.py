#!/usr/bin/env python3
"""A second blind set, 640 English texts by two more writers: sentiment and, above all, emotions.

``part-a.jsonl`` and ``part-b.jsonl`` beside this file were written on 2026-12-05 by two writers
who never saw the lexicon, its rules, the dev set or the first blind set, briefed only with
``../blindset/GUIDELINE.md`` and asked to take particular care over the emotion labels
(frustration as the guideline defines it: repeated or blocked effort, being stuck). Frozen
(``SHA256SUMS``), never tuned on.

Usage (from the repository root)::

    .venv/bin/python -m evaluation.sentiment.emotionset.evaluate            # print the tables
    .venv/bin/python -m evaluation.sentiment.emotionset.evaluate --record   # + results.json/.md

VADER and Rapport as in ``evaluation.sentiment.blindset.evaluate`` (every text here is English).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

_REPO_ROOT: Final = Path(__file__).resolve().parents[3]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from evaluation.sentiment.blindset import evaluate as blind  # noqa: E402
from evaluation.sentiment.metrics import pct  # noqa: E402

HERE: Final = Path(__file__).resolve().parent
PARTS: Final = ("part-a.jsonl", "part-b.jsonl")
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
    computed = blind.metrics(blind.predict(load()))
    return {
        "data_sha256": {part: blind.sha256_of(HERE / part) for part in PARTS},
        # The same rounding as the blind set's record.
        "metrics": blind._rounded(
            {
                "overall": {"all": computed["overall"]["all"]},
                "emotions": computed["emotions"],
                "confusion_english": computed["confusion_english"],
            }
        ),
    }


def markdown(result: dict[str, Any]) -> str:
    m = result["metrics"]
    s = m["overall"]["all"]
    lines = [
        f"Second blind set: {s['n']} English texts.",
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
        f"| {'**micro**' if name == 'micro' else name} | {e['support']} | {e['predicted']} "
        f"| {pct(e['precision'])} | {pct(e['recall'])} | {pct(e['f1'])} |"
        for name, e in m["emotions"].items()
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", action="store_true", help="write results.json and .md")
    args = parser.parse_args(argv)
    result = evaluate()
    text = markdown(result)
    print(text, end="")
    if args.record:
        RESULTS_JSON.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", "utf-8")
        RESULTS_MD.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
