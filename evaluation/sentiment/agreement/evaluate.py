#!/usr/bin/env python3
"""How far independent labellers agree with the writers' gold, next to the annotator (issue 15).

Issue 15 asks for frustration's precision "at least doubled without losing recall". On our own
customer sets the gold comes from the texts' writers, who labelled under the guideline
(``../blindset/GUIDELINE.md``). Three more labellers, who had seen neither the gold, the
lexicon, the rules nor the annotator's output, labelled the same texts under the same
guideline (``BRIEF.md``): two the third set (``../emotionset`` parts c and d), one part a of
the first blind set. What they reach against the writers' gold is a ceiling for any reader of
these texts, the annotator included: a target they do not reach measures the gold's own
disagreement, not a reader.

Usage (from the repository root)::

    .venv/bin/python -m evaluation.sentiment.agreement.evaluate            # print the tables
    .venv/bin/python -m evaluation.sentiment.agreement.evaluate --record   # + results.json/.md

``BEFORE`` is the annotator before issue 15 (``a89ee7b``) on the same English texts (frustration:
predicted, true positives), recorded once from a worktree of that commit, pure-Python build.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

_REPO_ROOT: Final = Path(__file__).resolve().parents[3]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from evaluation.sentiment.blindset import evaluate as blind  # noqa: E402
from evaluation.sentiment.emotionset import evaluate as emotionset  # noqa: E402
from evaluation.sentiment.metrics import (  # noqa: E402
    accuracy,
    pct,
    precision_recall_f1,
    print_and_record,
)
from services.sentiment.language import ENGLISH  # noqa: E402

HERE: Final = Path(__file__).resolve().parent
RESULTS_JSON: Final = HERE / "results.json"
RESULTS_MD: Final = HERE / "results.md"
FOCUS: Final = ("frustration", "anger", "disappointment", "satisfaction", "gratitude")

# Subset name -> (which gold, relabel files: labeller -> file).
SUBSETS: Final[Mapping[str, tuple[str, Mapping[str, str]]]] = {
    "third set (parts c, d)": (
        "third",
        {"A": "relabel-a-third-set.jsonl", "B": "relabel-b-third-set.jsonl"},
    ),
    "first blind set, part a": ("first-a", {"C": "relabel-c-first-set-part-a.jsonl"}),
}
# a89ee7b's frustration on each subset's English texts: (predicted, true positives).
BEFORE: Final[Mapping[str, tuple[int, int]]] = {
    "third set (parts c, d)": (240, 115),
    "first blind set, part a": (172, 94),
}


def gold(which: str) -> list[blind.Example]:
    """The writers' gold of a subset, English texts only (the others get no emotions)."""
    if which == "third":
        examples = [e for e in emotionset.load() if e.part in {"part-c", "part-d"}]
    else:
        examples = [e for e in blind.load() if e.part == "part-a"]
    return [e for e in examples if e.language == ENGLISH]


def relabels(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    rows = (json.loads(line) for line in (HERE / name).read_text("utf-8").splitlines() if line)
    return {row["id"]: (row["label"], frozenset(row["emotions"])) for row in rows}


def _scores(
    examples: Sequence[blind.Example], labels: Sequence[str], emotions: Sequence[frozenset[str]]
) -> dict[str, Any]:
    truth = [e.emotions for e in examples]
    out: dict[str, Any] = {"sentiment_accuracy": accuracy([e.label for e in examples], labels)}
    for emotion in FOCUS:
        p, r, f, support = precision_recall_f1(truth, emotions, emotion)
        out[emotion] = {"precision": p, "recall": r, "f1": f, "gold": support}
        out[emotion]["predicted"] = sum(emotion in e for e in emotions)
    return out


def evaluate() -> dict[str, Any]:
    result: dict[str, Any] = {}
    for subset, (which, files) in SUBSETS.items():
        examples = gold(which)
        rows: dict[str, Any] = {}
        predicted, hits = BEFORE[subset]
        frustrated = sum("frustration" in e.emotions for e in examples)
        rows["Rapport before issue 15 (a89ee7b)"] = {
            "frustration": {"precision": hits / predicted, "recall": hits / frustrated}
        }
        now = blind.predict(examples)
        rows["Rapport now"] = _scores(examples, [p.rapport for p in now], [p.emotions for p in now])
        for labeller, name in files.items():
            labelled = relabels(name)
            rows[f"labeller {labeller}"] = _scores(
                examples,
                [labelled[e.id][0] for e in examples],
                [labelled[e.id][1] for e in examples],
            )
        before = rows["Rapport before issue 15 (a89ee7b)"]["frustration"]
        result[subset] = {
            "texts": len(examples),
            "rows": rows,
            "target": {"precision": 2 * before["precision"], "recall": before["recall"]},
        }
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Independent labellers against the writers' gold",
        "",
        "Generated by `.venv/bin/python -m evaluation.sentiment.agreement.evaluate --record`.",
        "Frustration precision / recall (%); the issue's target is the first row's precision",
        "doubled at its recall or more.",
        "",
    ]
    for subset, block in result.items():
        target = block["target"]
        lines += [
            f"## {subset}: {block['texts']} English texts",
            "",
            f"Target: precision >= {pct(target['precision'])}"
            + (" (over 100 %: no reader can)" if target["precision"] > 1 else "")
            + f", recall >= {pct(target['recall'])}.",
            "",
            "| reader | sentiment agreement | frustration P / R | anger P / R | "
            "disappointment P / R |",
            "|---|---:|---:|---:|---:|",
        ]
        for reader, row in block["rows"].items():
            cells = [pct(row["sentiment_accuracy"]) if "sentiment_accuracy" in row else ""]
            for emotion in ("frustration", "anger", "disappointment"):
                scores = row.get(emotion)
                cells.append(
                    f"{pct(scores['precision'])} / {pct(scores['recall'])}" if scores else ""
                )
            lines.append(f"| {reader} | {' | '.join(cells)} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    return print_and_record(
        argv,
        "Independent labellers vs the writers' gold, next to the annotator.",
        evaluate,
        markdown,
        (RESULTS_JSON, RESULTS_MD),
    )


if __name__ == "__main__":
    raise SystemExit(main())
