"""``CxAnnotator.annotate_english`` decides a text's language as ``LanguageDetector`` does.

The annotator answers the language gate from facts memoised per word (a foreign function
word, a letter of another script) and hands only the other texts to the detector; the
language must be the detector's own answer for every text, blanks of other scripts included.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.sentiment.cx import CxAnnotator
from services.sentiment.language import ENGLISH, LanguageDetector

ANNOTATOR = CxAnnotator()
DEVSET = (
    Path(__file__).resolve().parents[3]
    / "evaluation"
    / "sentiment"
    / "devset"
    / "customer_texts.jsonl"
)

TEXTS = [
    "my parcel never arrived \U0001f621",
    "my parcel never arrived\u3000again",
    "my parcel never arrived\u1680again",
    "my parcel\u2003never arrived",
    "Спасибо, the refund came through",
    "la commande n'est pas arrivée, merci",
    "merci for nothing @SkyAir",
    "Ελπίζω να λυθεί σύντομα",
    "退款还没有到账",
    "café was cold, crème brûlée great",
    "",
    "\u3000",
    "ok",
]


@pytest.mark.parametrize("text", TEXTS)
def test_the_language_is_the_detectors(text: str) -> None:
    expected = LanguageDetector().language_of(text)
    language, annotation = ANNOTATOR.annotate_english(text, text.split(), LanguageDetector())
    assert language == expected
    assert (annotation is not None) == (expected == ENGLISH)


def test_dev_set_languages() -> None:
    languages = LanguageDetector()
    for line in DEVSET.read_text(encoding="utf-8").splitlines():
        if line.strip():
            text = json.loads(line)["text"]
            language, _ = ANNOTATOR.annotate_english(text, text.split(), languages)
            assert language == languages.language_of(text), text
