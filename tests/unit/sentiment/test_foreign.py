"""French and Portuguese sentiment from their packaged lexicons (issue 15, "Language")."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from evaluation.sentiment.blindset import evaluate as blind
from evaluation.sentiment.foreign import evaluate
from schemas import CanonicalEvent, EventKind
from schemas.downstream import NotAnnotatedReason
from services.ingest.domain import parse_raw
from services.runtime.settings import Settings
from services.sentiment.domain import Annotator
from services.sentiment.foreign import FOREIGN_LANGUAGES, ForeignScorer, fold


@pytest.fixture(scope="module")
def french() -> ForeignScorer:
    return ForeignScorer.load("fr")


@pytest.fixture(scope="module")
def portuguese() -> ForeignScorer:
    return ForeignScorer.load("pt")


def test_praise_and_complaint_read_their_way(french: ForeignScorer) -> None:
    assert french.score("Je suis très contente du service !").label == "positive"
    assert french.score("Service honteux, une vraie arnaque.").label == "negative"


@pytest.mark.parametrize(
    "text",
    [
        "je ne recommande pas",  # "ne" before the verb: the verb sits between ne and pas
        "Je n'aime pas du tout",  # elided "n'"
        "c'est pas terrible",  # an idiom: not great
    ],
)
def test_french_negation_and_idiom_read_as_negative(french: ForeignScorer, text: str) -> None:
    assert french.score(text).label == "negative"


def test_negated_problem_reads_as_positive(french: ForeignScorer) -> None:
    assert french.score("pas mal").label == "positive"


def test_accents_are_folded(french: ForeignScorer) -> None:
    assert fold("Très DÉÇU") == "tres decu"
    assert french.score("tres decu").compound == french.score("très déçu").compound < 0


def test_the_part_after_but_weighs_more(french: ForeignScorer) -> None:
    # VADER's "but" rule in French: x0.5 before "mais", x1.5 after.
    assert french.score("Le produit est parfait mais la livraison est nulle").compound < (
        french.score("Le produit est parfait et la livraison est nulle").compound
    )


def test_emoji_weigh_what_their_description_weighs(french: ForeignScorer) -> None:
    assert french.score("Livraison reçue 😀").compound > 0
    assert french.score("Livraison reçue").compound == 0


def test_a_negator_has_no_valence_of_its_own(portuguese: ForeignScorer) -> None:
    # LeIA rates "nao" -1.2; kept, VADER's look-back would skip it and read "não gostei" as praise.
    assert portuguese.score("não gostei").label == "negative"
    assert portuguese.score("gostei muito, recomendo").label == "positive"


def test_sentences_are_offsets_into_the_text(french: ForeignScorer) -> None:
    text = "Très déçu.  Mais le livreur était sympa !"
    sentences = french.score(text).sentences
    assert [text[s.start : s.end] for s in sentences] == ["Très déçu.", text[12:]]


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="no lexicon"):
        ForeignScorer.load("de")
    with pytest.raises(ValueError, match="no lexicon"):
        Annotator(foreign_languages=frozenset({"de"}))


def _event(text: str) -> CanonicalEvent:
    document = {
        "event_id": "e-1",
        "customer_id": "c-1",
        "type": "review",
        "stars": 2,
        "occurred_at": "2026-12-01T10:00:00Z",
        "source": "test",
        "text": text,
    }
    return parse_raw(
        json.dumps(document).encode(), EventKind.FEEDBACK, now=datetime(2026, 12, 2, tzinfo=UTC)
    )


FRENCH_COMPLAINT = "Je ne recommande pas du tout, service client honteux et livraison en retard."


def test_service_default_leaves_french_unannotated() -> None:
    annotated = Annotator().annotate(_event(FRENCH_COMPLAINT))
    assert not annotated.annotated
    assert annotated.not_annotated_reason == NotAnnotatedReason.UNSUPPORTED_LANGUAGE
    assert annotated.language == "fr"


def test_turned_on_french_is_annotated_with_sentiment_only() -> None:
    annotated = Annotator(foreign_languages=frozenset({"fr"})).annotate(_event(FRENCH_COMPLAINT))
    assert annotated.annotated
    assert annotated.language == "fr"
    assert annotated.sentiment is not None
    assert annotated.sentiment.compound < -0.05
    assert annotated.emotions == {}
    assert annotated.aspects == {}
    assert annotated.model_version.startswith("rapport-fr/")
    (sentence,) = annotated.sentiment.sentences
    assert (sentence.start, sentence.end) == (0, len(FRENCH_COMPLAINT))


def test_settings_name_the_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().sentiment.foreign_languages == frozenset()
    monkeypatch.setenv("RAPPORT_SENTIMENT__FOREIGN_LANGUAGES", '["fr", "pt"]')
    assert Settings().sentiment.foreign_languages == FOREIGN_LANGUAGES
    monkeypatch.setenv("RAPPORT_SENTIMENT__FOREIGN_LANGUAGES", '["de"]')
    with pytest.raises(ValidationError):
        Settings()


def test_recorded_foreign_evaluation_is_current() -> None:
    """The check in docs/sentiment.md: frozen texts, numbers recomputed, lexicons unchanged."""
    recorded = json.loads(evaluate.RESULTS_JSON.read_text(encoding="utf-8"))
    for line in evaluate.CHECKSUMS.read_text(encoding="utf-8").splitlines():
        digest, name = line.split()
        assert blind.sha256_of(evaluate.HERE / name) == digest, name
    assert evaluate.evaluate() == recorded, (
        "re-run `.venv/bin/python -m evaluation.sentiment.foreign.evaluate --record`"
    )


def test_each_lexicon_beats_both_alternatives_on_its_blind_texts() -> None:
    recorded = json.loads(evaluate.RESULTS_JSON.read_text(encoding="utf-8"))
    for language in FOREIGN_LANGUAGES:
        readings = recorded["sets"][language]["readings"]
        assert recorded["sets"][language]["n"] >= 200
        rapport = readings["Rapport"]["macro_f1"]
        assert rapport > readings["VADER"]["macro_f1"]
        assert rapport > readings["not annotated"]["macro_f1"]
