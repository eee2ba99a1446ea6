#!/usr/bin/env python3
"""How the French and Portuguese lexicons score customer texts their authors never saw.

``fr.jsonl`` and ``pt.jsonl`` beside this file were written blind by native-speaker writers
(briefed only with the blind set's ``GUIDELINE.md``, told to write in the language; they never
saw the lexicons or this code) after the scorer was written, and are never tuned on.
``SHA256SUMS`` pins them. The blind set's own French and Portuguese texts are added to the counts
(``blind set`` rows).

Usage (from the repository root)::

    .venv/bin/python -m evaluation.sentiment.foreign.evaluate            # print the tables
    .venv/bin/python -m evaluation.sentiment.foreign.evaluate --record   # + results.json/.md

Three readings of each text, with VADER's ±0.05 thresholds:

* **not annotated**: what Rapport published before it read these languages (no sentiment
  evidence; counted as ``neutral``);
* **VADER**: plain ``vaderSentiment`` on the text, as if it were English;
* **Rapport**: what the sentiment service publishes now: the language detector, then the
  language's lexicon (``services.sentiment.foreign``) for a text detected as French or
  Portuguese, the English annotator for a text taken for English, nothing for another language.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

_REPO_ROOT: Final = Path(__file__).resolve().parents[3]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from evaluation.sentiment.blindset import evaluate as blind  # noqa: E402
from evaluation.sentiment.metrics import accuracy, macro_f1, pct, print_and_record  # noqa: E402
from services.sentiment.cx import CxAnnotator, label_for  # noqa: E402
from services.sentiment.foreign import FOREIGN_LANGUAGES, ForeignScorer  # noqa: E402
from services.sentiment.language import ENGLISH, LanguageDetector  # noqa: E402

HERE: Final = Path(__file__).resolve().parent
FILES: Final = {"fr": "fr.jsonl", "pt": "pt.jsonl"}
CHECKSUMS: Final = HERE / "SHA256SUMS"
RESULTS_JSON: Final = HERE / "results.json"
RESULTS_MD: Final = HERE / "results.md"


def load() -> dict[str, list[tuple[str, str, str]]]:
    """Per set (``fr``, ``pt``, ``blind set fr``...): (id, text, gold label)."""
    sets: dict[str, list[tuple[str, str, str]]] = {}
    for language, name in FILES.items():
        path = HERE / name
        if path.exists():
            rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
            sets[language] = [(r["id"], r["text"], r["label"]) for r in rows]
    for example in blind.load():
        if example.language in FOREIGN_LANGUAGES:
            sets.setdefault(f"blind set {example.language}", []).append(
                (example.id, example.text, example.label)
            )
    return sets


def evaluate() -> dict[str, Any]:
    vader = SentimentIntensityAnalyzer()
    english = CxAnnotator()
    detector = LanguageDetector()
    results: dict[str, Any] = {}
    for name, rows in load().items():
        language = name.rsplit(" ", 1)[-1]
        gold = [label for _, _, label in rows]
        readings: dict[str, list[str]] = {"not annotated": [], "VADER": [], "Rapport": []}
        detected: Counter[str] = Counter()
        for _, text, _ in rows:
            found = detector.language_of(text)
            detected[found] += 1
            if found in FOREIGN_LANGUAGES:
                rapport = ForeignScorer.load(found).score(text).label
            elif found == ENGLISH:
                rapport = english.annotate(text).label
            else:
                rapport = "neutral"
            readings["not annotated"].append("neutral")
            readings["VADER"].append(label_for(vader.polarity_scores(text)["compound"]))
            readings["Rapport"].append(rapport)
        results[name] = {
            "n": len(rows),
            "gold": dict(sorted(Counter(gold).items())),
            "detected": dict(detected.most_common()),
            "detected_as_language": detected[language],
            "readings": {
                reading: {
                    "accuracy": round(accuracy(gold, labels), 4),
                    "macro_f1": round(macro_f1(gold, labels), 4),
                }
                for reading, labels in readings.items()
            },
        }
    return {
        "model_versions": {lang: ForeignScorer.load(lang).model_version for lang in FILES},
        "rules_fingerprint": blind.rules_fingerprint(),
        "data_sha256": {
            name: blind.sha256_of(HERE / name) for name in FILES.values() if (HERE / name).exists()
        },
        "sets": results,
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "Lexicons: "
        + ", ".join(f"`{v}`" for v in result["model_versions"].values())
        + f"; rules fingerprint `{result['rules_fingerprint'][:12]}`.",
        "",
        "| set | n | gold neg/neu/pos | detected as the language | not annotated acc / F1 "
        "| VADER acc / F1 | Rapport acc / F1 |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for name, s in result["sets"].items():
        gold = s["gold"]
        r = s["readings"]
        lines.append(
            f"| {name} | {s['n']} | {gold.get('negative', 0)}/{gold.get('neutral', 0)}/"
            f"{gold.get('positive', 0)} | {s['detected_as_language']} | "
            + " | ".join(
                f"{pct(r[k]['accuracy'])} / {pct(r[k]['macro_f1'])}"
                for k in ("not annotated", "VADER", "Rapport")
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    description = __doc__.split("\n\n")[0]
    return print_and_record(argv, description, evaluate, markdown, (RESULTS_JSON, RESULTS_MD))


if __name__ == "__main__":
    raise SystemExit(main())
