"""FastVader must return exactly what vaderSentiment returns, for any string.

Exact dict equality (not approx): stored scores and thresholds come from the
reference, so an ulp of drift would re-label boundary feedback. The fixed corpus
targets every rule of the reference (and its quirks) on purpose; the
Hypothesis test then explores combinations nobody thought to write down.
"""

from __future__ import annotations

import importlib
import random
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer, SentiText

from services.sentiment import fastvader
from services.sentiment.fastvader import VADER_VERSION, FastVader, iter_sentences

Scores = dict[str, float]

reference_module = importlib.import_module("vaderSentiment.vaderSentiment")
_REFERENCE = SentimentIntensityAnalyzer()
_FAST = FastVader()

# --- building blocks ---------------------------------------------------------------

_LEXICON_WORDS = sorted(_REFERENCE.lexicon)
_BOOSTERS = sorted(reference_module.BOOSTER_DICT)
_NEGATIONS = list(reference_module.NEGATE)
_SPECIAL_PHRASES = sorted(reference_module.SPECIAL_CASES)
_IDIOMS = sorted(reference_module.SENTIMENT_LADEN_IDIOMS)
# Single code points are the only emoji the reference substitutes; multi-code-point
# ones (flags, ZWJ families, skin tones, VS16) exercise the "never matches" path.
_EMOJI = sorted(_REFERENCE.emojis)
_RULE_WORDS = [
    "but", "BUT", "But", "least", "at", "very", "kind", "of", "sort", "kind of",
    "sort of", "just enough", "never", "so", "this", "without", "doubt", "no", "NO",
    "No", "or", "nor", "not", "isn't", "ISN'T", "can't", "won't", "aint", "uh-uh",
    "never so", "never this", "without doubt", "at least", "very least", "the",
    "kinda", "sorta", "KINDA",
]  # fmt: skip
_EMOTICONS = [
    ":)", ":-)", ":(", ":-(", ":D", ":-D", ";)", ":P", ":/", "<3", "</3", ":'(", "^_^",
    "XD", "xD", ":o", "(:", "):", "=)", ":*", "O_o", "o.O", ":-Þ", "D:",
]  # fmt: skip
_NOISE = [
    "https://example.com/a?b=c", "www.shop.example", "@support", "@Team_Lead", "#fail",
    "#LoveIt", "42", "3.5", "$19.99", "100%", "2024-06-01", "#1", "A+", "OK", "ok", "k",
    "I", "a", "e.g.", "etc.", "...", "!!!", "??", "?!", "!?!", "!!!!!!!", "????", "-",
    "'", '"', "(", ")", "--", "*", "café", "naïve", "Straße", "ΑΣ", "İstanbul",
    "\u212aind", "日本語", "مرحبا", "привет", "zero\u200bwidth", "e\u0301", "ＧＯＯＤ",
    "\u00a0", "GOOD!!!", "Bad...", "good,", "(great)", "'love'", "\"hate\"",
]  # fmt: skip
_SEPARATORS = [" ", " ", " ", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u2003", ""]

_HANDWRITTEN = [
    "",
    " ",
    "   \t\n  ",
    "\u00a0\u2003",
    "!!!",
    "???",
    ":)",
    "😀",
    "😀😀",
    "a😀b",
    " 😀 ",
    "😀great",
    "great😀",
    "I ❤️ it",
    "🇺🇸 flag",
    "👍🏽 thumbs",
    "👨‍👩‍👧 family",
    "ON! arrow 🔛",
    "VADER is smart, handsome, and funny.",
    "VADER is smart, handsome, and funny!",
    "VADER is very smart, handsome, and funny.",
    "VADER is VERY SMART, handsome, and FUNNY.",
    "VADER is VERY SMART, handsome, and FUNNY!!!",
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "VADER is not smart, handsome, nor funny.",
    "The book was good.",
    "At least it isn't a horrible book.",
    "The book was only kind of good.",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "Today SUX!",
    "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Not bad at all",
    "Sentiment analysis has never been good.",
    "Sentiment analysis has never been this good!",
    "Most automated sentiment analysis tools are shit.",
    "With VADER, sentiment analysis is the shit!",
    "Other sentiment analysis tools can be quite bad.",
    "On the other hand, VADER is quite bad ass",
    "VADER is such a badass!",
    "Without a doubt, excellent idea.",
    "Roger Dodger is one of the most compelling variations on this theme.",
    "Roger Dodger is at least compelling as a variation on the theme.",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "Not such a badass after all.",
    "Without a doubt, an excellent idea.",
    # "but" rule: list.index() quirk makes equal valences interact.
    "good good but good",
    "great good good but bad bad",
    "good bad good bad but good bad good bad",
    "but good",
    "good but",
    "good but but bad",
    "nice great but great nice great",
    # "no" rules.
    "no",
    "no good",
    "no no good",
    "no way good",
    "no love or hate",
    "no love nor hate",
    "NO good",
    "good no",
    "no problem",
    # "least" rules.
    "least good",
    "at least good",
    "very least good",
    "the least good",
    "least",
    # caps differential.
    "GOOD",
    "GOOD BAD",
    "GOOD bad",
    "VERY good",
    "VERY GOOD",
    "VERY GOOD movie",
    "VERY bad movie",
    "EXTREMELY BAD service here",
    "KIND OF good movie",
    "HARDLY bad at all here",
    # window of three preceding words.
    "very very very good",
    "not very very good",
    "never so good",
    "never this good",
    "never so very good",
    "so very good day",
    "this is so good",
    "without doubt good",
    "without any doubt good",
    "kind of good",
    "sort of bad",
    "it was kind of sort of good",
    "just enough good",
    "the bomb",
    "it is the bomb",
    "yeah right",
    "oh yeah right sure",
    "kiss of death",
    "it was the kiss of death",
    "this place is to die for",
    "my beating heart",
    "waiting at the bus stop",
    "upper hand",
    "cut the mustard",
    "under the weather today",
    "isn't good",
    "wasn't bad",
    "couldn't be happier",
    "shouldn't've been terrible",
    "doesn't work at all, not happy",
]


def _case(rng: random.Random, word: str) -> str:
    roll = rng.random()
    if roll < 0.12:
        return word.upper()
    if roll < 0.2:
        return word.title()
    return word


def _token(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.34:
        word = rng.choice(_LEXICON_WORDS)
    elif roll < 0.46:
        word = rng.choice(_RULE_WORDS)
    elif roll < 0.56:
        word = rng.choice(_BOOSTERS)
    elif roll < 0.64:
        word = rng.choice(_NEGATIONS)
    elif roll < 0.69:
        word = rng.choice(_SPECIAL_PHRASES + _IDIOMS)
    elif roll < 0.75:
        word = rng.choice(_EMOTICONS)
    elif roll < 0.81:
        word = rng.choice(_EMOJI)
    elif roll < 0.93:
        word = rng.choice(_NOISE)
    else:
        word = "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randrange(1, 6)))
    word = _case(rng, word)
    if rng.random() < 0.12:
        word += rng.choice(["!", "!!", "!!!", "?", "??", "???", ".", ",", "...", "?!"])
    if rng.random() < 0.04:
        word = rng.choice(["(", '"', "'", "*"]) + word
    return word


def _generated_text(rng: random.Random, max_tokens: int) -> str:
    n_tokens = rng.randrange(0, max_tokens + 1)
    parts: list[str] = []
    for _ in range(n_tokens):
        parts.append(_token(rng))
        parts.append(rng.choice(_SEPARATORS))
    return "".join(parts)


def _corpus() -> Iterator[str]:
    yield from _HANDWRITTEN
    rng = random.Random(31337)
    for _ in range(3200):
        yield _generated_text(rng, 12)
    for _ in range(300):
        yield _generated_text(rng, 60)
    # "but" texts from a tiny vocabulary, so that equal valences (which the
    # reference's list.index()-based "but" rule conflates) are common.
    pool = ["good", "bad", "great", "GOOD", "very", "not", "no", "love", "hate", ":)"]
    for _ in range(500):
        left = " ".join(rng.choice(pool) for _ in range(rng.randrange(0, 6)))
        right = " ".join(rng.choice(pool) for _ in range(rng.randrange(0, 6)))
        yield f"{left} {rng.choice(['but', 'BUT', 'But', 'but,'])} {right}"
    # Long texts: the reference is quadratic in length, so keep a handful.
    for length in (400, 1500):
        yield _generated_text(random.Random(length), length)
    yield " ".join(["good"] * 300 + ["but"] + ["bad"] * 300)
    yield "🙂" * 200 + "!" * 50 + "?" * 50


CORPUS = list(_corpus())


# --- equivalence -------------------------------------------------------------------


def test_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 3000
    assert len(set(CORPUS)) > 3000
    assert sum("but" in text.lower().split() for text in CORPUS) > 300
    assert sum(any(ch in _REFERENCE.emojis for ch in t) for t in CORPUS) > 300
    assert sum("!!" in t for t in CORPUS) > 100
    # Scores must not be trivially neutral, or equality would prove little.
    compounds = [_REFERENCE.polarity_scores(t)["compound"] for t in CORPUS[:500]]
    assert sum(c > 0.05 for c in compounds) > 100
    assert sum(c < -0.05 for c in compounds) > 100


def test_fixed_corpus_identical_to_reference() -> None:
    mismatches: list[tuple[str, Scores, Scores]] = []
    for text in CORPUS:
        expected = _REFERENCE.polarity_scores(text)
        actual = _FAST.polarity_scores(text)
        if actual != expected or list(actual) != list(expected):
            mismatches.append((text, expected, actual))
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:3]!r}"


def test_identical_bits_not_just_equal() -> None:
    # == treats -0.0 and 0.0 as equal; hex() does not, so this pins the sign too.
    for text in CORPUS[:1500]:
        expected = _REFERENCE.polarity_scores(text)
        actual = _FAST.polarity_scores(text)
        assert {k: float(v).hex() for k, v in actual.items()} == {
            k: float(v).hex() for k, v in expected.items()
        }, text


def test_repeated_calls_and_cache_eviction_do_not_change_results() -> None:
    tiny_cache = FastVader(token_cache_size=3)
    for text in CORPUS[:400] + CORPUS[:400]:
        assert tiny_cache.polarity_scores(text) == _REFERENCE.polarity_scores(text), text


def _reference_internals(text: str) -> tuple[str, list[str], list[float]]:
    """Reference's (emoji-substituted text, tokens, per-token valences) before summing.

    Mirrors the body of ``polarity_scores`` but calls the reference's own methods.
    """
    text_no_emoji = ""
    prev_space = True
    for char in text:
        if char in _REFERENCE.emojis:
            if not prev_space:
                text_no_emoji += " "
            text_no_emoji += _REFERENCE.emojis[char]
            prev_space = False
        else:
            text_no_emoji += char
            prev_space = char == " "
    converted = text_no_emoji.strip()
    sentitext = SentiText(converted)
    words: list[str] = sentitext.words_and_emoticons
    sentiments: list[float] = []
    for i, item in enumerate(words):
        if item.lower() in reference_module.BOOSTER_DICT or (
            i < len(words) - 1 and item.lower() == "kind" and words[i + 1].lower() == "of"
        ):
            sentiments.append(0)
            continue
        sentiments = _REFERENCE.sentiment_valence(0, sentitext, item, i, sentiments)
    sentiments = _REFERENCE._but_check(words, sentiments)
    return converted, words, sentiments


def test_reference_internals_helper_matches_reference() -> None:
    # Guards the helper used below against drifting from polarity_scores itself.
    for text in CORPUS[:500]:
        converted, _, sentiments = _reference_internals(text)
        expected = _REFERENCE.polarity_scores(text)
        assert _REFERENCE.score_valence(sentiments, converted) == expected


def test_token_valences_match_reference_sentiments() -> None:
    for text in CORPUS[:1500]:
        _, words, sentiments = _reference_internals(text)
        actual = _FAST.token_valences(text)
        assert [token for token, _ in actual] == words, text
        assert [valence for _, valence in actual] == sentiments, text


_HYPOTHESIS_WORDS = st.sampled_from(
    _LEXICON_WORDS[::7] + _BOOSTERS + _NEGATIONS + _RULE_WORDS + _EMOTICONS + _NOISE
)
_SPECIALS = st.sampled_from(_SPECIAL_PHRASES + _IDIOMS + _EMOJI[::5])
_PUNCT_TAIL = st.sampled_from(["", "", "", "!", "!!", "!!!!!", "?", "??", "???", ".", ","])


@st.composite
def _feedback_text(draw: st.DrawFn) -> str:
    pieces = draw(
        st.lists(
            st.tuples(
                st.one_of(
                    _HYPOTHESIS_WORDS,
                    _HYPOTHESIS_WORDS.map(str.upper),
                    _SPECIALS,
                    st.text(max_size=6),
                ),
                _PUNCT_TAIL,
                st.sampled_from(_SEPARATORS),
            ),
            max_size=25,
        )
    )
    return "".join(word + tail + sep for word, tail, sep in pieces)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(_feedback_text(), st.text(max_size=80)))
def test_property_identical_to_reference(text: str) -> None:
    assert _FAST.polarity_scores(text) == _REFERENCE.polarity_scores(text)


# --- tables and metadata -------------------------------------------------------------


def test_tables_equal_installed_reference() -> None:
    assert dict(_FAST.lexicon) == _REFERENCE.lexicon
    assert dict(_FAST.emoji_descriptions) == _REFERENCE.emojis
    assert list(fastvader.NEGATE) == reference_module.NEGATE
    assert dict(fastvader.BOOSTER_DICT) == reference_module.BOOSTER_DICT
    assert dict(fastvader.SPECIAL_CASES) == reference_module.SPECIAL_CASES
    for name in ("B_INCR", "B_DECR", "C_INCR", "N_SCALAR"):
        assert getattr(fastvader, name) == getattr(reference_module, name)


def test_lexicon_is_read_only() -> None:
    with pytest.raises(TypeError):
        _FAST.lexicon["good"] = 0.0  # type: ignore[index]


def test_vader_version_is_installed_version() -> None:
    assert VADER_VERSION == "3.3.2"


def test_no_character_lowercases_to_whitespace() -> None:
    # The tuple-based idiom matching relies on this (see fastvader module notes).
    for code_point in range(0x110000):
        if unicodedata.category(chr(code_point)) == "Cs":
            continue
        lowered = chr(code_point).lower()
        assert chr(code_point).isspace() or not any(c.isspace() for c in lowered)


# --- sentence_scores -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("", []),
        ("   \n\t ", []),
        ("Great service.", ["Great service."]),
        ("Great service. Terrible food!", ["Great service.", "Terrible food!"]),
        ("Love it!!! Would buy again?? Maybe.", ["Love it!!!", "Would buy again??", "Maybe."]),
        ("What?! No way", ["What?!", "No way"]),
        ("line one\nline two\r\nline three", ["line one", "line two", "line three"]),
        ("first\n\n\nsecond", ["first", "second"]),
        ("Rated 4.5 stars", ["Rated 4.5 stars"]),
        ("Wait... what", ["Wait...", "what"]),
        ("e.g. this splits", ["e.g.", "this splits"]),
        ("Nice :) really.", ["Nice :) really."]),
        ("no terminal punctuation", ["no terminal punctuation"]),
        ("  padded.   ", ["padded."]),
    ],
)
def test_sentence_splitting(text: str, sentences: list[str]) -> None:
    assert list(iter_sentences(text)) == sentences
    assert [s for s, _ in _FAST.sentence_scores(text)] == sentences


def test_sentence_scores_score_each_sentence_like_polarity_scores() -> None:
    text = "The courier was rude! But the refund was fast and easy.\nWould NOT recommend 😡"
    result = _FAST.sentence_scores(text)
    assert len(result) == 3
    for sentence, scores in result:
        assert scores == _REFERENCE.polarity_scores(sentence)
    assert result[0][1]["compound"] < 0 < result[1][1]["compound"]


def test_sentence_scores_is_deterministic_and_returns_fresh_dicts() -> None:
    text = "Good. Bad! Ok?"
    first = _FAST.sentence_scores(text)
    first[0][1]["compound"] = 99.0
    assert _FAST.sentence_scores(text) != first
    assert _FAST.sentence_scores(text) == _FAST.sentence_scores(text)


def test_polarity_scores_returns_fresh_dicts() -> None:
    for text in ("", "the", "good"):
        scores = _FAST.polarity_scores(text)
        scores["neu"] = -1.0
        assert _FAST.polarity_scores(text) == _REFERENCE.polarity_scores(text)
