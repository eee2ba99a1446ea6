#!/usr/bin/env python3
"""Frozen evaluation of plain VADER and Rapport on the blind customer-text test set.

The blind set (``part-*.jsonl`` beside this file) was written by three authors who never saw
the CX lexicon or its rules, following ``GUIDELINE.md``; its texts and labels are never edited
and never tuned on. ``SHA256SUMS`` pins every file.

Usage (from the repository root)::

    .venv/bin/python -m evaluation.sentiment.blindset.evaluate            # print the tables
    .venv/bin/python -m evaluation.sentiment.blindset.evaluate --record   # + write results.*

``--record`` writes ``results.json`` (the metrics, the checksums of the data and the
fingerprint of the lexicon and rule code that produced them) and ``results.md`` (the tables).
``tests/unit/sentiment/test_blindset.py`` fails when the lexicon or the rules changed after the
last recorded evaluation, so every change to them is measured here before it lands.

* **VADER**: ``vaderSentiment``'s ``polarity_scores(text)["compound"]`` with the standard
  thresholds (>= 0.05 positive, <= -0.05 negative, else neutral), on every text.
* **Rapport**: what the sentiment service publishes with its default settings. A text detected
  as a language turned on in ``RAPPORT_SENTIMENT__FOREIGN_LANGUAGES`` (none by default) is scored
  with that language's lexicon (``services.sentiment.foreign``; sentiment, no emotions); a text
  detected as another language is not annotated (no sentiment evidence): it counts as
  ``neutral`` with no emotions. Otherwise ``CxAnnotator().annotate(text).label``, and the
  emotions it reports (any intensity > 0).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

# Run as a file: put the repository root on sys.path so ``services`` imports.
_REPO_ROOT: Final = Path(__file__).resolve().parents[3]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from evaluation.sentiment.metrics import (  # noqa: E402
    LABELS,
    accuracy,
    macro_f1,
    pct,
    precision_recall_f1,
)
from services.runtime.settings import SentimentSettings  # noqa: E402
from services.sentiment.cx import EMOTIONS, CxAnnotator, label_for  # noqa: E402
from services.sentiment.foreign import ForeignScorer  # noqa: E402
from services.sentiment.language import ENGLISH, LanguageDetector  # noqa: E402

HERE: Final = Path(__file__).resolve().parent
PARTS: Final = ("part-a.jsonl", "part-b.jsonl", "part-c.jsonl")
CHECKSUMS: Final = HERE / "SHA256SUMS"
RESULTS_JSON: Final = HERE / "results.json"
RESULTS_MD: Final = HERE / "results.md"
PHENOMENA: Final = (
    "factual_complaint",
    "complaint_question",
    "complaint_request",
    "sarcasm",
    "literal_positive_word",
    "conditional_wish",
    "brand_word",
    "concession",
    "info_question",
    "courtesy_thanks",
    "non_evaluative_negative",
    "hashtag",
    "insult_swearing",
    "shouting",
    "negation",
    "mixed",
    "emoji",
    "question",
    "gratitude_real",
    "congratulations",
    "youre_welcome",
    "non_english",
)
# What the sentiment outcome depends on: the lexicon data and the code that applies it.
RULE_SOURCES: Final = (
    "services/sentiment/cx",
    "services/sentiment/fastvader.py",
    "services/sentiment/language.py",
    "services/sentiment/foreign.py",
    "services/sentiment/lexicons",
)


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    text: str
    label: str
    emotions: frozenset[str]
    phenomena: tuple[str, ...]
    language: str
    industry: str
    channel: str
    part: str


@dataclass(frozen=True, slots=True)
class Prediction:
    example: Example
    vader: str
    rapport: str
    emotions: frozenset[str]
    language: str


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded_checksums() -> dict[str, str]:
    sums = {}
    for line in CHECKSUMS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def rules_fingerprint(root: Path = _REPO_ROOT) -> str:
    """SHA-256 over the names and bytes of the lexicon files and the rule code, in name order."""
    files: list[Path] = []
    for source in RULE_SOURCES:
        path = root / source
        if path.is_dir():
            files += [
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix in {".py", ".yaml", ".txt", ".tsv"}
            ]
        elif path.exists():
            files.append(path)
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def load(directory: Path = HERE) -> list[Example]:
    examples = []
    for part in PARTS:
        path = directory / part
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            examples.append(
                Example(
                    id=row["id"],
                    text=row["text"],
                    label=row["label"],
                    emotions=frozenset(row.get("emotions") or ()),
                    phenomena=tuple(row.get("phenomena") or ()),
                    language=row.get("language") or ENGLISH,
                    industry=row.get("industry") or "",
                    channel=row.get("channel") or "",
                    part=part.removesuffix(".jsonl"),
                )
            )
    return examples


def predict(examples: Sequence[Example]) -> list[Prediction]:
    vader = SentimentIntensityAnalyzer()
    annotator = CxAnnotator()
    detector = LanguageDetector()
    # The service's default: French and Portuguese are read only where an operator turns them on.
    foreign = SentimentSettings().foreign_languages
    predictions = []
    for example in examples:
        language = detector.language_of(example.text)
        if language == ENGLISH:
            annotation = annotator.annotate(example.text)
            rapport, emotions = annotation.label, frozenset(annotation.emotions)
        elif language in foreign:
            rapport, emotions = ForeignScorer.load(language).score(example.text).label, frozenset()
        else:
            rapport, emotions = "neutral", frozenset()
        predictions.append(
            Prediction(
                example,
                label_for(vader.polarity_scores(example.text)["compound"]),
                rapport,
                emotions,
                language,
            )
        )
    return predictions


def _sentiment_scores(chosen: Sequence[Prediction]) -> dict[str, float | int]:
    gold = [p.example.label for p in chosen]
    vader = [p.vader for p in chosen]
    rapport = [p.rapport for p in chosen]
    return {
        "n": len(chosen),
        "vader_accuracy": accuracy(gold, vader),
        "rapport_accuracy": accuracy(gold, rapport),
        "vader_macro_f1": macro_f1(gold, vader),
        "rapport_macro_f1": macro_f1(gold, rapport),
    }


def metrics(predictions: Sequence[Prediction]) -> dict[str, Any]:
    english = [p for p in predictions if p.example.language == ENGLISH]
    groups: dict[str, Callable[[Example], bool]] = {
        "all": lambda e: True,
        "english": lambda e: e.language == ENGLISH,
    }
    for part in PARTS:
        name = part.removesuffix(".jsonl")
        groups[name] = lambda e, name=name: e.part == name  # type: ignore[misc]
    overall = {
        name: _sentiment_scores([p for p in predictions if member(p.example)])
        for name, member in groups.items()
    }
    phenomena = {
        tag: _sentiment_scores([p for p in predictions if tag in p.example.phenomena])
        for tag in PHENOMENA
    }
    gold_sets = [p.example.emotions for p in english]
    predicted_sets = [p.emotions for p in english]
    emotions: dict[str, dict[str, float | int]] = {}
    for label in (*EMOTIONS, None):
        precision, recall, f1, support = precision_recall_f1(gold_sets, predicted_sets, label)
        emotions[label or "micro"] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
            "predicted": sum((label in s) if label else len(s) for s in predicted_sets),
        }
    non_english = [p for p in predictions if p.example.language != ENGLISH]
    language = {
        "non_english_texts": len(non_english),
        "non_english_detected": sum(p.language != ENGLISH for p in non_english),
        "english_texts": len(english),
        "english_detected_as_other": sum(p.language != ENGLISH for p in english),
    }
    confusion = {
        gold: {
            label: sum(p.example.label == gold and p.rapport == label for p in english)
            for label in LABELS
        }
        for gold in LABELS
    }
    return {
        "overall": overall,
        "phenomena": phenomena,
        "emotions": emotions,
        "language": language,
        "confusion_english": confusion,
    }


def markdown(result: dict[str, Any]) -> str:
    m = result["metrics"]
    lines = [
        f"Blind set: {m['overall']['all']['n']} texts; lexicon `{result['model_version']}`, "
        f"rules fingerprint `{result['rules_fingerprint'][:12]}`.",
        "",
        "### Sentiment",
        "",
        "| texts | n | VADER acc | Rapport acc | VADER macro-F1 | Rapport macro-F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def row(name: str, s: dict[str, Any]) -> str:
        return (
            f"| {name} | {s['n']} | {pct(s['vader_accuracy'])} | {pct(s['rapport_accuracy'])} "
            f"| {pct(s['vader_macro_f1'])} | {pct(s['rapport_macro_f1'])} |"
        )

    lines += [row(name, s) for name, s in m["overall"].items()]
    lines += [
        "",
        "### Per phenomenon (a text can have several tags)",
        "",
        "| phenomenon | n | VADER acc | Rapport acc | VADER macro-F1 | Rapport macro-F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [row(f"`{tag}`", s) for tag, s in m["phenomena"].items() if s["n"]]
    lines += [
        "",
        "### Emotions (English texts; Rapport only, VADER has none)",
        "",
        "| emotion | gold | predicted | precision | recall | F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {'**micro**' if name == 'micro' else name} | {e['support']} | {e['predicted']} "
        f"| {pct(e['precision'])} | {pct(e['recall'])} | {pct(e['f1'])} |"
        for name, e in m["emotions"].items()
    ]
    lang = m["language"]
    lines += [
        "",
        "### Language",
        "",
        f"Non-English texts detected as such: {lang['non_english_detected']} of "
        f"{lang['non_english_texts']}; English texts detected as another language: "
        f"{lang['english_detected_as_other']} of {lang['english_texts']}.",
        "",
        "### Rapport confusion matrix, English texts (gold rows × Rapport columns)",
        "",
        "| gold \\ Rapport | " + " | ".join(LABELS) + " |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {gold} | " + " | ".join(str(m["confusion_english"][gold][p]) for p in LABELS) + " |"
        for gold in LABELS
    ]
    return "\n".join(lines) + "\n"


def _rounded(value: Any) -> Any:
    # JSON has no NaN: an undefined ratio is recorded as null.
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def evaluate(directory: Path = HERE) -> dict[str, Any]:
    predictions = predict(load(directory))
    return {
        "model_version": CxAnnotator().model_version,
        "rules_fingerprint": rules_fingerprint(),
        "data_sha256": {
            part: sha256_of(directory / part) for part in PARTS if (directory / part).exists()
        },
        "metrics": _rounded(metrics(predictions)),
    }


def error_lines(limit: int) -> list[str]:
    lines: list[str] = []
    for p in predict(load()):
        if p.rapport != p.example.label and len(lines) < limit:
            lines.append(
                f"- {p.example.id} gold={p.example.label} rapport={p.rapport} "
                f"[{', '.join(p.example.phenomena)}] {p.example.text!r}"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write results.json and results.md")
    parser.add_argument(
        "--errors", type=int, default=0, metavar="N", help="list N errors (read, never tune)"
    )
    args = parser.parse_args(argv)
    recorded = recorded_checksums()
    for part in PARTS:
        if sha256_of(HERE / part) != recorded.get(part):
            print(f"{part}: checksum differs from SHA256SUMS: the blind set was edited")
            return 1
    result = evaluate()
    text = markdown(result)
    print(text)
    if args.errors:
        print("\n".join(error_lines(args.errors)))
    if args.record:
        RESULTS_JSON.write_text(
            json.dumps(result, indent=2, sort_keys=False) + "\n", encoding="utf-8"
        )
        RESULTS_MD.write_text(text, encoding="utf-8")
        print(f"recorded {RESULTS_JSON.relative_to(_REPO_ROOT)} and {RESULTS_MD.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
