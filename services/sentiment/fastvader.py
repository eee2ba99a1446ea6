"""Drop-in, result-identical and faster VADER sentiment scorer.

``FastVader().polarity_scores(text)`` returns exactly (bit-for-bit, not
"approximately") what ``vaderSentiment.vaderSentiment.SentimentIntensityAnalyzer
().polarity_scores(text)`` returns for the installed vaderSentiment (verified
against 3.3.2, see ``tests/unit/sentiment/test_fastvader_equivalence.py``).
Downstream thresholds and stored historical scores were produced by the
reference, so a scorer that drifts by one ulp would silently re-label feedback
sitting on a boundary; identity is therefore the contract, speed the goal.

Why the reference is slow (profiled on 5,000 synthetic customer texts, see
``bench/bench_vader.py``): ~65% of the time is ``sentiment_valence``, and most
of that is ``_negation_check`` and ``_special_idioms_check`` lower-casing the
*whole* token list again for every (sentiment word, preceding word) pair, i.e.
O(n^2) per text, plus ``negated()`` copying ``NEGATE`` per call; ~15% is the
per-character emoji loop that grows a string by ``+=``. This module keeps the
reference's rules and their evaluation order but
  * derives every per-token fact once per *distinct* token (memoised), so the
    rule window only does index and flag look-ups;
  * only visits lexicon words (non-lexicon words always score 0), and skips the
    rule window entirely when the three preceding words are provably inert;
  * replaces idiom string joins with tuple look-ups (tokens never contain a
    space, so "a b" == "x y" exactly when (a, b) == (x, y));
  * skips emoji substitution for pure-ASCII text (no emoji key is ASCII,
    checked at load time) and does it with one regex pass otherwise.
Measured speed-up and the command are in ``bench/bench_vader.py``'s output.

Not replicated: the reference's exception types for non-``str`` input (both
raise, with different messages); inputs are typed ``str``.
"""

from __future__ import annotations

import math
import re
import string
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from types import MappingProxyType
from typing import Final, Literal, NamedTuple

__all__ = [
    "VADER_VERSION",
    "FastVader",
    "VaderAnalysis",
    "VaderLabel",
    "VaderToken",
    "compound_of",
    "iter_sentences",
    "punctuation_amplifier",
    "round3",
    "round4",
    "score_parts",
    "score_range",
    "score_valences",
    "vader_label",
]

VADER_VERSION: Final[str] = metadata.version("vaderSentiment")

# --- Reference constants (vaderSentiment 3.3.2, copied verbatim) -------------
# Copied rather than imported so this module type-checks without the untyped
# reference module; the equivalence tests assert they still equal the
# installed reference's tables, so an upgrade that changes them fails loudly.
B_INCR: Final = 0.293
B_DECR: Final = -0.293
C_INCR: Final = 0.733
N_SCALAR: Final = -0.74

NEGATE: Final = (
    "aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt",
    "ain't", "aren't", "can't", "couldn't", "daren't", "didn't", "doesn't",
    "dont", "hadnt", "hasnt", "havent", "isnt", "mightnt", "mustnt", "neither",
    "don't", "hadn't", "hasn't", "haven't", "isn't", "mightn't", "mustn't",
    "neednt", "needn't", "never", "none", "nope", "nor", "not", "nothing", "nowhere",
    "oughtnt", "shant", "shouldnt", "uhuh", "wasnt", "werent",
    "oughtn't", "shan't", "shouldn't", "uh-uh", "wasn't", "weren't",
    "without", "wont", "wouldnt", "won't", "wouldn't", "rarely", "seldom", "despite",
)  # fmt: skip

BOOSTER_DICT: Final[Mapping[str, float]] = MappingProxyType({
    "absolutely": B_INCR, "amazingly": B_INCR, "awfully": B_INCR,
    "completely": B_INCR, "considerable": B_INCR, "considerably": B_INCR,
    "decidedly": B_INCR, "deeply": B_INCR, "effing": B_INCR, "enormous": B_INCR,
    "enormously": B_INCR, "entirely": B_INCR, "especially": B_INCR, "exceptional": B_INCR,
    "exceptionally": B_INCR, "extreme": B_INCR, "extremely": B_INCR,
    "fabulously": B_INCR, "flipping": B_INCR, "flippin": B_INCR, "frackin": B_INCR,
    "fracking": B_INCR, "fricking": B_INCR, "frickin": B_INCR, "frigging": B_INCR,
    "friggin": B_INCR, "fully": B_INCR, "fuckin": B_INCR, "fucking": B_INCR,
    "fuggin": B_INCR, "fugging": B_INCR, "greatly": B_INCR, "hella": B_INCR,
    "highly": B_INCR, "hugely": B_INCR, "incredible": B_INCR, "incredibly": B_INCR,
    "intensely": B_INCR, "major": B_INCR, "majorly": B_INCR, "more": B_INCR,
    "most": B_INCR, "particularly": B_INCR, "purely": B_INCR, "quite": B_INCR,
    "really": B_INCR, "remarkably": B_INCR, "so": B_INCR, "substantially": B_INCR,
    "thoroughly": B_INCR, "total": B_INCR, "totally": B_INCR, "tremendous": B_INCR,
    "tremendously": B_INCR, "uber": B_INCR, "unbelievably": B_INCR, "unusually": B_INCR,
    "utter": B_INCR, "utterly": B_INCR, "very": B_INCR,
    "almost": B_DECR, "barely": B_DECR, "hardly": B_DECR, "just enough": B_DECR,
    "kind of": B_DECR, "kinda": B_DECR, "kindof": B_DECR, "kind-of": B_DECR,
    "less": B_DECR, "little": B_DECR, "marginal": B_DECR, "marginally": B_DECR,
    "occasional": B_DECR, "occasionally": B_DECR, "partly": B_DECR,
    "scarce": B_DECR, "scarcely": B_DECR, "slight": B_DECR, "slightly": B_DECR,
    "somewhat": B_DECR, "sort of": B_DECR, "sorta": B_DECR, "sortof": B_DECR,
    "sort-of": B_DECR,
})  # fmt: skip

# Values stay as the reference's ints/floats: an int valence flows into sum()
# and the "but" rule exactly like the reference's (all such ints are small and
# convert to float exactly, but keeping them avoids having to argue it).
SPECIAL_CASES: Final[Mapping[str, float]] = MappingProxyType({
    "the shit": 3, "the bomb": 3, "bad ass": 1.5, "badass": 1.5, "bus stop": 0.0,
    "yeah right": -2, "kiss of death": -1.5, "to die for": 3, "beating heart": 3.5,
})  # fmt: skip

# The reference matches multi-word keys by joining lower-cased tokens with one
# space. Tokens come from str.split() and no character lower-cases to a space,
# so a join of k tokens equals a key exactly when the token tuple equals
# key.split(" "); tuple look-ups give the same answers without building strings.
# (Plain dicts, not proxies: they are private and dict.get is the faster call.)
_SPECIAL_NGRAMS: Final[dict[tuple[str, ...], float]] = {
    tuple(k.split(" ")): v for k, v in SPECIAL_CASES.items()
}
_BOOSTER_NGRAMS: Final[dict[tuple[str, ...], float]] = {
    tuple(k.split(" ")): v for k, v in BOOSTER_DICT.items()
}
# Any idiom/booster n-gram checked for the word at i contains token i, i-1 or
# i-2, so if none of those is one of these words no n-gram can match.
_IDIOM_WORDS: Final = frozenset(
    w for key in (*_SPECIAL_NGRAMS, *_BOOSTER_NGRAMS) if len(key) > 1 for w in key
)
_NEGATE_SET: Final = frozenset(NEGATE)
_SO_THIS: Final = ("so", "this")
_HEAD_RULE_WORDS: Final = frozenset(("kind", "no"))
_NEXT_WORD_RULE_WORDS: Final = frozenset(("so", "this", "least"))
_OR_NOR: Final = ("or", "nor")
_AT_VERY: Final = ("at", "very")
_PUNCTUATION: Final = string.punctuation


def _reference_punctuation_emphasis(ep_count: int, qm_count: int) -> float:
    """The reference's ``_punctuation_emphasis``, same expressions, same order."""
    ep_amplifier = min(ep_count, 4) * 0.292
    qm_amplifier = 0.0
    if qm_count > 1:
        qm_amplifier = qm_count * 0.18 if qm_count <= 3 else 0.96
    return ep_amplifier + qm_amplifier


# Counts above 4 map to the same amplifier, so a 5x5 table covers every text and
# holds the very floats the reference would compute. Index it with
# ``[min(ep, 4)][min(qm, 4)]``; the CX layer shares it.
AMPLIFIER: Final = tuple(
    tuple(_reference_punctuation_emphasis(ep, qm) for qm in range(5)) for ep in range(5)
)

_EMPTY_SCORES: Final = (("neg", 0.0), ("neu", 0.0), ("pos", 0.0), ("compound", 0.0))
_NEUTRAL_SCORES: Final = (("neg", 0.0), ("neu", 1.0), ("pos", 0.0), ("compound", 0.0))

# Head kinds: a lexicon word that is not a booster is scored ("head"); a
# "simple" head is one whose own identity triggers no rule ("kind" of, "no" +
# lexicon word, idiom n-grams), so only its preceding words could change it.
_NOT_HEAD: Final = 0
_SIMPLE_HEAD: Final = 1
_COMPLEX_HEAD: Final = 2


class VaderToken:
    """What VADER's rules need to know of one distinct raw token.

    ``inert1``/``inert2``/``inert3``: no reference rule can read this word when it
    sits 1/2/3 words before a sentiment word (derivation in FastVader.valences).
    A plain class: compiled (``setup.py``), its attributes are struct fields.
    """

    __slots__ = (
        "booster",
        "head",
        "inert1",
        "inert2",
        "inert3",
        "lex",
        "lower",
        "negated",
        "upper",
    )

    def __init__(self, raw: str, lexicon: Mapping[str, float]) -> None:
        token = _strip_punc_if_word(raw)
        lower = token.lower()
        lex = lexicon.get(lower)
        # negated() lower-cases its (already lower-cased) argument again; do
        # the same rather than rely on str.lower being idempotent.
        neg_word = lower.lower()
        negated = neg_word in _NEGATE_SET or "n't" in neg_word
        booster = BOOSTER_DICT.get(lower)
        idiom_word = lower in _IDIOM_WORDS
        self.lower = lower
        """The token lower-cased, after VADER's strip of punctuation around words."""
        self.lex = lex
        """Its VADER lexicon valence, or None."""
        self.booster = booster
        """Its booster scalar, or None."""
        self.upper = token.isupper()
        """ALL CAPS (str.isupper)."""
        self.negated = negated
        """A negation word (VADER's NEGATE list, or contains "n't")."""
        # Booster words score 0 even if a lexicon ever lists them, because the
        # reference tests BOOSTER_DICT before the lexicon.
        if lex is None or booster is not None:
            self.head = _NOT_HEAD
        elif lower in _HEAD_RULE_WORDS or idiom_word:
            self.head = _COMPLEX_HEAD
        else:
            self.head = _SIMPLE_HEAD
        self.inert3 = booster is None and not negated and lower != "no"
        self.inert2 = self.inert3 and not idiom_word
        self.inert1 = self.inert2 and lower not in _NEXT_WORD_RULE_WORDS


def _count_upper(infos: list[VaderToken]) -> int:
    count = 0
    for info in infos:
        if info.upper:
            count += 1
    return count


@dataclass(frozen=True, slots=True)
class _Tables:
    lexicon: dict[str, float]
    emojis: dict[str, str]


def _read_package_text(name: str) -> str:
    # Same decoding as the reference's codecs.open(..., encoding="utf-8").
    return resources.files("vaderSentiment").joinpath(name).read_bytes().decode("utf-8")


@cache
def _load_tables() -> _Tables:
    """Parse the lexicons shipped with the installed vaderSentiment, once per process.

    The parsing mirrors ``make_lex_dict``/``make_emoji_dict`` line for line
    (including "last duplicate wins"), so the dictionaries are identical.
    """
    lexicon: dict[str, float] = {}
    for line in _read_package_text("vader_lexicon.txt").rstrip("\n").split("\n"):
        if not line:
            continue
        word, measure = line.strip().split("\t")[0:2]
        lexicon[word] = float(measure)
    emojis: dict[str, str] = {}
    for line in _read_package_text("emoji_utf8_lexicon.txt").rstrip("\n").split("\n"):
        emoji, description = line.strip().split("\t")[0:2]
        emojis[emoji] = description
    return _Tables(lexicon, emojis)


def _strip_punc_if_word(token: str) -> str:
    # Reference rule: short leftovers were probably emoticons such as ":)".
    stripped = token.strip(_PUNCTUATION)
    if len(stripped) <= 2:
        return token
    return stripped


class _TokenTable(dict[str, VaderToken]):
    """Memo of per-token facts; computed on first sight of a raw token.

    Bounded by clearing (not LRU) when full: entries are pure functions of the
    token, so eviction can never change a result, and clearing keeps the hit
    path a bare dict look-up.
    """

    __slots__ = ("_lexicon", "_limit")

    def __init__(self, lexicon: dict[str, float], limit: int) -> None:
        super().__init__()
        self._lexicon = lexicon
        self._limit = limit

    def __missing__(self, raw: str) -> VaderToken:
        info = VaderToken(raw, self._lexicon)
        if len(self) >= self._limit:
            self.clear()
        self[raw] = info
        return info


class _Expansions(dict[str, tuple[str, ...]]):
    """Memo: raw whitespace token -> the tokens VADER's emoji substitution makes of it.

    Emoji substitution never touches whitespace and inserts its own spaces only
    inside the token it works on (before a description; a space it would add
    after a blank changes nothing once the text is split), so splitting the
    substituted text gives, token by token, exactly the tokens of each
    substituted token. Bounded by clearing, like :class:`_TokenTable`.
    """

    __slots__ = ("_demojize", "_limit")

    def __init__(self, demojize: Callable[[str], str], limit: int) -> None:
        super().__init__()
        self._demojize = demojize
        self._limit = limit

    def __missing__(self, raw: str) -> tuple[str, ...]:
        demojized = self._demojize(raw)
        # A token without emoji stays the same object, its hash already computed.
        expansion = (raw,) if demojized is raw else tuple(demojized.split())
        if len(self) >= self._limit:
            self.clear()
        self[raw] = expansion
        return expansion


class VaderAnalysis(NamedTuple):
    """Result of :meth:`FastVader.analyse`."""

    scores: dict[str, float]
    tokens: tuple[str, ...]
    valences: tuple[float, ...]


class FastVader:
    """Result-identical, faster replacement for VADER's ``polarity_scores``.

    Instances are cheap after the first (the lexicons are parsed once per
    process) and are safe to share between threads: the only mutable state is
    the token memo, whose entries are deterministic.
    """

    lexicon: Mapping[str, float]
    """Read-only VADER lexicon (lower-case word/emoticon -> mean valence)."""

    emoji_descriptions: Mapping[str, str]
    """Read-only emoji -> text description table VADER substitutes before scoring."""

    def __init__(self, token_cache_size: int = 100_000) -> None:
        """``token_cache_size`` bounds the per-token memo (~250 bytes per entry)."""
        tables = _load_tables()
        self.lexicon = MappingProxyType(tables.lexicon)
        self.emoji_descriptions = MappingProxyType(tables.emojis)
        self._emojis = tables.emojis
        self._tokens = _TokenTable(tables.lexicon, token_cache_size)
        # The reference tests each *character* against the emoji table, so
        # multi-code-point keys (ZWJ sequences, flags, ...) can never match.
        # No emoji key is ASCII in 3.3.2; if a future table adds one, the ASCII
        # shortcut and the non-ASCII candidate scan must both be disabled.
        self._ascii_has_no_emoji = not any(len(k) == 1 and k.isascii() for k in tables.emojis)
        # A regex class of the ~1,200 emoji is matched by linear scan in `re`
        # (astral code points defeat its bitmap): measured ~100 us per text,
        # slower than the reference's own loop. Finding non-ASCII candidates
        # with a range class and checking them in the dict is fast.
        self._emoji_candidates = re.compile(
            r"[^\x00-\x7f]" if self._ascii_has_no_emoji else r"(?s)."
        )
        # Scanning a text for emoji costs a regex pass per text; most non-ASCII
        # texts repeat the same few tokens ("£45", "café", "🙏"), so substitute
        # per distinct token instead (see _Expansions).
        self._expansions = _Expansions(self._demojize, token_cache_size)

    # ------------------------------------------------------------------ public

    def polarity_scores(self, text: str) -> dict[str, float]:
        """Return ``{"neg", "neu", "pos", "compound"}`` exactly as vaderSentiment does."""
        # The reference strips the text here; str.split() ignores the same
        # whitespace and stripping cannot change the "!"/"?" counts, so skip it.
        raw_tokens = self._split(text)
        if not raw_tokens:
            return dict(_EMPTY_SCORES)
        values, _ = self._valences(raw_tokens)
        if not values:
            return dict(_NEUTRAL_SCORES)
        if not (self._ascii_has_no_emoji and text.isascii()):
            # The substituted text's "!"/"?" are its tokens' (descriptions add some).
            text = " ".join(raw_tokens)
        return _score(values, len(raw_tokens), text)

    def sentence_scores(self, text: str) -> list[tuple[str, dict[str, float]]]:
        """Split ``text`` into sentences and score each with :meth:`polarity_scores`.

        VADER is tuned on sentence-length input, so long feedback is better
        scored per sentence. The splitter is deliberately simple and
        deterministic (no model, no abbreviation list):

        * first split at line boundaries (as ``str.splitlines`` defines them);
        * then split after ``.``, ``!`` or ``?`` when followed by whitespace;
          the punctuation stays with its sentence because "!"/"?" change the score;
        * strip each piece and drop empty ones.

        Known consequence: "e.g. this" splits after "e.g.". Pieces are returned
        in order, each paired with its scores.
        """
        return [(sentence, self.polarity_scores(sentence)) for sentence in iter_sentences(text)]

    def token_valences(self, text: str) -> list[tuple[str, float]]:
        """Per-token valences just before VADER sums them (after the "but" rule).

        One ``(token, valence)`` pair per token VADER sees (after emoji
        substitution and punctuation stripping, original casing); their sum is
        VADER's raw sum before punctuation emphasis and normalisation. Meant for
        explanation/aspect layers that need to know which words carried the score.
        """
        if not (self._ascii_has_no_emoji and text.isascii()):
            text = self._demojize(text)
        raw_tokens = text.split()
        result = [(_strip_punc_if_word(raw), 0.0) for raw in raw_tokens]
        if raw_tokens:
            values, positions = self._valences(raw_tokens)
            for value, position in zip(values, positions, strict=True):
                result[position] = (result[position][0], value)
        return result

    def analyse(self, text: str) -> VaderAnalysis:
        """:meth:`polarity_scores` plus the per-token valences behind it, from one pass.

        ``scores`` is exactly ``polarity_scores(text)``. ``tokens`` are the raw
        whitespace tokens VADER splits the emoji-substituted text into (before
        its punctuation stripping, so trailing commas etc. are kept) and
        ``valences`` their valences after the "but" rule (0.0 for most), in
        order; summing ``valences`` left to right gives VADER's raw sum before
        punctuation emphasis bit for bit. Meant for layers that adjust VADER's
        sum (``services.sentiment.cx``) and must agree with it exactly when
        they change nothing.
        """
        if not (self._ascii_has_no_emoji and text.isascii()):
            text = self._demojize(text)
        raw_tokens = text.split()
        valences = [0.0] * len(raw_tokens)
        if not raw_tokens:
            return VaderAnalysis(dict(_EMPTY_SCORES), (), ())
        values, positions = self._valences(raw_tokens)
        if not values:
            return VaderAnalysis(dict(_NEUTRAL_SCORES), tuple(raw_tokens), tuple(valences))
        for value, position in zip(values, positions, strict=True):
            valences[position] = value
        return VaderAnalysis(
            _score(values, len(raw_tokens), text), tuple(raw_tokens), tuple(valences)
        )

    def analyse_parts(
        self, text: str, words: list[str] | None = None
    ) -> tuple[list[str], list[float], list[int], int, int]:
        """The raw material of :meth:`analyse`, without building its containers.

        Returns ``(tokens, values, positions, ep, qm)``: the whitespace tokens of
        the emoji-substituted text VADER scores, VADER's non-zero token valences
        (after the "but" rule) with their token positions, in order, and that
        text's "!" and "?" counts (they drive punctuation emphasis).
        ``score_parts(values, len(tokens), ep, qm)`` is ``polarity_scores(text)``
        as a tuple. For callers on a hot path that would otherwise convert
        :meth:`analyse`'s tuples and dict back. ``words``, if given, must be
        ``text.split()``: a caller that has split the text already saves the
        second split (and the hashing of the new strings in the token memo).
        """
        raw_tokens = self._split(text, words)
        if not (self._ascii_has_no_emoji and text.isascii()):
            text = " ".join(raw_tokens)
        if not raw_tokens:
            return raw_tokens, [], [], text.count("!"), text.count("?")
        values, positions = self._valences(raw_tokens)
        return raw_tokens, values, positions, text.count("!"), text.count("?")

    def split(self, text: str) -> list[str]:
        """``demojize(text).split()``: the tokens VADER scores."""
        return self._split(text)

    def demojize(self, text: str) -> str:
        """The emoji substitution VADER applies before splitting ``text`` into tokens."""
        if self._ascii_has_no_emoji and text.isascii():
            return text
        return self._demojize(text)

    # ---------------------------------------------------------------- internal

    def _split(self, text: str, words: list[str] | None = None) -> list[str]:
        tokens = text.split() if words is None else words
        if self._ascii_has_no_emoji and text.isascii():
            return tokens
        expansions = self._expansions
        result: list[str] = []
        for token in tokens:
            result.extend(expansions[token])
        return result

    def _demojize(self, text: str) -> str:
        """Replace each emoji code point by its description, as the reference does.

        The reference inserts a space before a description unless the previous
        *original* character was a plain ASCII space (or it is the first
        character); it never adds one after. That reduces to looking at
        ``text[p - 1]``. Returns ``text`` itself when it holds no emoji.
        """
        emojis = self._emojis
        parts: list[str] = []
        last = 0
        for match in self._emoji_candidates.finditer(text):
            description = emojis.get(match.group())
            if description is None:
                continue
            p = match.start()
            parts.append(text[last:p])
            if p and text[p - 1] != " ":
                parts.append(" ")
            parts.append(description)
            last = p + 1
        if not parts:
            return text
        parts.append(text[last:])
        return "".join(parts)

    def expansion(self, raw: str) -> tuple[str, ...]:
        """The tokens VADER's emoji substitution makes of the whitespace token ``raw``
        (``(raw,)`` when it holds no emoji); :meth:`split` of a text is its words'
        expansions, concatenated."""
        if self._ascii_has_no_emoji and raw.isascii():
            return (raw,)
        return self._expansions[raw]

    def scores_as_is(self, raw: str) -> bool:
        """Whether VADER scores the whitespace token ``raw`` as it is: no emoji to substitute."""
        return (self._ascii_has_no_emoji and raw.isascii()) or self._expansions[raw] == (raw,)

    def _valences(self, raw_tokens: list[str]) -> tuple[list[float], list[int]]:
        tokens = self._tokens
        return self.valences([tokens[raw] for raw in raw_tokens])

    def valences(self, infos: list[VaderToken]) -> tuple[list[float], list[int]]:  # noqa: PLR0915
        """Non-zero token valences and their positions, after the "but" rule.

        ``infos`` are the :class:`VaderToken` facts of the tokens VADER scores
        (the whitespace tokens after emoji substitution), in order.

        Zeros are left out: they never change the sum, the "but" rule maps a
        zero to a zero and never matches a non-zero value against it, and the
        caller only needs their count (``len(infos) - len(values)``).
        Kept as one function because it is the hot loop; every branch mirrors a
        reference rule in the reference's order, since each step rounds and
        float arithmetic is not associative.

        Loops are plain ``for``/index loops: compiled (``setup.py``), each is a
        few machine instructions per token, where ``map``/``compress`` would
        call through the interpreter's object protocol.
        """
        n = len(infos)
        last = n - 1
        cap_diff: bool | None = None  # "some but not all tokens are ALL CAPS"; lazy
        values: list[float] = []
        positions: list[int] = []

        for i in range(n):
            info = infos[i]
            if info.head == _NOT_HEAD:
                continue
            lex = info.lex
            assert lex is not None  # heads are lexicon words by construction
            valence = lex
            # Fast path, the common case: no word that any rule reads is within
            # three words before a simple head, so the rule window below would
            # leave the lexicon valence untouched except for the caps bonus.
            # Why each rule is inert then: boosters and negations are excluded
            # at every distance, as is "no" (its own rules look 1-3 back, and it
            # gates the "or"/"nor" check); "never"/"without" are negations; the
            # idiom/booster n-grams need word i, i-1 or i-2 to be an n-gram word;
            # "so"/"this" (the precedence quirk) and "least" only act at i-1;
            # "at"/"very" only matter after "least", "doubt" after "without".
            if info.head == _SIMPLE_HEAD and (
                i == 0
                or (
                    infos[i - 1].inert1
                    and (i == 1 or (infos[i - 2].inert2 and (i == 2 or infos[i - 3].inert3)))
                )
            ):
                if info.upper:
                    if cap_diff is None:
                        cap_diff = 0 < _count_upper(infos) < n
                    if cap_diff:
                        valence = valence + C_INCR if valence > 0 else valence - C_INCR
                if valence != 0:
                    values.append(valence)
                    positions.append(i)
                continue

            lower = info.lower
            if lower == "kind" and i < last and infos[i + 1].lower == "of":
                continue
            if lower == "no" and i != last and infos[i + 1].lex is not None:
                valence = 0.0
            if (
                (i > 0 and infos[i - 1].lower == "no")
                or (i > 1 and infos[i - 2].lower == "no")
                or (i > 2 and infos[i - 3].lower == "no" and infos[i - 1].lower in _OR_NOR)
            ):
                valence = lex * N_SCALAR
            if info.upper:
                if cap_diff is None:
                    cap_diff = 0 < _count_upper(infos) < n
                if cap_diff:
                    valence = valence + C_INCR if valence > 0 else valence - C_INCR

            # Up to three preceding non-lexicon words may boost/dampen and negate.
            # Adding the reference's 0.0 for non-boosters is skipped: x + 0.0 == x
            # for every x (only the sign of a zero could change, which no later
            # comparison, product or sum can observe).
            if i > 0:
                prev = infos[i - 1]
                if prev.lex is None:
                    scalar = prev.booster
                    if scalar is not None:
                        if valence < 0:
                            scalar *= -1
                        if prev.upper:
                            if cap_diff is None:
                                cap_diff = 0 < _count_upper(infos) < n
                            if cap_diff:
                                scalar = scalar + C_INCR if valence > 0 else scalar - C_INCR
                        valence = valence + scalar
                    if prev.negated:
                        valence = valence * N_SCALAR

            if i > 1:
                prev = infos[i - 2]
                if prev.lex is None:
                    scalar = prev.booster
                    if scalar is not None:
                        if valence < 0:
                            scalar *= -1
                        if prev.upper:
                            if cap_diff is None:
                                cap_diff = 0 < _count_upper(infos) < n
                            if cap_diff:
                                scalar = scalar + C_INCR if valence > 0 else scalar - C_INCR
                        if scalar != 0:
                            scalar = scalar * 0.95
                        valence = valence + scalar
                    w2 = prev.lower
                    if w2 == "never" and infos[i - 1].lower in _SO_THIS:
                        valence = valence * 1.25
                    elif w2 == "without" and infos[i - 1].lower == "doubt":
                        pass
                    elif prev.negated:
                        valence = valence * N_SCALAR

            if i > 2:
                prev = infos[i - 3]
                if prev.lex is None:
                    scalar = prev.booster
                    if scalar is not None:
                        if valence < 0:
                            scalar *= -1
                        if prev.upper:
                            if cap_diff is None:
                                cap_diff = 0 < _count_upper(infos) < n
                            if cap_diff:
                                scalar = scalar + C_INCR if valence > 0 else scalar - C_INCR
                        if scalar != 0:
                            scalar = scalar * 0.9
                        valence = valence + scalar
                    w3, w2, w1 = prev.lower, infos[i - 2].lower, infos[i - 1].lower
                    # Reference precedence quirk: `A and B or C` is `(A and B) or C`,
                    # so "so"/"this" right before the word boosts by 1.25 on its own.
                    if (w3 == "never" and w2 in _SO_THIS) or w1 in _SO_THIS:
                        valence = valence * 1.25
                    elif w3 == "without" and (w2 == "doubt" or w1 == "doubt"):
                        pass
                    elif prev.negated:
                        valence = valence * N_SCALAR
                    if lower in _IDIOM_WORDS or w1 in _IDIOM_WORDS or w2 in _IDIOM_WORDS:
                        valence = self._special_idioms(valence, infos, i)

            if (
                i > 0
                and infos[i - 1].lower == "least"
                and infos[i - 1].lex is None
                and (i == 1 or infos[i - 2].lower not in _AT_VERY)
            ):
                valence = valence * N_SCALAR

            if valence != 0:
                values.append(valence)
                positions.append(i)

        if values:
            for k in range(n):
                if infos[k].lower == "but":
                    self._but_rule(values, positions, k)
                    break
        return values, positions

    @staticmethod
    def _special_idioms(valence: float, infos: list[VaderToken], i: int) -> float:
        """The reference's ``_special_idioms_check`` with tuple keys (see above)."""
        w0, w1, w2, w3 = infos[i].lower, infos[i - 1].lower, infos[i - 2].lower, infos[i - 3].lower
        special = _SPECIAL_NGRAMS
        for seq in ((w1, w0), (w2, w1, w0), (w2, w1), (w3, w2, w1), (w3, w2)):
            hit = special.get(seq)
            if hit is not None:
                valence = hit
                break
        n = len(infos)
        if n - 1 > i:
            hit = special.get((w0, infos[i + 1].lower))
            if hit is not None:
                valence = hit
        if n - 1 > i + 1:
            hit = special.get((w0, infos[i + 1].lower, infos[i + 2].lower))
            if hit is not None:
                valence = hit
        for seq in ((w3, w2, w1), (w3, w2), (w2, w1)):
            boost = _BOOSTER_NGRAMS.get(seq)
            if boost is not None:
                valence = valence + boost
        return valence

    @staticmethod
    def _but_rule(values: list[float], positions: list[int], but_index: int) -> None:
        """The reference's ``_but_check``, quirk included, on the non-zero values.

        The reference locates each value with ``list.index`` (first *equal*
        value, possibly an earlier, already-rescaled one) and rescales that slot
        instead, so equal valences interact; replaying the same procedure is the
        only faithful option.
        """
        for k in range(len(values)):
            value = values[k]
            slot = values.index(value)
            where = positions[slot]
            if where < but_index:
                values[slot] = value * 0.5
            elif where > but_index:
                values[slot] = value * 1.5


def _score(values: list[float], n_tokens: int, text: str) -> dict[str, float]:
    """The reference's ``score_valence`` given the non-zero valences."""
    neg, neu, pos, compound = score_parts(values, n_tokens, text.count("!"), text.count("?"))
    return {"neg": neg, "neu": neu, "pos": pos, "compound": compound}


def punctuation_amplifier(ep: int, qm: int) -> float:
    """VADER's punctuation emphasis for ``ep`` "!" and ``qm`` "?" (capped at 4 each)."""
    return AMPLIFIER[ep if ep < 4 else 4][qm if qm < 4 else 4]


def compound_of(sum_s: float, amplifier: float) -> float:
    """VADER's compound, unrounded, from a sum of token valences: the emphasis
    ``amplifier`` pushes the sum away from zero, then ``normalize`` (alpha 15) and
    the clamp to [-1, 1], in the reference's order."""
    if sum_s > 0:
        sum_s += amplifier
    elif sum_s < 0:
        sum_s -= amplifier
    compound = sum_s / math.sqrt((sum_s * sum_s) + 15)
    if compound < -1.0:
        compound = -1.0
    elif compound > 1.0:
        compound = 1.0
    return compound


def score_parts(
    values: Sequence[float], n_tokens: int, ep: int, qm: int
) -> tuple[float, float, float, float]:
    """``(neg, neu, pos, compound)`` exactly as the reference's ``score_valence`` gives them.

    ``values`` are the non-zero token valences in order, ``n_tokens`` counts
    all tokens (zeros are VADER's neutral tokens) and ``ep``/``qm`` are the
    text's "!" and "?" counts. Empty ``values`` give VADER's all-neutral
    result when there are tokens and its all-zero result when there are none.
    """
    return score_range(list(values), 0, len(values), n_tokens, ep, qm)


# Builtin sum() adds floats left to right up to Python 3.11 and with compensation from
# 3.12; the reference uses it, so a plain loop gives its result only before 3.12.
_PLAIN_SUM: Final = sys.version_info < (3, 12)


def score_range(  # noqa: PLR0917 - the hot path's form of score_parts
    values: list[float], lo: int, hi: int, n_tokens: int, ep: int, qm: int
) -> tuple[float, float, float, float]:
    """:func:`score_parts` of ``values[lo:hi]``, without the slice (a list, indexed
    directly when compiled: the annotator scores each sentence's range of the text's
    valences)."""
    if lo >= hi:
        return (0.0, 1.0, 0.0, 0.0) if n_tokens else (0.0, 0.0, 0.0, 0.0)
    amplifier = punctuation_amplifier(ep, qm)
    pos_sum = 0.0
    neg_sum = 0.0
    total = 0.0
    for k in range(lo, hi):
        value = values[k]
        total += value
        # Reference: pos_sum += (float(s) + 1). float() is dropped: values are
        # floats or small ints, for which s + 1 converts to the same float.
        if value > 0:
            pos_sum += value + 1
        else:
            neg_sum += value - 1
    # Builtin sum() like the reference where it differs from the loop's left-to-right
    # sum (see _PLAIN_SUM). The zeros the reference also sums are omitted: adding 0 to
    # that accumulator is a no-op in both.
    if not _PLAIN_SUM:
        total = float(sum(values[lo:hi]))
    compound = compound_of(total, amplifier)
    neu_count = n_tokens - (hi - lo)

    abs_neg = math.fabs(neg_sum)
    if pos_sum > abs_neg:
        pos_sum += amplifier
    elif pos_sum < abs_neg:
        neg_sum -= amplifier

    total = pos_sum + math.fabs(neg_sum) + neu_count
    neg = round3(math.fabs(neg_sum / total))
    neu = round3(math.fabs(neu_count / total))
    pos = round3(math.fabs(pos_sum / total))
    compound = round4(compound)
    return neg, neu, pos, compound


# round(x, 3) and round(x, 4) for floats, bit for bit. The builtin formats x with
# dtoa and parses the digits back with strtod, which is slow and, at several
# calls per text, a visible share of the annotator's time. Here y = x * 10**n
# carries a relative error of at most 2**-53 (below 1e-2 absolute for |x| < 1e9),
# so unless y is within 0.01 of a half-integer, the integer k nearest to y is the
# correctly rounded decimal, and k / 10**n (exact operands, one correctly rounded
# division) is the double nearest to k * 10**-n, which is what the builtin
# returns. k is found by truncating y +- 0.5 (round(y), a call, would also settle
# exact ties, which never get this far). Near a tie the builtin decides. A zero
# result keeps the sign of x, as the builtin's does. tests/unit/sentiment/
# test_rounding.py compares both on decimal ties, their neighbours and random values.


POSITIVE_THRESHOLD: Final = 0.05
"""VADER's standard thresholds: compound >= 0.05 is positive, <= -0.05 negative."""
VaderLabel = Literal["negative", "neutral", "positive"]


def vader_label(compound: float) -> VaderLabel:
    """Three-class label of a compound score with VADER's standard ±0.05 thresholds."""
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= -POSITIVE_THRESHOLD:
        return "negative"
    return "neutral"


def round3(x: float) -> float:
    """``round(x, 3)`` for a finite float ``x`` with ``abs(x) < 1e9``, faster."""
    y = x * 1000.0
    k = int(y + 0.5) if y >= 0.0 else -int(0.5 - y)
    if -0.49 < y - k < 0.49:
        return k / 1000.0 if k else x * 0.0
    return round(x, 3)


def round4(x: float) -> float:
    """``round(x, 4)`` for a finite float ``x`` with ``abs(x) < 1e9``, faster."""
    y = x * 10000.0
    k = int(y + 0.5) if y >= 0.0 else -int(0.5 - y)
    if -0.49 < y - k < 0.49:
        return k / 10000.0 if k else x * 0.0
    return round(x, 4)


def score_valences(valences: Sequence[float], text: str) -> dict[str, float]:
    """VADER's final scoring step for per-token valences (e.g. from :meth:`FastVader.analyse`).

    ``valences`` has one entry per token (zeros included: they are VADER's
    neutral tokens) and ``text`` supplies the "!"/"?" counts for punctuation
    emphasis. ``score_valences(a.valences, t)`` with ``a = analyse(t)`` equals
    ``polarity_scores(t)`` exactly; on a slice of a text's valences it scores
    that part of the text as VADER valued it in context.
    """
    if not valences:
        return dict(_EMPTY_SCORES)
    values = [v for v in valences if v]
    if not values:
        return dict(_NEUTRAL_SCORES)
    return _score(values, len(valences), text)


_SENTENCE_END: Final = re.compile(r"(?<=[.!?])\s+")


def iter_sentences(text: str) -> Iterator[str]:
    """The splitter behind :meth:`FastVader.sentence_scores` (documented there)."""
    for line in text.splitlines():
        for piece in _SENTENCE_END.split(line):
            sentence = piece.strip()
            if sentence:
                yield sentence
