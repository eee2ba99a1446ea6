#!/usr/bin/env python3
"""Validate the customer-experience sentiment dev set and print count tables.

Usage::

    python evaluation/sentiment/devset/check_devset.py [PATH] [--min-total N]
        [--min-industry N] [--min-channel N] [--min-label N] [--quiet]

Validation problems are printed to stderr and make the script exit with
status 1. The Markdown count tables (the ones pasted into README.md) are
printed to stdout unless ``--quiet`` is given.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

DEFAULT_PATH: Final[Path] = Path(__file__).with_name("customer_texts.jsonl")

LABELS: Final[tuple[str, ...]] = ("negative", "neutral", "positive")
INDUSTRIES: Final[tuple[str, ...]] = (
    "airline",
    "retail",
    "telecom",
    "banking",
    "software",
    "food_delivery",
)
CHANNELS: Final[tuple[str, ...]] = ("review", "chat", "tweet", "survey", "ticket")
PHENOMENA: Final[tuple[str, ...]] = (
    "factual_complaint",
    "polite_complaint",
    "negated_problem",
    "sarcasm",
    "noise",
    "mixed",
    "question",
    "short",
)
KEYS: Final[frozenset[str]] = frozenset({"id", "text", "label", "industry", "channel", "phenomena"})
ID_RE: Final[re.Pattern[str]] = re.compile(r"^cx-\d{4,}$")
SHORT_MAX_WORDS: Final[int] = 3


@dataclass(frozen=True, slots=True)
class Record:
    """One validated line of the dev set."""

    id: str
    text: str
    label: str
    industry: str
    channel: str
    phenomena: tuple[str, ...]

    @property
    def n_words(self) -> int:
        return len(self.text.split())


def normalise(text: str) -> str:
    """Key used for the case-insensitive duplicate check."""
    return " ".join(text.casefold().split())


def _check_choice(value: object, allowed: Sequence[str], field: str) -> str | None:
    if not isinstance(value, str) or value not in allowed:
        return f"{field}={value!r} not in {list(allowed)}"
    return None


def parse_line(raw: str) -> tuple[Record | None, list[str]]:
    """Parse and field-check one JSONL line; return the record and its problems."""
    problems: list[str] = []
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, [f"invalid JSON: {exc}"]
    if not isinstance(obj, dict):
        return None, ["line is not a JSON object"]
    keys = set(obj)
    if keys != KEYS:
        missing = sorted(KEYS - keys)
        extra = sorted(keys - KEYS)
        return None, [f"keys mismatch (missing={missing}, extra={extra})"]

    rid, text, phenomena = obj["id"], obj["text"], obj["phenomena"]
    if not isinstance(rid, str) or not ID_RE.match(rid):
        problems.append(f"bad id {rid!r}")
    if not isinstance(text, str) or not text.strip():
        problems.append("empty or non-string text")
    elif text != text.strip() or "\n" in text or "\r" in text:
        problems.append("text has surrounding whitespace or a line break")
    for field, allowed in (
        ("label", LABELS),
        ("industry", INDUSTRIES),
        ("channel", CHANNELS),
    ):
        problem = _check_choice(obj[field], allowed, field)
        if problem:
            problems.append(problem)
    if not isinstance(phenomena, list) or not all(isinstance(p, str) for p in phenomena):
        problems.append("phenomena must be a list of strings")
        phenomena = []
    else:
        unknown = [p for p in phenomena if p not in PHENOMENA]
        if unknown:
            problems.append(f"unknown phenomena {unknown}")
        if len(set(phenomena)) != len(phenomena):
            problems.append("duplicate phenomena tags")
    if problems:
        return None, problems

    record = Record(
        id=rid,
        text=text,
        label=obj["label"],
        industry=obj["industry"],
        channel=obj["channel"],
        phenomena=tuple(phenomena),
    )
    # Tagging rules that can be checked mechanically.
    is_short = record.n_words <= SHORT_MAX_WORDS
    if is_short != ("short" in record.phenomena):
        problems.append(f"'short' tag must be set iff the text has <= {SHORT_MAX_WORDS} words")
    if "?" in record.text and "question" not in record.phenomena:
        problems.append("text contains '?' but is not tagged 'question'")
    return record, problems


def load(path: Path) -> tuple[list[Record], list[str]]:
    """Load the file and run all per-line and cross-line checks."""
    records: list[Record] = []
    errors: list[str] = []
    seen_ids: dict[str, int] = {}
    seen_texts: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                errors.append(f"line {lineno}: blank line")
                continue
            record, problems = parse_line(raw)
            errors.extend(f"line {lineno}: {p}" for p in problems)
            if record is None:
                continue
            if record.id in seen_ids:
                errors.append(
                    f"line {lineno}: duplicate id {record.id} (first on line {seen_ids[record.id]})"
                )
            seen_ids.setdefault(record.id, lineno)
            key = normalise(record.text)
            if key in seen_texts:
                errors.append(
                    f"line {lineno}: duplicate text (case-insensitive) of line "
                    f"{seen_texts[key]}: {record.text!r}"
                )
            seen_texts.setdefault(key, lineno)
            records.append(record)
    return records, errors


def check_minimums(
    records: Sequence[Record],
    *,
    min_total: int,
    min_industry: int,
    min_channel: int,
    min_label: int,
) -> list[str]:
    """Return problems for every slice that is smaller than required."""
    errors: list[str] = []
    if len(records) < min_total:
        errors.append(f"only {len(records)} records (< {min_total})")
    for field, values, minimum in (
        ("industry", INDUSTRIES, min_industry),
        ("channel", CHANNELS, min_channel),
        ("label", LABELS, min_label),
    ):
        counts = Counter(getattr(r, field) for r in records)
        for value in values:
            if counts[value] < minimum:
                errors.append(f"{field}={value}: {counts[value]} records (< {minimum})")
    return errors


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    lines.extend("| " + " | ".join(str(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)


def _row(name: str, subset: Sequence[Record], total: int) -> list[object]:
    """Table row: name, count per label, subset size and its share of ``total``."""
    by_label = Counter(r.label for r in subset)
    return [name, *(by_label[lab] for lab in LABELS), len(subset), _pct(len(subset), total)]


def crosstab(records: Sequence[Record], field: str, values: Sequence[str], title: str) -> str:
    """Counts of ``field`` values broken down by label, with row totals."""
    total = len(records)
    rows = [
        _row(f"`{value}`", [r for r in records if getattr(r, field) == value], total)
        for value in values
    ]
    rows.append(_row("**total**", records, total))
    return _table([title, *LABELS, "total", "share"], rows)


def label_table(records: Sequence[Record]) -> str:
    counts = Counter(r.label for r in records)
    total = len(records)
    rows: list[list[object]] = [
        [f"`{lab}`", counts[lab], _pct(counts[lab], total)] for lab in LABELS
    ]
    rows.append(["**total**", total, "100.0%"])
    return _table(["label", "count", "share"], rows)


def phenomena_table(records: Sequence[Record]) -> str:
    """Per-tag counts by label; a text can carry several tags."""
    total = len(records)
    rows = [
        _row(f"`{tag}`", [r for r in records if tag in r.phenomena], total) for tag in PHENOMENA
    ]
    rows.append(_row("(no tag)", [r for r in records if not r.phenomena], total))
    hard = [r for r in records if set(r.phenomena) - {"short"}]
    rows.append(_row("any tag except `short`", hard, total))
    return _table(["phenomenon", *LABELS, "texts", "share of all texts"], rows)


def industry_channel_table(records: Sequence[Record]) -> str:
    counts = Counter((r.industry, r.channel) for r in records)
    rows: list[list[object]] = [
        [f"`{ind}`", *(counts[ind, ch] for ch in CHANNELS), sum(counts[ind, ch] for ch in CHANNELS)]
        for ind in INDUSTRIES
    ]
    by_channel = Counter(r.channel for r in records)
    rows.append(["**total**", *(by_channel[ch] for ch in CHANNELS), len(records)])
    return _table(["industry", *CHANNELS, "total"], rows)


def length_table(records: Sequence[Record]) -> str:
    rows: list[list[object]] = []
    for channel in (*CHANNELS, None):
        lengths = [r.n_words for r in records if channel is None or r.channel == channel]
        if not lengths:
            continue
        rows.append(
            [
                "**all**" if channel is None else f"`{channel}`",
                min(lengths),
                f"{statistics.median(lengths):g}",
                f"{statistics.mean(lengths):.1f}",
                max(lengths),
            ]
        )
    return _table(["channel", "min words", "median", "mean", "max words"], rows)


def render_tables(records: Sequence[Record]) -> str:
    sections = [
        ("Labels", label_table(records)),
        ("Industry by label", crosstab(records, "industry", INDUSTRIES, "industry")),
        ("Channel by label", crosstab(records, "channel", CHANNELS, "channel")),
        ("Industry by channel", industry_channel_table(records)),
        (
            "Phenomena by label (multi-label: a text can have several tags)",
            phenomena_table(records),
        ),
        ("Length in words (whitespace tokens)", length_table(records)),
    ]
    return "\n\n".join(f"#### {title}\n\n{table}" for title, table in sections) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--min-total", type=int, default=900)
    parser.add_argument("--min-industry", type=int, default=120)
    parser.add_argument("--min-channel", type=int, default=120)
    parser.add_argument("--min-label", type=int, default=200)
    parser.add_argument("--quiet", action="store_true", help="only validate, no tables")
    args = parser.parse_args(argv)

    records, errors = load(args.path)
    errors += check_minimums(
        records,
        min_total=args.min_total,
        min_industry=args.min_industry,
        min_channel=args.min_channel,
        min_label=args.min_label,
    )
    if not args.quiet:
        sys.stdout.write(render_tables(records))
    for error in errors:
        print(f"ERROR: {error}", file=sys.stderr)
    status = "FAILED" if errors else "OK"
    print(f"{args.path}: {len(records)} records, {len(errors)} problems: {status}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
