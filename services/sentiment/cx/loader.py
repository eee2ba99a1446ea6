"""Load, validate and fingerprint the CX lexicon (``services/sentiment/cx/lexicon/*.yaml``).

The lexicon is data, not code: every phrase, word list and weight the CX layer
uses lives in the YAML files next to this module, and :data:`FAMILIES` says
which file holds which rule family. The file format is documented in
``docs/sentiment.md``; this module enforces it strictly (unknown keys, unknown
labels, bad patterns and duplicate patterns are load errors), because a typo in
a lexicon file should fail a test, not silently disable a rule.

The SHA-256 of the files (names and bytes, in name order) is part of the
annotator's ``model_version``, so any lexicon change changes the version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final

import yaml

from services.sentiment.cx.patterns import CompiledPattern, PatternError, compile_pattern

__all__ = [
    "ASPECTS",
    "EMOTIONS",
    "FAMILIES",
    "Entry",
    "Lexicon",
    "LexiconError",
    "load_lexicon",
]


class LexiconError(ValueError):
    """A lexicon file is missing, malformed or inconsistent."""


# The CX emotion taxonomy and relationship-driver aspects (documented in docs/sentiment.md).
EMOTIONS: Final[tuple[str, ...]] = (
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
POSITIVE_EMOTIONS: Final[frozenset[str]] = frozenset({"joy", "satisfaction", "gratitude", "trust"})
# Working labels the lexicon may use and the annotator resolves into ``frustration`` once the
# text's label is known; never published (annotator._resolve_frustration, issue 15):
# * complaint_frustration: what a complaint, a negative verdict or sarcasm implies; it counts
#   in a text read as negative, not in a neutral or positive one;
# * effort: blocked or repeated effort in so many words ("still no", "third time", "sends me
#   back to", "what do I have to do"); frustration in any text not read as positive;
# * repetition: repetition that also tells stories ("three times", "every time"; the single
#   words, "again", "twice", "tried", are the cue file's ``repetition`` list): frustration in a
#   negative text, and in a neutral one beside a complaint or other effort (the cue file's
#   ``effort_hints``: "still", "waiting", "nobody", "can't").
WORKING_EMOTIONS: Final[tuple[str, ...]] = ("complaint_frustration", "effort", "repetition")
ASPECTS: Final[tuple[str, ...]] = (
    "customer_service",
    "product_quality",
    "price_value",
    "delivery_reliability",
    "communication_transparency",
    "ethics_privacy",
    "brand_connection",
    "recommendation",
)

# family -> file. Span families change the valence of the tokens they match.
FAMILIES: Final[dict[str, str]] = {
    "complaint": "complaints.yaml",
    "negated_problem": "negated_problems.yaml",
    "evaluation": "evaluations.yaml",
    "neutral_term": "neutral_terms.yaml",
    "politeness": "politeness.yaml",
    "sarcasm": "sarcasm.yaml",
    "request": "requests.yaml",
    "cue": "cues.yaml",
    "emotion": "emotions.yaml",
    "aspect": "aspects.yaml",
}
NORMALIZATION_FILE: Final = "normalization.yaml"
SPAN_FAMILIES: Final[tuple[str, ...]] = (
    "negated_problem",
    "neutral_term",
    "evaluation",
    "complaint",
)
# Overlapping span matches: the longer wins; on equal length, the higher priority
# (a stated problem beats an overlapping evaluation: "doesn't WORK PERFECTLY").
SPAN_PRIORITY: Final[dict[str, int]] = {
    "negated_problem": 4,
    "neutral_term": 3,
    "complaint": 2,
    "evaluation": 1,
}

_COMMON_KEYS: Final = frozenset({"pattern", "sample"})
_POSITION_KEYS: Final = frozenset({"at_start", "at_end", "whole_sentence"})
_SPAN_KEYS: Final = _COMMON_KEYS | _POSITION_KEYS | {"valence", "negatable", "emotions", "note"}
_ENTRY_KEYS: Final[dict[str, frozenset[str]]] = {
    "complaint": _SPAN_KEYS,
    "negated_problem": _SPAN_KEYS,
    "evaluation": _SPAN_KEYS,
    "neutral_term": _COMMON_KEYS | _POSITION_KEYS | {"note"},
    "politeness": _COMMON_KEYS | {"scope", "factor", "note"},
    "sarcasm": _COMMON_KEYS
    | _POSITION_KEYS
    | {"cue", "valence", "clause_break", "emotions", "note"},
    "request": _COMMON_KEYS | _POSITION_KEYS | {"factor", "question", "note"},
    "cue": _COMMON_KEYS | {"kind", "negatable", "note"},
    "emotion": _COMMON_KEYS | {"weight", "negatable", "negated_as", "note"},
    "aspect": _COMMON_KEYS | {"note"},
}
_POLITENESS_SCOPES: Final = ("always", "complaint")
_SARCASM_CUES: Final = ("none", "sentence", "nearby", "quoted", "text")
_CUE_KINDS: Final = ("problem", "sarcasm_marker")


@dataclass(frozen=True, slots=True)
class Entry:
    """One lexicon entry, with the family's defaults applied."""

    family: str
    pattern: str
    sample: str
    source: str
    compiled: CompiledPattern = field(repr=False, compare=False)
    valence: float = 0.0
    negatable: bool = False
    emotions: tuple[tuple[str, float], ...] = ()
    scope: str = "always"
    factor: float = 0.0
    cue: str = "sentence"
    kind: str = "problem"
    at_start: bool = False
    at_end: bool = False
    whole_sentence: bool = False
    clause_break: bool = False
    question: bool = False
    constrained: bool = False
    """True if any of at_start, at_end, whole_sentence, clause_break, question is set."""
    label: str = ""
    weight: float = 0.0
    negated_as: str = ""


@dataclass(frozen=True, slots=True)
class Lexicon:
    """All lexicon files, parsed and compiled."""

    entries: tuple[Entry, ...]
    negators: frozenset[str]
    negation_stoppers: frozenset[str]
    preamble: frozenset[str]
    replacements: Mapping[str, str]
    digest: str
    # Single words read by the frustration rule (cues.yaml, issue 15); see WORKING_EMOTIONS.
    repetition_words: frozenset[str]
    effort_hint_words: frozenset[str]
    files: tuple[str, ...]

    def family(self, name: str) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.family == name)


# ------------------------------------------------------------------ validation


def _fail(source: str, message: str) -> LexiconError:
    return LexiconError(f"{source}: {message}")


def _as_mapping(value: object, source: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _fail(source, f"{what} must be a mapping with string keys")
    return value


def _as_list(value: object, source: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(source, f"{what} must be a list")
    return value


def _number(value: object, source: str, what: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(source, f"{what} must be a number")
    number = float(value)
    if not lo <= number <= hi:
        raise _fail(source, f"{what}={number} outside [{lo}, {hi}]")
    return number


def _flag(value: object, source: str, what: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(source, f"{what} must be true or false")
    return value


def _choice(value: object, source: str, what: str, choices: Iterable[str]) -> str:
    options = tuple(choices)
    if value not in options:
        raise _fail(source, f"{what} must be one of {', '.join(options)}, not {value!r}")
    assert isinstance(value, str)
    return value


def _emotions(value: object, source: str, what: str) -> tuple[tuple[str, float], ...]:
    mapping = _as_mapping(value, source, what)
    result = []
    for label, weight in mapping.items():
        _choice(label, source, f"{what} label", EMOTIONS + WORKING_EMOTIONS)
        result.append((label, _number(weight, source, f"{what}.{label}", 0.0, 1.0)))
    return tuple(result)


def _build_entry(  # noqa: PLR0915 - one validation block per family
    family: str, raw: object, defaults: Mapping[str, Any], source: str, label: str = ""
) -> Entry:
    item = _as_mapping(raw, source, f"{family} entry")
    unknown = set(item) - _ENTRY_KEYS[family]
    if unknown:
        raise _fail(source, f"unknown key(s) {sorted(unknown)} in entry {item!r}")
    merged: dict[str, Any] = {**defaults, **item}
    pattern = merged.get("pattern")
    sample = merged.get("sample")
    if not isinstance(pattern, str) or not pattern.strip():
        raise _fail(source, f"entry without a pattern: {item!r}")
    if not isinstance(sample, str) or not sample.strip():
        raise _fail(source, f"entry {pattern!r} needs a non-empty sample")
    where = f"entry {pattern!r}"
    try:
        compiled = compile_pattern(pattern)
    except PatternError as exc:
        raise _fail(source, f"{where}: {exc}") from exc
    kwargs: dict[str, Any] = {
        key: _flag(merged.get(key, False), source, f"{where} {key}")
        for key in _POSITION_KEYS
        if key in _ENTRY_KEYS[family]
    }
    if family in SPAN_FAMILIES:
        if family == "neutral_term":
            kwargs["valence"] = 0.0
        else:
            kwargs["valence"] = _number(merged.get("valence"), source, f"{where} valence", -4, 4)
            sign = {"complaint": -1, "negated_problem": 1}.get(family)
            if sign is not None and kwargs["valence"] * sign <= 0:
                raise _fail(source, f"{where}: valence has the wrong sign for {family}")
            if kwargs["valence"] == 0:
                raise _fail(source, f"{where}: valence must not be 0 (use neutral_terms.yaml)")
            kwargs["negatable"] = _flag(merged.get("negatable", False), source, f"{where}")
            kwargs["emotions"] = _emotions(merged.get("emotions", {}), source, where)
    elif family == "politeness":
        kwargs["scope"] = _choice(merged.get("scope"), source, f"{where} scope", _POLITENESS_SCOPES)
        kwargs["factor"] = _number(merged.get("factor", 0.0), source, f"{where} factor", 0, 1)
    elif family == "sarcasm":
        kwargs["cue"] = _choice(merged.get("cue"), source, f"{where} cue", _SARCASM_CUES)
        kwargs["valence"] = _number(merged.get("valence"), source, f"{where} valence", -4, 0)
        kwargs["clause_break"] = _flag(merged.get("clause_break", False), source, where)
        kwargs["emotions"] = _emotions(merged.get("emotions", {}), source, where)
    elif family == "request":
        kwargs["question"] = _flag(merged.get("question", False), source, where)
        kwargs["factor"] = _number(merged.get("factor", 0.0), source, f"{where} factor", 0, 1)
    elif family == "cue":
        kwargs["kind"] = _choice(merged.get("kind", "problem"), source, f"{where}", _CUE_KINDS)
        kwargs["negatable"] = _flag(merged.get("negatable", True), source, where)
    elif family == "emotion":
        kwargs["label"] = label
        kwargs["weight"] = _number(merged.get("weight"), source, f"{where} weight", 0.05, 1)
        kwargs["negatable"] = _flag(merged.get("negatable", True), source, where)
        negated_as = merged.get("negated_as", "")
        if negated_as:
            _choice(negated_as, source, f"{where} negated_as", EMOTIONS)
        kwargs["negated_as"] = negated_as
    elif family == "aspect":
        kwargs["label"] = label
    kwargs["constrained"] = any(
        kwargs.get(key, False)
        for key in ("at_start", "at_end", "whole_sentence", "clause_break", "question")
    )
    return Entry(
        family=family,
        pattern=pattern,
        sample=sample,
        source=source,
        compiled=compiled,
        **kwargs,
    )


def _read_entries(family: str, document: dict[str, Any], source: str) -> list[Entry]:
    defaults = _as_mapping(document.get("defaults", {}), source, "defaults")
    unknown_defaults = set(defaults) - _ENTRY_KEYS[family]
    if unknown_defaults:
        raise _fail(source, f"unknown default key(s) {sorted(unknown_defaults)}")
    if family in ("emotion", "aspect"):
        labels = _as_mapping(document.get("labels"), source, "labels")
        expected = EMOTIONS + WORKING_EMOTIONS if family == "emotion" else ASPECTS
        if tuple(labels) != expected:
            raise _fail(source, f"labels must be exactly, in order: {', '.join(expected)}")
        entries = []
        for label, group in labels.items():
            group_map = _as_mapping(group, source, f"labels.{label}")
            if set(group_map) - {"description", "entries"}:
                raise _fail(source, f"labels.{label} may only have description and entries")
            raw_entries = _as_list(group_map.get("entries"), source, f"labels.{label}.entries")
            if not raw_entries:
                raise _fail(source, f"labels.{label} has no entries")
            entries += [_build_entry(family, raw, defaults, source, label) for raw in raw_entries]
        return entries
    raw_entries = _as_list(document.get("entries"), source, "entries")
    if not raw_entries:
        raise _fail(source, "no entries")
    return [_build_entry(family, raw, defaults, source) for raw in raw_entries]


def _word_list(document: dict[str, Any], key: str, source: str) -> frozenset[str]:
    words = _as_list(document.get(key), source, key)
    if not words or not all(isinstance(w, str) and w and " " not in w for w in words):
        raise _fail(source, f"{key} must be a non-empty list of single words")
    return frozenset(w.lower() for w in words)


def _parse(files: Mapping[str, bytes]) -> Lexicon:
    expected = {*FAMILIES.values(), NORMALIZATION_FILE}
    missing = expected - set(files)
    if missing:
        raise LexiconError(f"missing lexicon file(s): {', '.join(sorted(missing))}")
    extra = set(files) - expected
    if extra:
        raise LexiconError(f"unexpected lexicon file(s): {', '.join(sorted(extra))}")
    entries: list[Entry] = []
    negators: frozenset[str] = frozenset()
    stoppers: frozenset[str] = frozenset()
    preamble: frozenset[str] = frozenset()
    repetition: frozenset[str] = frozenset()
    hints: frozenset[str] = frozenset()
    for family, name in FAMILIES.items():
        try:
            document = yaml.load(files[name], Loader=_Loader)
        except yaml.YAMLError as exc:
            raise _fail(name, f"invalid YAML: {exc}") from exc
        document = _as_mapping(document, name, "the document")
        if document.get("family") != family:
            raise _fail(name, f"family must be {family!r}")
        allowed = {"family", "description", "defaults", "entries", "labels"}
        if family == "cue":
            allowed |= {"negators", "negation_stoppers", "preamble", "repetition", "effort_hints"}
            repetition = _word_list(document, "repetition", name)
            hints = _word_list(document, "effort_hints", name)
            negators = _word_list(document, "negators", name)
            stoppers = _word_list(document, "negation_stoppers", name)
            preamble = _word_list(document, "preamble", name)
        unknown = set(document) - allowed
        if unknown:
            raise _fail(name, f"unknown top-level key(s) {sorted(unknown)}")
        family_entries = _read_entries(family, document, name)
        seen: set[tuple[str, str]] = set()
        for entry in family_entries:
            key = (entry.label, " ".join(entry.pattern.lower().split()))
            if key in seen:
                raise _fail(name, f"duplicate pattern {entry.pattern!r}")
            seen.add(key)
        entries += family_entries
    try:
        norm = _as_mapping(yaml.load(files[NORMALIZATION_FILE], Loader=_Loader), "n", "doc")
    except yaml.YAMLError as exc:
        raise _fail(NORMALIZATION_FILE, f"invalid YAML: {exc}") from exc
    if norm.get("family") != "normalization" or set(norm) - {
        "family",
        "description",
        "replacements",
    }:
        raise _fail(NORMALIZATION_FILE, "expected keys: family (normalization), replacements")
    replacements = _as_mapping(norm.get("replacements"), NORMALIZATION_FILE, "replacements")
    for source_word, target in replacements.items():
        if not isinstance(target, str) or not target or " " in source_word:
            raise _fail(NORMALIZATION_FILE, f"bad replacement {source_word!r}: {target!r}")
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return Lexicon(
        entries=tuple(entries),
        negators=negators,
        negation_stoppers=stoppers,
        preamble=preamble,
        replacements={k.lower(): v for k, v in replacements.items()},
        digest=digest.hexdigest(),
        files=tuple(sorted(files)),
        repetition_words=repetition,
        effort_hint_words=hints,
    )


_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_dir(root: Traversable | Path) -> dict[str, bytes]:
    return {
        item.name: item.read_bytes()
        for item in root.iterdir()
        if item.is_file() and item.name.endswith(".yaml")
    }


@cache
def _load_default() -> Lexicon:
    return _parse(_read_dir(resources.files("services.sentiment.cx.lexicon")))


def load_lexicon(directory: str | Path | None = None) -> Lexicon:
    """Parse the lexicon shipped with the package, or the ``*.yaml`` files in ``directory``.

    The packaged lexicon is parsed once per process; a directory is re-read
    on every call (tests use it to check that edits change the model version).
    """
    if directory is None:
        return _load_default()
    return _parse(_read_dir(Path(directory)))
