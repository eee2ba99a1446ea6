"""Language detection: only English text is scored by the English lexicon (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from services.sentiment.language import ENGLISH, LanguageDetector

DETECTOR = LanguageDetector()
DEVSET = Path(__file__).resolve().parents[3] / "evaluation/sentiment/devset/customer_texts.jsonl"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Mon colis n'est toujours pas arrivé, c'est inadmissible.", "fr"),
        ("Bonjour, je voudrais annuler ma commande svp", "fr"),
        ("Der Kundenservice war sehr freundlich, danke!", "de"),
        ("¿Dónde está mi pedido? Llevo dos semanas esperando.", "es"),
        ("O atendimento foi péssimo, ninguém resolveu nada.", "pt"),
        ("Il pacco è arrivato rotto, voglio un rimborso.", "it"),
        ("Mijn bestelling is nog steeds niet geleverd.", "nl"),
        ("Заказ так и не пришёл", "ru"),
    ],
)
def test_other_languages_are_detected(text: str, language: str) -> None:
    assert DETECTOR.language_of(text) == language


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "meh",
        "5 stars",
        "top service 👍",
        "merci for nothing @SkyAir, still no refund",
        "the café's crème brûlée was great",
        "y is my order late again",
        "",
    ],
)
def test_english_and_too_short_to_tell_stay_english(text: str) -> None:
    assert DETECTOR.language_of(text) == ENGLISH


def test_no_dev_set_text_is_taken_for_another_language() -> None:
    texts = [json.loads(line)["text"] for line in DEVSET.read_text(encoding="utf-8").splitlines()]
    assert [t for t in texts if DETECTOR.language_of(t) != ENGLISH] == []


def test_the_service_counts_texts_by_language() -> None:
    from schemas.downstream import AnnotatedEvent
    from services.sentiment.service import TextCounter
    from tests.unit.sentiment.test_annotated_event import ANNOTATOR, canonical

    registry = CollectorRegistry()
    counter = TextCounter()
    counter.register(registry)
    for text in ("great app", "still no refund", "Der Kundenservice war sehr freundlich, danke!"):
        annotated: AnnotatedEvent = ANNOTATOR.annotate(
            canonical({"type": "free_comment", "text": text})
        )
        counter.count(annotated)

    def value(language: str, annotated: str) -> float | None:
        return registry.get_sample_value(
            "rapport_sentiment_texts_total", {"language": language, "annotated": annotated}
        )

    assert value("en", "true") == 2
    assert value("de", "false") == 1
