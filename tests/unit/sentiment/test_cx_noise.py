"""Noise normalisation: mentions, URLs, hashtags, reference numbers, text-speak, emoticons."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.sentiment.cx import CxAnnotator

ANNOTATOR = CxAnnotator()


def normalized(text: str) -> str:
    return ANNOTATOR.annotate(text).normalized_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thanks a lot @SkyAir for ruining our trip", "thanks a lot for ruining our trip"),
        ("@FlyNorthAir bag didn't make it", "bag didn't make it"),
        ("ngl @NorthBank's app is great", "honestly app is great"),
        ("see https://t.co/Qm3ZrT71xw, it times out", "see, it times out"),
        ("the link (https://shop.example/orders/A55120) is broken", "the link is broken"),
        ("www.example.com is down", "is down"),
        ("so slow #fail", "so slow fail"),
        ("#NeverAgain", "never again"),
        ("#LoveIt #happy_customer", "love it happy customer"),
        ("payments delayed again #bankfail", "payments delayed again bank fail"),
        ("Order #A12345 arrived broken", "Order arrived broken"),
        ("Ticket 88231: still no reply", "Ticket: still no reply"),
        ("Re: Case #CX-550913 — rejected", "Re: Case — rejected"),
        ("file ref LIS-44817", "file ref"),
        ("Flight AL902 delayed", "Flight delayed"),
        ("Account 40033812: charged twice", "Account: charged twice"),
        ("ur app logs me out, fix it pls", "your app logs me out, fix it please"),
        ("very gud service, gr8 app", "very good service, great app"),
        ("I didn’t get it", "I didn't get it"),
    ],
)
def test_noise_is_normalised(text: str, expected: str) -> None:
    assert normalized(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "£41.60 at 20:41 on the 4th, 940mbps, 2 hours, 45 minutes, 3rd time",
        "no signal :( again :-( D: ;) :) :-) <3 :D xD",
        "delivered in 35 min 😂🔥🙃",
        "Booking ref QX7RTP for 2 adults",
        "contact me at jane@example.com please",
    ],
)
def test_amounts_times_emoticons_and_emoji_are_kept(text: str) -> None:
    assert normalized(text) == text


def test_clean_text_is_returned_as_the_same_object() -> None:
    text = "The delivery was late again."
    assert ANNOTATOR._normalize(text) is text


def test_line_breaks_survive_normalisation() -> None:
    text = "Order #A12345\nstill not here\n\nticket 88231"
    assert normalized(text) == "Order\nstill not here\nticket"
    assert len(ANNOTATOR.annotate(text).sentences) == 3


def test_emoticons_are_scored_after_noise_removal() -> None:
    annotation = ANNOTATOR.annotate("@TelWave no signal :(")
    assert annotation.normalized_text == "no signal :("
    # VADER's "no" rule negates the emoticon (0.05, positive); the CX layer fixes it.
    assert annotation.vader_normalized.compound > 0
    assert annotation.label == "negative"
    assert "sadness" in annotation.emotions


def test_noise_does_not_change_the_label() -> None:
    clean = ANNOTATOR.annotate("thanks a lot for ruining our trip")
    noisy = ANNOTATOR.annotate("thanks a lot @SkyAir for ruining our trip https://t.co/x #travel")
    assert clean.label == noisy.label == "negative"


# Tokens of every kind the normaliser treats differently: kept, rewritten, removed, several
# words, and reduced to punctuation that attaches to the word before it.
_PIECES = (
    "thanks",
    "Order",
    "ref",
    "still",
    "no",
    "reply",
    "!",
    "?!",
    ":)",
    "—",
    "...",
    "(ok)",
    "88231:",
    "#A12345.",
    "A77102,",
    "7781-AX:",
    "@ShopMonde",
    "@x,",
    "https://t.co/Q1,",
    "www.example.com",
    "#NeverAgain",
    "#fail!",
    "ur",
    "pls",
    "gr8",
    "didn’t",
    "#AL118,",
    "Ticket",
    "88231",
    "(#A55120)",
    ":",
    ",",
    "“quoted”",
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12),
    st.lists(st.sampled_from((" ", "  ", "\t", " \u00a0")), min_size=12, max_size=12),
)
def test_one_line_normalisation_is_the_general_rebuild(
    tokens: list[str], blanks: list[str]
) -> None:
    """The one-line path (built from the tokens' outputs) gives what the general rebuild of
    the text's pieces gives, punctuation to attach included (blanks between pieces of one
    line collapse to one space either way), and so does the annotator's reading."""
    # A blank before each token (the first may be a leading blank), and one at the end.
    text = "".join(b + t for b, t in zip(blanks, tokens, strict=False)) + blanks[-1]
    annotator = CxAnnotator()
    normalizer = annotator._normalize
    normalized, words = normalizer.normalize_split(text, text.split())
    assert words == normalized.split()
    if normalized is not text:  # else nothing to normalise: the text itself, by design
        assert normalized == normalizer._rejoin(text)
    # The annotator reads the text from its per-token facts (attaching bare punctuation
    # itself): the same normalised text.
    assert annotator.annotate(text).normalized_text == normalized
