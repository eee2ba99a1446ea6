"""The lexicon files: model version, strict validation, pattern grammar, licence headers."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from services.sentiment.cx import CxAnnotator, LexiconError, load_lexicon
from services.sentiment.cx.loader import FAMILIES, NORMALIZATION_FILE
from services.sentiment.cx.patterns import PatternError, compile_pattern
from services.sentiment.fastvader import VADER_VERSION

LEXICON_DIR = Path(str(resources.files("services.sentiment.cx.lexicon")))
YAML_FILES = sorted(LEXICON_DIR.glob("*.yaml"))


@pytest.fixture
def lexicon_copy(tmp_path: Path) -> Path:
    for path in YAML_FILES:
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + text, encoding="utf-8")


# ----------------------------------------------------------------- model version


def test_model_version_format_and_digest() -> None:
    digest = hashlib.sha256()
    for path in YAML_FILES:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    version = CxAnnotator().model_version
    assert version == f"rapport-cx/{VADER_VERSION}/{digest.hexdigest()[:12]}"
    assert re.fullmatch(r"rapport-cx/\d+\.\d+\.\d+/[0-9a-f]{12}", version)


def test_model_version_is_stable_across_instances_and_processes(lexicon_copy: Path) -> None:
    here = CxAnnotator().model_version
    assert CxAnnotator().model_version == here
    assert CxAnnotator(lexicon_dir=lexicon_copy).model_version == here
    code = "from services.sentiment.cx import CxAnnotator; print(CxAnnotator().model_version)"
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == here


def test_model_version_changes_when_any_lexicon_file_changes(lexicon_copy: Path) -> None:
    original = CxAnnotator(lexicon_dir=lexicon_copy).model_version
    seen = {original}
    for path in sorted(lexicon_copy.glob("*.yaml")):
        content = path.read_text(encoding="utf-8")
        path.write_text(content + "\n# edited\n", encoding="utf-8")
        version = CxAnnotator(lexicon_dir=lexicon_copy).model_version
        assert version not in seen, path.name
        seen.add(version)
        path.write_text(content, encoding="utf-8")
    assert CxAnnotator(lexicon_dir=lexicon_copy).model_version == original


def test_results_carry_the_model_version() -> None:
    annotator = CxAnnotator()
    assert annotator.annotate("ok").model_version == annotator.model_version


def test_an_added_entry_takes_effect(lexicon_copy: Path) -> None:
    text = "the gizmo was frobnicated"
    assert CxAnnotator(lexicon_dir=lexicon_copy).annotate(text).label == "neutral"
    _append(
        lexicon_copy / "complaints.yaml",
        '  - {pattern: "frobnicated", sample: "it was frobnicated", valence: -2.0}\n',
    )
    assert CxAnnotator(lexicon_dir=lexicon_copy).annotate(text).label == "negative"


# -------------------------------------------------------------------- validation


def test_every_family_has_its_file_and_header() -> None:
    names = {p.name for p in YAML_FILES}
    assert names == {*FAMILIES.values(), NORMALIZATION_FILE}
    for path in YAML_FILES:
        head = path.read_text(encoding="utf-8").splitlines()[0]
        assert "Apache-2.0" in head, path.name


@pytest.mark.parametrize(
    ("file", "addition", "message"),
    [
        (
            "complaints.yaml",
            '  - {pattern: "(oops", sample: "oops", valence: -1}\n',
            "closing bracket",
        ),
        ("complaints.yaml", '  - {pattern: "oops", sample: "oops", valence: 1}\n', "wrong sign"),
        ("complaints.yaml", '  - {pattern: "oops", valence: -1}\n', "sample"),
        (
            "complaints.yaml",
            '  - {pattern: "oops", sample: "x", valence: -1, typo: 1}\n',
            "unknown",
        ),
        (
            "complaints.yaml",
            '  - {pattern: "still waiting", sample: "x", valence: -1}\n',
            "duplicate",
        ),
        (
            "complaints.yaml",
            '  - {pattern: "{when} late", sample: "x", valence: -1}\n',
            "placeholder",
        ),
        ("sarcasm.yaml", '  - {pattern: "yay", sample: "yay", cue: maybe}\n', "cue"),
        ("politeness.yaml", '  - {pattern: "yo", sample: "yo", scope: never}\n', "scope"),
        ("negated_problems.yaml", '  - {pattern: "[no] fuss", sample: "x"}\n', "optional"),
        ("requests.yaml", '  - {pattern: "_ please", sample: "x"}\n', "start"),
    ],
)
def test_bad_entries_are_load_errors(
    lexicon_copy: Path, file: str, addition: str, message: str
) -> None:
    _append(lexicon_copy / file, addition)
    with pytest.raises(LexiconError, match=message):
        load_lexicon(lexicon_copy)


def test_bad_emotion_label_and_missing_file_are_load_errors(lexicon_copy: Path) -> None:
    path = lexicon_copy / "emotions.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  surprise:", "  shock:"), "utf-8")
    with pytest.raises(LexiconError, match="labels must be exactly"):
        load_lexicon(lexicon_copy)
    path.unlink()
    with pytest.raises(LexiconError, match="missing lexicon file"):
        load_lexicon(lexicon_copy)


# ----------------------------------------------------------------- pattern grammar


def _matches(pattern: str, text: str) -> bool:
    compiled = compile_pattern(pattern)
    return any(
        part.regex.fullmatch(text) if part.regex else text in part.trigger.words
        for part in compiled.parts
    )


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("on hold [for] {duration}", "on hold for 2 hours", True),
        ("on hold [for] {duration}", "on hold 45 mins", True),
        ("on hold [for] {duration}", "on hold for an hour and a half", True),
        ("on hold [for] {duration}", "on hold for 3hrs", True),
        ("on hold [for] {duration}", "on hold for ever", False),
        ("took {long_duration}", "took 3 weeks", True),
        ("took {long_duration}", "took 45 minutes", True),
        ("took {long_duration}", "took 5 minutes", False),
        ("cancel*", "cancellation", True),
        ("cancel*", "canceled", True),
        ("(no one|nobody) called", "no one called", True),
        ("(no one|nobody) called", "nobody called", True),
        ("didn't arrive", "didnt arrive", True),
        ("charged {times}", "charged twice", True),
        ("charged {times}", "charged 3 times", True),
        ("only {money} refunded", "only £45 refunded", True),
        ("only {money} refunded", "only 140 eur refunded", True),
        ("{ordinal} time", "4th time", True),
        ("{be} lost", "has been lost", True),
        ("a _ c", "a b c", True),
        ("a [_] c", "a c", True),
        ("a [b|x y] c", "a x y c", True),
        (":\\)", ":)", True),
    ],
)
def test_pattern_grammar(pattern: str, text: str, expected: bool) -> None:
    assert _matches(pattern, text) is expected


@pytest.mark.parametrize(
    "pattern", ["", "[a] b", "_ a", "a | b", "(a", "a)", "a {nope}", "(a|) b", "[a|b"]
)
def test_invalid_patterns(pattern: str) -> None:
    with pytest.raises(PatternError):
        compile_pattern(pattern)


def test_alternation_patterns_split_into_parts_with_tight_filters() -> None:
    compiled = compile_pattern("(stranded|no way to|locked out) now")
    assert len(compiled.parts) == 3
    seconds = {frozenset(p.trigger.words): p.second for p in compiled.parts}
    assert seconds[frozenset({"no"})] == frozenset({"way"})
    assert seconds[frozenset({"stranded"})] == frozenset({"now"})
