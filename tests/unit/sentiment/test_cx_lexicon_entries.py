"""Every entry of every CX lexicon file, exercised through its ``sample``.

Parametrised over the YAML files, so a new entry is tested the moment it is
added (and an entry whose sample does not show the intended behaviour fails
with the entry's pattern in the test id). The behaviour checked per family:

* complaint: the sample, alone and in a neutral carrier sentence, is negative
  and the entry is among the rules that fired;
* negated_problem: the sample is not negative (and the entry fired);
* evaluation: the label has the sign of the entry's valence;
* neutral_term: the sample is neutral and the entry fired;
* sarcasm: the sample is negative and the frame fired; if VADER scored it
  positive, the frame flipped it;
* request: the sample is neutral and matches the entry;
* politeness: in a complaint the entry fires and the text is negative;
  courtesy (scope "always") is never positive on its own;
* cue: a problem cue makes the text a complaint (thanks get dampened); a
  sarcasm marker makes a sarcasm frame fire;
* emotion: the sample has the entry's label; a negator before it removes the
  label (or turns it into ``negated_as``);
* aspect: the sample mentions the entry's aspect;
* normalization: each replacement is applied.
"""

from __future__ import annotations

import pytest

from services.sentiment.cx import CxAnnotator, TextAnnotation
from services.sentiment.cx import annotator as cx_annotator
from services.sentiment.cx.loader import WORKING_EMOTIONS, Entry

ANNOTATOR = CxAnnotator()
LEXICON = ANNOTATOR.lexicon


def _entries(family: str) -> list[Entry]:
    return [e for e in LEXICON.entries if e.family == family]


def _param(entries: list[Entry]) -> list[object]:
    return [pytest.param(e, id=f"{e.label + ':' if e.label else ''}{e.pattern}") for e in entries]


def matched(text: str) -> list[tuple[Entry, int, int, int]]:
    """Every lexicon match in ``text`` as (entry, sentence, start, end), before any decision."""
    annotation = ANNOTATOR.annotate(text)
    result = []
    analysis = ANNOTATOR._vader.analyse(annotation.normalized_text)
    infos = [ANNOTATOR._tokens[t] for t in analysis.tokens]
    offset = 0
    for index, sentence in enumerate(annotation.sentences):
        vader_text = ANNOTATOR._vader.demojize(sentence.text)
        n = len(vader_text.split())
        chunk = infos[offset : offset + n]
        buckets = cx_annotator.match_sentence(chunk, "?" in vader_text)
        for bucket in buckets or []:
            result += [(entry, index, i, j) for entry, i, j in bucket]
        offset += n
    return result


def fired(annotation: TextAnnotation, entry: Entry, rules: set[str] | None = None) -> bool:
    return any(
        a.pattern == entry.pattern
        and a.source == entry.source
        and (rules is None or a.rule in rules)
        for a in annotation.adjustments
    )


def _rules(annotation: TextAnnotation) -> str:
    return "; ".join(f"{a.rule}:{a.pattern}={a.contribution}" for a in annotation.adjustments)


# ------------------------------------------------------------------ every entry


@pytest.mark.parametrize("entry", _param(list(LEXICON.entries)))
def test_sample_matches_its_entry(entry: Entry) -> None:
    assert any(e is entry for e, *_ in matched(entry.sample)), entry.sample


@pytest.mark.parametrize("entry", _param(_entries("complaint")))
def test_complaint_phrase_is_negative_alone_and_in_a_neutral_carrier(entry: Entry) -> None:
    texts = [entry.sample]
    if not (entry.at_start or entry.at_end or entry.whole_sentence):
        texts.append(f"For the record: {entry.sample}.")
    for text in texts:
        annotation = ANNOTATOR.annotate(text)
        assert annotation.label == "negative", (text, _rules(annotation))
        assert fired(annotation, entry, {"complaint"}), (text, _rules(annotation))


@pytest.mark.parametrize("entry", _param(_entries("negated_problem")))
def test_negated_problem_is_not_negative(entry: Entry) -> None:
    annotation = ANNOTATOR.annotate(entry.sample)
    assert annotation.label != "negative", _rules(annotation)
    assert annotation.compound >= 0.05, _rules(annotation)
    assert fired(annotation, entry, {"negated_problem"})


@pytest.mark.parametrize("entry", _param(_entries("evaluation")))
def test_evaluation_has_the_sign_of_its_valence(entry: Entry) -> None:
    annotation = ANNOTATOR.annotate(entry.sample)
    expected = "positive" if entry.valence > 0 else "negative"
    assert annotation.label == expected, _rules(annotation)
    assert fired(annotation, entry, {"evaluation"})


@pytest.mark.parametrize("entry", _param(_entries("neutral_term")))
def test_neutral_term_is_neutral(entry: Entry) -> None:
    annotation = ANNOTATOR.annotate(entry.sample)
    assert annotation.label == "neutral", _rules(annotation)
    assert fired(annotation, entry, {"neutral_term"})


@pytest.mark.parametrize("entry", _param(_entries("sarcasm")))
def test_sarcasm_frame_flips(entry: Entry) -> None:
    annotation = ANNOTATOR.annotate(entry.sample)
    assert annotation.label == "negative", _rules(annotation)
    sarcasm = [a for a in annotation.adjustments if a.rule == "sarcasm"]
    assert any(a.pattern == entry.pattern for a in sarcasm), _rules(annotation)
    assert sum(a.contribution for a in sarcasm) < 0
    if annotation.vader_normalized.compound > 0:
        assert annotation.compound < 0


@pytest.mark.parametrize("entry", _param(_entries("request")))
def test_request_is_neutral(entry: Entry) -> None:
    annotation = ANNOTATOR.annotate(entry.sample)
    assert annotation.label == "neutral", _rules(annotation)
    assert any(a.rule == "request" for a in annotation.adjustments) or (
        annotation.vader_normalized.compound == 0
    )


@pytest.mark.parametrize("entry", _param(_entries("politeness")))
def test_politeness_does_not_make_a_complaint_positive(entry: Entry) -> None:
    text = f"{entry.sample}, my parcel never arrived."
    annotation = ANNOTATOR.annotate(text)
    assert annotation.label == "negative", _rules(annotation)
    assert fired(annotation, entry, {"politeness"}), _rules(annotation)
    contribution = sum(a.contribution for a in annotation.adjustments if a.pattern == entry.pattern)
    assert contribution <= 0


@pytest.mark.parametrize(
    "entry", _param([e for e in _entries("politeness") if e.scope == "always"])
)
def test_courtesy_alone_is_not_positive(entry: Entry) -> None:
    annotation = ANNOTATOR.annotate(entry.sample)
    assert annotation.label != "positive", _rules(annotation)


@pytest.mark.parametrize("entry", _param([e for e in _entries("cue") if e.kind == "problem"]))
def test_problem_cue_makes_the_text_a_complaint(entry: Entry) -> None:
    annotation = ANNOTATOR.annotate(f"Thank you. {entry.sample}")
    thanks = [a for a in annotation.adjustments if a.rule == "politeness"]
    assert thanks, _rules(annotation)
    assert sum(a.contribution for a in thanks) < 0


@pytest.mark.parametrize(
    "entry", _param([e for e in _entries("cue") if e.kind == "sarcasm_marker"])
)
def test_sarcasm_marker_lets_a_frame_fire(entry: Entry) -> None:
    annotation = ANNOTATOR.annotate(f"oh great, {entry.sample}")
    assert any(a.rule == "sarcasm" for a in annotation.adjustments), _rules(annotation)
    assert annotation.label == "negative"


@pytest.mark.parametrize("entry", _param(_entries("emotion")))
def test_emotion_entry_gives_its_label(entry: Entry) -> None:
    if entry.label in WORKING_EMOTIONS:
        # Resolved into frustration (or nothing) with the text's label; never published.
        assert any(e is entry for e, *_ in matched(entry.sample))
        assert not set(WORKING_EMOTIONS) & set(ANNOTATOR.annotate(entry.sample).emotions)
        return
    annotation = ANNOTATOR.annotate(entry.sample)
    assert entry.label in annotation.emotions, annotation.emotions
    assert 0 < annotation.emotions[entry.label] <= 1


@pytest.mark.parametrize("entry", _param([e for e in _entries("emotion") if e.negatable]))
def test_negated_emotion_entry(entry: Entry) -> None:
    hits = [(s, i) for e, s, i, _ in matched(entry.sample) if e is entry]
    assert hits
    tokens = ANNOTATOR._vader.analyse(ANNOTATOR.annotate(entry.sample).normalized_text).tokens
    sentence_offsets = []
    offset = 0
    for sentence in ANNOTATOR.annotate(entry.sample).sentences:
        sentence_offsets.append(offset)
        offset += len(ANNOTATOR._vader.demojize(sentence.text).split())
    position = sentence_offsets[hits[0][0]] + hits[0][1]
    negated = " ".join([*tokens[:position], "not", *tokens[position:]])
    emotions = ANNOTATOR.annotate(negated).emotions
    other_sources = [
        e
        for e, *_ in matched(negated)
        if e.family == "emotion" and e.label == entry.label and e is not entry
    ]
    if not other_sources:
        assert entry.label not in emotions, (negated, emotions)
    if entry.negated_as:
        assert entry.negated_as in emotions, (negated, emotions)


@pytest.mark.parametrize("entry", _param(_entries("aspect")))
def test_aspect_entry_detects_its_aspect(entry: Entry) -> None:
    annotation = ANNOTATOR.annotate(entry.sample)
    assert entry.label in annotation.aspects
    assert annotation.aspects[entry.label].mentions >= 1


@pytest.mark.parametrize(
    ("source", "target"), sorted(LEXICON.replacements.items()), ids=sorted(LEXICON.replacements)
)
def test_normalization_replacement(source: str, target: str) -> None:
    assert ANNOTATOR.annotate(f"see {source} here").normalized_text == f"see {target} here"
