"""Run-together hashtags split into common words with a word-frequency model (issue 15)."""

from __future__ import annotations

import pytest

from services.sentiment.cx import CxAnnotator
from services.sentiment.cx.hashtags import segment_hashtag

ANNOTATOR = CxAnnotator()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        # The old rule split wherever one half was a VADER word: "nevera gain", "chic ago",
        # "firstcl ass", "win ter", "notgoodeno ugh".
        ("neveragain", ("never", "again")),
        ("chicago", ("chicago",)),
        ("firstclass", ("first", "class")),
        ("winter", ("winter",)),
        ("notgoodenough", ("not", "good", "enough")),
        ("winteriscoming", ("winter", "is", "coming")),
        ("customerservicefail", ("customer", "service", "fail")),
        ("happycustomer", ("happy", "customer")),
        ("bankfail", ("bank", "fail")),
    ],
)
def test_split_into_the_most_probable_common_words(body: str, words: tuple[str, ...]) -> None:
    assert segment_hashtag(body) == words


@pytest.mark.parametrize("body", ["xyzzyqf", "skyairq", "abc", "café", "ab_cd"])
def test_unknown_or_odd_bodies_stay_whole(body: str) -> None:
    # A piece the model does not know as a common word: no split into fragments.
    assert segment_hashtag(body) == (body,)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("waited 3 days #neveragain", "waited 3 days never again"),
        ("landed in #chicago", "landed in chicago"),
        ("upgraded to #firstclass", "upgraded to first class"),
        ("#winter sale starts", "winter sale starts"),
        ("support was #notgoodenough.", "support was not good enough."),
        ("#NotGoodEnough", "not good enough"),
        ("#NOTGOODENOUGH", "not good enough"),
        ("so slow #fail", "so slow fail"),
    ],
)
def test_hashtags_in_text(text: str, expected: str) -> None:
    assert ANNOTATOR.annotate(text).normalized_text == expected


def test_segmented_hashtag_carries_its_meaning() -> None:
    assert ANNOTATOR.annotate("third delay this month #notgoodenough").label == "negative"
    assert ANNOTATOR.annotate("landed in #chicago").label == "neutral"
    assert ANNOTATOR.annotate("flying to #winter #chicago").label == "neutral"


def test_segmentation_is_deterministic() -> None:
    first = [ANNOTATOR.annotate(f"#{b}").normalized_text for b in ("neveragain", "firstclass")]
    again = CxAnnotator()
    assert first == [again.annotate(f"#{b}").normalized_text for b in ("neveragain", "firstclass")]
