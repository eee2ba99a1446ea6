"""The token steps of a pattern part find the match its regex finds.

The matcher runs a part's token steps (``patterns.TokenStep``) instead of its regex, also for
a part with placeholders (their forms cut into tokens); both must end the match at the same
token, or not match, at every token that can start the part: checked on the dev set, the
lexicon's samples and word salads of the lexicon's own words and of placeholder forms, in
each text's single-sentence key string.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from services.sentiment.cx import annotator as cx_annotator
from services.sentiment.cx.patterns import PLACEHOLDERS, compile_pattern

ANNOTATOR = cx_annotator.CxAnnotator()
DEVSET = (
    Path(__file__).resolve().parents[3]
    / "evaluation"
    / "sentiment"
    / "devset"
    / "customer_texts.jsonl"
)


def _texts() -> list[str]:
    rows = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines() if line]
    texts = [row["text"] for row in rows]
    samples = [entry.sample for entry in ANNOTATOR.lexicon.entries if entry.sample]
    texts += samples
    # Word salads of sample words: partial matches, optional words left out, repeats.
    rng = random.Random(15)
    words = [word for sample in samples for word in sample.split()]
    texts += [" ".join(rng.choices(words, k=rng.randint(2, 12))) for _ in range(3000)]
    # Placeholder forms, whole and cut short, between the lexicon's words: "a couple of
    # hours and a half", "25 mins", "10 eur", "has still been".
    forms = [*_PLACEHOLDER_WORDS, *(word for sample in samples for word in sample.split())]
    texts += [
        " ".join(rng.choices(_PLACEHOLDER_WORDS, k=rng.randint(1, 5)) + rng.choices(forms, k=4))
        for _ in range(6000)
    ]
    return texts


_PLACEHOLDER_WORDS = [
    *("a", "an", "few", "couple", "of", "half", "and", "2", "25", "250", "1.5", "3,000", "10+"),
    *("twenty", "forty", "forty-five", "several", "3hrs", "45mins", "20min", "5m", "2d", "1.5h"),
    *("sec", "seconds", "min", "mins", "minute", "minutes", "hr", "hour", "hours", "day", "days"),
    *("week", "wks", "month", "mths", "year", "yrs", "ages", "forever", "twice", "times", "so"),
    *("many", "countless", "£20", "€9.99", "10", "eur", "euros", "10eur", "5dollars", "usd"),
    *("quid", "bucks", "pound", "is", "are", "was", "still", "has", "have", "had", "been", "got"),
    *("getting", "second", "3rd", "21st", "nth", "umpteenth", "the", "my", "their", "its"),
]


def _candidates(info: cx_annotator._TokenInfo) -> set[cx_annotator._Candidate]:
    found = set(info.any_next)
    for candidates in info.by_next.values():
        found.update(candidates)
    return found


def test_token_steps_match_like_the_regex() -> None:
    table = ANNOTATOR._tokens
    checked = 0
    for text in _texts():
        infos = [table[word] for word in text.split()]
        key_text = " ".join(info.key for info in infos)
        starts = []
        offset = 0
        for info in infos:
            starts.append(offset)
            offset += len(info.key) + 1
        for i, info in enumerate(infos):
            for candidate in _candidates(info):
                if candidate.steps is None or candidate.regex is None:
                    continue
                m = candidate.regex.match(key_text, starts[i])
                expected = -1 if m is None else i + 1 + key_text.count(" ", starts[i], m.end())
                got = cx_annotator._token_match(candidate.steps, infos, i, len(infos))
                assert got == expected, (text, candidate.entry.pattern, i)
                checked += 1
    assert checked > 10_000


@pytest.mark.parametrize(
    ("pattern", "text", "end"),
    [
        ("didn't arrive", "didnt arrive", 2),
        ("y'all'd (go|come)", "yalld come", 2),
        ("not [yet|even] [been] deliver*", "not yet been delivered yet", 4),
        ("sent [_] [_] [_] (next day|today)", "sent it out the next day", 6),
        ("sent [_] [_] (next day|today)", "sent it out the very next day", -1),
        ("(no one|nobody) [ever] (called|rang) back", "no one ever rang back", 5),
        ("waited {duration}", "waited a couple of hours and a half", 8),
        ("waited {duration}", "waited half an hour", 4),
        ("waited {duration} now", "waited 2 hours now", 4),
        ("{long_duration} ago", "45 mins ago", 3),
        ("{long_duration} ago", "15 mins ago", -1),
        ("charged {money}", "charged 10 eur", 3),
        ("charged {money}", "charged 10eur", 2),
        ("asked {times}", "asked so many times", 4),
        ("{be} still broken", "is still broken", 3),
        ("{be} still broken", "has still been still broken", 5),
    ],
)
def test_token_steps_examples(pattern: str, text: str, end: int) -> None:
    infos = [ANNOTATOR._tokens[word] for word in text.split()]
    ends = {
        cx_annotator._token_match(part.steps, infos, 0, len(infos))
        for part in compile_pattern(pattern).parts
        if part.steps is not None
    }
    assert max(ends) == end


@pytest.mark.parametrize("name", sorted(PLACEHOLDERS))
def test_placeholder_tokens_match_like_the_regex(name: str) -> None:
    """Each placeholder's token forms, alone, before an optional word and inside an
    alternation, end where its regex ends, on random runs of placeholder words."""
    rng = random.Random(name)
    words = [*_PLACEHOLDER_WORDS, "ago", "now"]
    patterns = [f"{{{name}}}", f"{{{name}}} [now] ago", f"waited ({{{name}}}|ages) [_] now"]
    for pattern in patterns:
        for part in compile_pattern(pattern).parts:
            assert part.regex is not None
            assert part.steps is not None
            for _ in range(3000):
                text = " ".join(rng.choices(words, k=rng.randint(1, 6)))
                if pattern.startswith("waited"):
                    text = "waited " + text
                infos = [ANNOTATOR._tokens[word] for word in text.split()]
                key_text = " ".join(info.key for info in infos)
                m = part.regex.match(key_text)
                expected = -1 if m is None else 1 + key_text.count(" ", 0, m.end())
                got = cx_annotator._token_match(part.steps, infos, 0, len(infos))
                assert got == expected, (pattern, text)
