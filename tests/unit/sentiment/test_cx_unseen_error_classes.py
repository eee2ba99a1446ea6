"""The error classes issue 15 found on customer text the lexicon's author never saw.

One test per class, with sentences written for the class (not taken from the blind set).
"""

from __future__ import annotations

import pytest

from services.sentiment.cx import CxAnnotator

ANNOTATOR = CxAnnotator()


def label(text: str) -> str:
    return ANNOTATOR.annotate(text).label


def emotions(text: str) -> dict[str, float]:
    return ANNOTATOR.annotate(text).emotions


@pytest.mark.parametrize(
    "text",
    [
        "is free shipping still available on returns",
        "I'm on the premium plan",
        "is there a better rate for students",
        "what's the best before date on the jars",
        "good luck with the launch next week",
        "upgraded to the gold tier last month",
    ],
)
def test_positive_words_used_literally_are_not_praise(text: str) -> None:
    assert label(text) == "neutral"
    assert not {"joy", "satisfaction"} & set(emotions(text))


@pytest.mark.parametrize(
    "text",
    [
        "would love to know when my order ships",
        "I'd love it if you could send the invoice again",
        "it would be great if you could call me tomorrow",
    ],
)
def test_wishes_and_information_requests_are_not_praise(text: str) -> None:
    assert label(text) == "neutral"
    assert "joy" not in emotions(text)


@pytest.mark.parametrize(
    "text",
    [
        "would have been nice to get a heads up",
        "would be nice to get an answer at some point",
        "fix the app and I'll come back",
        "not renewing until you fix the billing page",
        "found a cheaper deal elsewhere",
    ],
)
def test_conditional_and_wishful_demands_are_complaints(text: str) -> None:
    assert label(text) == "negative"


@pytest.mark.parametrize(
    "text",
    [
        "can you send me the invoice? thanks!",
        "Where do I change my address? Thank you",
        "how do I add a second user? cheers",
    ],
)
def test_courtesy_thanks_after_a_request_is_neutral(text: str) -> None:
    assert label(text) == "neutral"
    assert "gratitude" not in emotions(text)


def test_thanks_before_a_request_is_still_gratitude() -> None:
    text = "Thanks so much for sorting my refund! Can I also ask when the voucher arrives?"
    assert label(text) == "positive"
    assert "gratitude" in emotions(text)


@pytest.mark.parametrize(
    "text",
    [
        "sorry, I'm lost, where do I upload the form?",
        "unfortunately I need to change my booking",
        "sorry for the late reply, Tuesday works",
        "sorry to ask, but where is the form",
    ],
)
def test_negative_words_used_without_complaint_are_neutral(text: str) -> None:
    assert label(text) == "neutral"
    assert not {"disappointment", "sadness", "frustration"} & set(emotions(text))


def test_confusion_in_a_neutral_question_still_counts() -> None:
    assert "confusion" in emotions("sorry, I'm confused, where do I upload the form?")


@pytest.mark.parametrize(
    "text",
    [
        "lol my order arrived",
        "haha that's fine",
        "wow that was fast",
        "I still use the old app",
        "I ordered again last week",
        "every time I fly I pick an aisle seat",
    ],
)
def test_no_frustration_from_laughter_wow_or_weak_repetition(text: str) -> None:
    assert "frustration" not in emotions(text)


def test_emphatic_repetition_is_still_frustration() -> None:
    assert "frustration" in emotions("the app crashed yet again")


@pytest.mark.parametrize("text", ["have a good one", "thanks :)", "good luck with the move"])
def test_courtesy_and_smileys_are_not_satisfaction(text: str) -> None:
    assert "satisfaction" not in emotions(text)


@pytest.mark.parametrize(
    "text", ["congratulations on the new store!", "congrats on the award", "you're welcome :)"]
)
def test_congratulations_and_youre_welcome_are_gratitude(text: str) -> None:
    assert "gratitude" in emotions(text)


@pytest.mark.parametrize(
    "text", ["this is stupid", "what nonsense", "I'm pissed off", "your staff are clueless"]
)
def test_insults_and_swearing_are_anger(text: str) -> None:
    assert "anger" in emotions(text)
    assert label(text) == "negative"


def test_a_shouted_complaint_is_anger() -> None:
    assert "anger" in emotions("WHERE IS MY ORDER")
    assert "anger" not in emotions("where is my order")
    assert "anger" not in emotions("GREAT SERVICE")


def test_negation_ends_at_a_clause_boundary() -> None:
    # "don't" cancels the first "love" only: the second is joy, and the text is positive.
    annotation = ANNOTATOR.annotate("I don't love the app – I love the website")
    assert "joy" in annotation.emotions
    assert annotation.label == "positive"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I switched to Happy Paws last year", "neutral"),
        ("my order from Joy Mobile never arrived", "negative"),
        ("Booked with Best Fares and the flight was cancelled", "negative"),
    ],
)
def test_lexicon_words_inside_names_mid_sentence_carry_no_valence(text: str, expected: str) -> None:
    annotation = ANNOTATOR.annotate(text)
    assert annotation.label == expected
    assert any(a.rule == "proper_noun" for a in annotation.adjustments)
    assert not {"joy", "satisfaction"} & set(annotation.emotions)


@pytest.mark.parametrize(
    "text", ["Great Service Love It", "Happy with the service", "the food was great, Happy days"]
)
def test_title_case_text_and_sentence_openers_are_not_names(text: str) -> None:
    annotation = ANNOTATOR.annotate(text)
    assert annotation.label == "positive"
    assert not any(a.rule == "proper_noun" for a in annotation.adjustments)


@pytest.mark.parametrize(
    "text",
    [
        "I've phoned them four times about the same refund",
        "I've tried to log in twice today",
        "I keep getting transferred between departments",
        "been going round in circles with your chatbot all morning",
        "getting the runaround from support",
        "I've explained it to three different agents now",
    ],
)
def test_repeated_or_blocked_effort_is_a_frustrated_complaint(text: str) -> None:
    # The guideline's frustration: repeated or blocked effort, being stuck.
    assert label(text) == "negative"
    assert "frustration" in emotions(text)


@pytest.mark.parametrize(
    "text",
    [
        "I rang them twice last month to upgrade and it was easy",
        "we emailed twice and they answered the same day",
    ],
)
def test_two_contacts_in_a_happy_story_are_not_frustration(text: str) -> None:
    assert "frustration" not in emotions(text)
    assert label(text) != "negative"


@pytest.mark.parametrize(
    "text",
    [
        "thanks so much for sorting the missing parcel",
        "thank you for rebooking my cancelled flight",
        "cheers for replacing the faulty router",
    ],
)
def test_thanks_for_solving_a_problem_is_gratitude_not_frustration(text: str) -> None:
    assert label(text) == "positive"
    assert "gratitude" in emotions(text)
    assert "frustration" not in emotions(text)


def test_a_problem_not_solved_is_still_a_complaint() -> None:
    assert label("they haven't replaced the faulty router") == "negative"


@pytest.mark.parametrize("text", ["you lot are muppets", "your managers are crooks"])
def test_plural_and_slang_insults_are_negative_anger(text: str) -> None:
    assert "anger" in emotions(text)
    assert label(text) == "negative"
