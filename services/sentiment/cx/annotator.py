"""Customer-experience (CX) annotation on top of exact VADER.

Pipeline for one text (``docs/sentiment.md`` has the long version):

1. **Normalise** noise (:mod:`~services.sentiment.cx.normalize`).
2. **VADER, exact**: one :class:`~services.sentiment.fastvader.FastVader` pass
   over the normalised text gives its scores (``vader``) and the per-token
   valences behind them. Sentences are slices of those tokens, scored with
   VADER's own formula.
3. **Match** the lexicon's phrase patterns, sentence by sentence. Matching is
   triggered by a pattern's first token and pre-filtered on the second, so its
   cost grows with the number of tokens, not with the size of the lexicon.
4. **Decide** which rules apply: span rules (complaint, negated problem, CX
   evaluation, neutral term) resolve negation and overlaps; then whether the
   text is a complaint, which politeness tokens to dampen, which sarcasm
   frames have a cue and which request/question sentences to neutralise.
5. **Adjust**: apply the decisions to a copy of VADER's token valences,
   record each rule's contribution, and normalise the adjusted sum exactly as
   VADER normalises its own (same punctuation emphasis, same formula), so a
   text no rule touches gets VADER's compound bit for bit.
6. **Emotions and aspects** from the same matches and adjusted valences.

Everything the rules know comes from the YAML lexicon; this module holds only
the mechanics. It is written for throughput: the service annotates every
event, and the requirement is at least plain vaderSentiment's texts per second
on one core (``bench/bench_annotator.py``). The module is compiled with mypyc
on install (``setup.py``), so it is written in the style compiled code runs
fast: typed index loops and attribute reads of plain slotted classes, no
``map``/``attrgetter`` tricks or builtin calls on the hot path (compiled, those
are calls back into the interpreter). Hence also:

* per-token facts and the patterns a token can start are memoised per
  distinct token (:class:`_TokenInfo`, which is FastVader's token too), so a
  plain text costs one table look-up per word, and matching code runs only
  for the few tokens that can start a pattern;
* all token indices are indices into the whole text (sentences are ``lo:hi``
  ranges, nothing is sliced or copied per sentence), and patterns are matched
  token by token (their token steps), with no key string built per text;
* work a text does not need is skipped (no decisions without matches, no
  sarcasm cues without a sarcasm frame, no clause bounds without an aspect);
* results are built without the frozen dataclasses' per-field ``__setattr__``.

Instances are immutable after construction apart from bounded, deterministic
memo tables, and can be shared between threads.
"""

from __future__ import annotations

import bisect
import re
import string
import sys
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Final, cast

from services.sentiment.cx import results
from services.sentiment.cx.hashtags import segment_hashtag
from services.sentiment.cx.loader import (
    POSITIVE_EMOTIONS,
    SPAN_PRIORITY,
    Entry,
    Lexicon,
    load_lexicon,
)
from services.sentiment.cx.normalize import Normalizer, attaches
from services.sentiment.cx.patterns import (
    PLACEHOLDER_SECOND,
    STEP_ALT,
    STEP_ANY,
    STEP_ONE,
    PatternPart,
    TokenStep,
    first_char_bit,
    key_bit,
    key_mask,
    placeholder_single,
)
from services.sentiment.cx.results import (
    Adjustment,
    AspectSentiment,
    ConversationAnnotation,
    MessageAnnotation,
    SentenceAnnotation,
    TextAnnotation,
    TrendLabel,
    VaderScores,
)
from services.sentiment.fastvader import (
    BOOSTER_DICT,
    N_SCALAR,
    VADER_VERSION,
    FastVader,
    VaderToken,
    compound_of,
    punctuation_amplifier,
    round3,
    round4,
    score_range,
    vader_label,
)
from services.sentiment.language import ENGLISH, LanguageDetector, is_foreign_word, latin_script

__all__ = ["DEFAULT_CUSTOMER_AUTHORS", "CxAnnotator"]

DEFAULT_CUSTOMER_AUTHORS: Final[frozenset[str]] = frozenset(
    {"customer", "user", "client", "caller", "guest", "member", "passenger"}
)

_STRIP: Final = string.punctuation + "\u2018\u2019\u201c\u201d\u2026\u2013\u2014"
_CLAUSE_END_CHARS: Final = frozenset(",;:.!?")
_DASHES: Final = frozenset({"-", "--", "\u2013", "\u2014"})
_QUOTE_CHARS: Final = frozenset("'\"")
_CLAUSE_STARTERS: Final = frozenset(
    {"but", "however", "although", "though", "whereas", "while", "yet"}
)
_CONTRAST: Final = frozenset({"but", "however", "although", "though", "whereas", "yet", "except"})
_NEGATION_WINDOW: Final = 4
_SARCASM_VADER_CUE: Final = -0.5
_BOOST_UP: Final = 1.3
_BOOST_DOWN: Final = 0.7
_CAPS_BOOST: Final = 1.25
_SHOUTING_ANGER: Final = 0.5
# Emotions a neutral text can carry: its neutral terms do not mute them.
_NEUTRAL_EMOTIONS: Final = frozenset({"confusion", "anxiety", "surprise"})
# A single word of repetition ("again", "tried"): the weight of the lexicon's repetition entries.
_REPETITION_WEIGHT: Final = 0.4
# _TokenInfo.effort_word: a word of cues.yaml's repetition or effort_hints list.
_REPETITION_WORD: Final = 1
_EFFORT_HINT_WORD: Final = 2
_EXCLAMATION_STEP: Final = 0.15
# Emotion emphasis by the sentence's "!" count (capped at 3): the same floats as
# computing 1.0 + step * min(count, 3) each time.
_EMPHASIS: Final = tuple(1.0 + _EXCLAMATION_STEP * k for k in range(4))
_NEGATED_PROBLEM_EMOTION: Final[tuple[tuple[str, float], ...]] = (("satisfaction", 0.4),)
_NEGATED_PRAISE_EMOTION: Final[tuple[tuple[str, float], ...]] = (("disappointment", 0.4),)
_COMPLAINT_FAMILIES: Final = frozenset({"complaint", "evaluation"})

# family -> bucket index in _Sentence.buckets (span families share bucket 0)
_BUCKET: Final[dict[str, int]] = {
    "complaint": 0,
    "negated_problem": 0,
    "evaluation": 0,
    "neutral_term": 0,
    "politeness": 1,
    "sarcasm": 2,
    "request": 3,
    "cue": 4,
    "emotion": 5,
    "aspect": 6,
}
# Text without a line break or sentence-ending punctuation before a blank is one sentence.
_MAY_SPLIT: Final = re.compile(r"[.!?]\s|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
# FastVader's sentence splitter (iter_sentences: str.splitlines, then blanks after
# . ! ?, pieces stripped, empty ones dropped) as one regex split. Splitting at
# each line-break character instead of at splitlines' boundaries ("\r\n" is
# one) only adds empty pieces, which are dropped either way.
_SENTENCE_BREAK: Final = re.compile(r"(?<=[.!?])\s+|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")

# Negation scan, per token: 0 = look further back, 1 = stop (clause end, or a
# negation stopper such as "why"), 2 = a negator (see _negator_before).
_NEG_PASS: Final = 0
_NEG_STOP: Final = 1
_NEG_FOUND: Final = 2

_Hit = tuple[Entry, int, int]


class _Candidate:
    """A multi-token pattern part a token can start: its entry, its regex and the token
    steps the matcher runs in its place (both None for an exact pair, where the look-up by
    the next key is the match; the regex is kept for tests that compare the two), its
    anchor words (None if it has none) and their key bits.

    A class rather than a tuple: compiled, a tuple's items are type-checked when it is
    unpacked, which reads each item's object; the matcher rejects most candidates by the
    anchor bits alone, and a class's fields are read from the candidate itself. One
    candidate per pattern part, shared by every token that can start it.
    """

    __slots__ = ("anchor", "anchor_mask", "entry", "regex", "steps")

    def __init__(
        self,
        entry: Entry,
        regex: re.Pattern[str] | None,
        steps: TokenStep | None,
        anchor: frozenset[str] | None,
        anchor_mask: int,
    ) -> None:
        self.regex = regex
        self.steps = steps
        self.anchor = anchor
        self.anchor_mask = anchor_mask
        self.entry = entry


# A span rule match after negation: (entry, start, end, target valence, negated).
_Span = tuple[Entry, int, int, float, bool]


# The result builders (cx/results.py: C constructors or interpreted drafts) and
# bisect_left, bound once. Compiled, a name imported from a module that is not compiled
# with this one is looked up in the module's globals dict at every call (about 150
# instructions, several times a text); a Final is a C static.
build_vader_scores: Final = results.build_vader_scores
build_adjustment: Final = results.build_adjustment
build_sentence_annotation: Final = results.build_sentence_annotation
build_aspect_sentiment: Final = results.build_aspect_sentiment
build_text_annotation: Final = results.build_text_annotation
bisect_left: Final = bisect.bisect_left


def _total(values: list[float], lo: int, hi: int) -> float:
    """``sum(values[lo:hi])`` of a non-empty range, added left to right (the order the
    builtin uses for floats up to Python 3.11), without the slice and the call."""
    total = 0.0
    for k in range(lo, hi):
        total += values[k]
    return total


def _compound(raw_sum: float, amplifier: float) -> float:
    """VADER's compound from a raw valence sum (``score_valence`` + ``normalize``)."""
    return round4(compound_of(raw_sum, amplifier))


# VADER's result for tokens without a sentiment word, and for no tokens at all.
# Shared: the results are immutable, and most sentences have no sentiment word.
_NEUTRAL: Final = build_vader_scores(0.0, 0.0, 1.0, 0.0)
_EMPTY: Final = build_vader_scores(0.0, 0.0, 0.0, 0.0)


# ---------------------------------------------------------------------- tokens


class _TokenInfo(VaderToken):
    """Facts about one raw VADER token and the patterns it can start.

    A :class:`VaderToken` too (FastVader's facts of the same token), so a plain
    text's infos go to :meth:`FastVader.valences` as they are: one object per
    distinct token serves both.

    ``singles`` are one-token patterns this token matches outright and
    ``checked`` those that also have a position condition; ``by_next`` maps a
    following token's key to the multi-token patterns that can continue with
    it (followed by ``any_next``, the multi-token patterns with no such
    filter, so one dict look-up gives every candidate). ``matchable`` says
    whether the token can start anything at all. Memoised per distinct raw
    token string.

    ``rewritten``/``joinable``/``expansion`` are what the normaliser and VADER's
    emoji substitution make of the token (see :meth:`CxAnnotator._read`), memoised
    here so that reading a text costs one look-up per word.
    """

    __slots__ = (
        "any_next",
        "attaches",
        "bangs",
        "boost",
        "by_next",
        "caps",
        "checked",
        "clause_end",
        "effort_word",
        "expansion",
        "expansion_infos",
        "first_bit",
        "joinable",
        "key",
        "key_bit",
        "matchable",
        "needs_detector",
        "neg",
        "next_mask",
        "plain",
        "preamble",
        "questions",
        "quoted",
        "rewritten",
        "rewritten_infos",
        "scored_as_is",
        "sentence_end",
        "singles",
        "starter",
        "title",
        "title_lex",
        "word",
    )

    # The facts every token's reading and matching test, declared first: compiled, the
    # fields are laid out in this order, so these share the object's first cache lines
    # (a token table of many thousand tokens does not stay in the CPU's caches).
    plain: bool
    needs_detector: bool
    matchable: bool
    key_bit: int
    next_mask: int
    title_lex: bool
    clause_end: bool
    sentence_end: bool
    neg: int
    effort_word: int
    key: str
    singles: tuple[tuple[int, Entry], ...]
    checked: tuple[Entry, ...]
    any_next: tuple[_Candidate, ...]
    by_next: dict[str, tuple[_Candidate, ...]]
    first_bit: int  # read by the token steps only, so not among the first
    bangs: int  # read for texts with emoji or with "!" or "?" only
    questions: int

    def __init__(  # noqa: PLR0915, PLR0917 - private, one fact per statement
        self,
        raw: str,
        key: str,
        lexicon: Lexicon,
        cands: Sequence[tuple[Entry, PatternPart]] | _TokenInfo,
        candidates: dict[tuple[int, int], _Candidate],
        vader_lexicon: Mapping[str, float],
        rewrite: tuple[str, bool],
        expansion: tuple[str, ...],
        needs_detector: bool,
    ) -> None:
        super().__init__(raw, vader_lexicon)
        self.key = key
        self.first_bit = first_char_bit(key)
        """The bit of the key's first character (see ``TokenStep.prefix_mask``)."""
        self.needs_detector = needs_detector
        """A text with this word goes to the language detector: the word is a foreign
        function word or has a letter of a script other than Latin (the language gate's
        tests, ``language.is_foreign_word`` and ``language.latin_script``)."""
        output, self.joinable = rewrite
        """Whether the normaliser's output for the token is joinable
        (:meth:`Normalizer.rewrite`)."""
        self.attaches = attaches(raw, output)
        """The normaliser leaves only punctuation of the token, attached to the word before
        it (``normalize.attaches``)."""
        self.expansion = expansion
        """The tokens VADER's emoji substitution makes of the token."""
        self.scored_as_is = len(expansion) == 1 and expansion[0] == raw
        """VADER's emoji substitution leaves the token as it is."""
        # A kept token's words are the token itself: the ``(raw,)`` of its expansion when
        # that is one too (most tokens), rather than another tuple and string per token.
        rewritten: tuple[str, ...]
        if output != raw:
            rewritten = tuple(output.split())
        elif self.scored_as_is:
            rewritten = expansion
        else:
            rewritten = (raw,)
        self.rewritten = rewritten
        """The words of the normaliser's output for the token (none if it is removed)."""
        self.rewritten_infos: tuple[_TokenInfo, ...] | None = None
        self.expansion_infos: tuple[_TokenInfo, ...] | None = None
        """The facts of ``rewritten``'s and ``expansion``'s tokens, once a reading needed
        them (``_TokenTable.rewritten_infos``): facts are pure, so they stay valid when
        the table is cleared."""
        self.plain = output == raw and self.scored_as_is
        """Neither noise normalisation nor VADER's emoji substitution changes the token."""
        tail = raw.rstrip("'\")]")
        self.clause_end = (bool(tail) and tail[-1] in _CLAUSE_END_CHARS) or raw in _DASHES
        self.sentence_end = raw[-1] in ".!?"
        """The token ends in . ! or ?: a sentence break follows it (see _word_sentences)."""
        self.bangs = raw.count("!")
        self.questions = raw.count("?")
        """How many "!" and "?" the token has: a text's or sentence's counts, which drive
        VADER's punctuation emphasis, are its tokens' sums (tokens are joined by blanks)."""
        self.quoted = key.isalpha() and (raw[0] in _QUOTE_CHARS or raw[-1] in _QUOTE_CHARS)
        self.caps = len(key) > 1 and raw.isupper()
        self.title = raw[:1].isupper() and not raw.isupper()
        """Capitalised like a name ("Joy", "Mobile"), not shouted."""
        self.title_lex = self.title and self.lex is not None and self.lex != 0
        """A capitalised word VADER scores: a name that is also a lexicon word ("Joy Mobile")?"""
        # The negation scan checks, in this order: clause end, negator, stopper.
        if self.clause_end:
            self.neg = _NEG_STOP
        elif key in lexicon.negators or "n't" in key:
            self.neg = _NEG_FOUND
        elif key in lexicon.negation_stoppers:
            self.neg = _NEG_STOP
        else:
            self.neg = _NEG_PASS
        self.word = any(ch.isalnum() for ch in key)
        self.preamble = key in lexicon.preamble
        # The frustration rule's single words (cues.yaml): read per text without a dict look-up.
        if key in lexicon.repetition_words:
            self.effort_word = _REPETITION_WORD
        elif key in lexicon.effort_hint_words:
            self.effort_word = _EFFORT_HINT_WORD
        else:
            self.effort_word = 0
        self.starter = key in _CLAUSE_STARTERS
        self.boost = BOOSTER_DICT.get(key, 0.0)
        if isinstance(cands, _TokenInfo):
            # A token that can start the same patterns (the same key, "Order" and
            # "order!", or another word of the same alternations): their facts, shared.
            self.singles = cands.singles
            self.checked = cands.checked
            self.any_next = cands.any_next
            self.by_next = cands.by_next
            self.next_mask = cands.next_mask
            self.key_bit = key_bit(key)
            self.matchable = cands.matchable
            return
        singles: list[tuple[int, Entry]] = []
        checked: list[Entry] = []
        by_next: dict[str, list[_Candidate]] = {}
        any_next: list[_Candidate] = []
        for entry, part in cands:
            if part.regex is None:
                if entry.constrained:
                    checked.append(entry)
                else:
                    singles.append((_BUCKET[entry.family], entry))
                continue
            candidate = candidates.get((id(entry), id(part)))
            if candidate is None:
                # No regex for an exact pair: the look-up by the next key is the match.
                anchor = part.anchor
                candidate = _Candidate(
                    entry,
                    None if part.exact_pair else part.regex,
                    None if part.exact_pair else part.steps,
                    None if anchor is None else frozenset(map(sys.intern, anchor)),
                    0 if anchor is None else key_mask(anchor),
                )
                candidates[id(entry), id(part)] = candidate
            second = part.second
            if part.placeholder is not None and not placeholder_single(part.placeholder).fullmatch(
                key
            ):
                # This token can only start a multi-token form of the placeholder.
                second = PLACEHOLDER_SECOND[part.placeholder][0]
            if second is None:
                any_next.append(candidate)
            else:
                for following in second:
                    by_next.setdefault(sys.intern(following), []).append(candidate)
        self.singles = tuple(singles)
        self.checked = tuple(checked)
        self.any_next = tuple(any_next)
        self.by_next = {k: (*v, *any_next) for k, v in by_next.items()}
        self.next_mask = key_mask(by_next)
        """The key bits of ``by_next``'s keys (see patterns.key_bit)."""
        self.key_bit = key_bit(key)
        self.matchable = bool(singles or checked or by_next or any_next)


class _TokenTable:
    """Raw token -> facts (``table[raw]``); cleared (not evicted) when full, since entries
    are pure.

    ``infos`` is the table itself, an exact dict: the hot loop of :meth:`CxAnnotator._read`
    looks words up in it with ``get`` and calls :meth:`learn` for a new one (compiled, a
    look-up in a dict subclass goes through the generic item protocol)."""

    def __init__(
        self, lexicon: Lexicon, vader: FastVader, normalizer: Normalizer, limit: int
    ) -> None:
        self.infos: dict[str, _TokenInfo] = {}
        self._lexicon = lexicon
        self._vader = vader
        self._normalizer = normalizer
        self._vader_lexicon = vader.lexicon
        self._limit = limit
        by_word: dict[str, list[tuple[Entry, PatternPart]]] = {}
        by_prefix: dict[str, list[tuple[Entry, PatternPart]]] = {}
        by_regex: dict[str, list[tuple[Entry, PatternPart]]] = {}
        for entry in lexicon.entries:
            for part in entry.compiled.parts:
                trigger = part.trigger
                for word in trigger.words:
                    by_word.setdefault(word, []).append((entry, part))
                for prefix in trigger.prefixes:
                    by_prefix.setdefault(prefix, []).append((entry, part))
                if trigger.regex is not None:
                    by_regex.setdefault(trigger.regex, []).append((entry, part))
        self._by_word = {k: tuple(v) for k, v in by_word.items()}
        self._by_prefix = {k: tuple(v) for k, v in by_prefix.items()}
        self._prefix_lengths = sorted({len(p) for p in by_prefix})
        self._by_regex = [(re.compile(rx), tuple(v)) for rx, v in by_regex.items()]
        # One candidate per entry and pattern part (by identity: the lexicon keeps them
        # alive; an identical pattern in two entries may share its compiled parts).
        self._candidates: dict[tuple[int, int], _Candidate] = {}
        # The first token of each key: the pattern facts depend on the key alone, so
        # tokens that differ only in case or edge punctuation share them (less memory
        # for the matcher to read).
        self._by_key: dict[str, _TokenInfo] = {}
        # The first token of each set of pattern facts (many words start exactly the
        # same patterns, the words of one alternation): one copy of the facts each.
        self._by_facts: dict[tuple[tuple[int, int, bool], ...], _TokenInfo] = {}

    def __getitem__(self, raw: str) -> _TokenInfo:
        info = self.infos.get(raw)
        return self.learn(raw) if info is None else info

    def rewritten_infos(self, info: _TokenInfo) -> tuple[_TokenInfo, ...]:
        """The facts of the words of ``info.rewritten``, memoised on ``info`` (a reading
        then looks up the changed word only, not its outputs too)."""
        found = info.rewritten_infos
        if found is None:
            found = info.rewritten_infos = tuple([self[word] for word in info.rewritten])
        return found

    def expansion_infos(self, info: _TokenInfo) -> tuple[_TokenInfo, ...]:
        """The facts of the tokens of ``info.expansion``, memoised like
        :meth:`rewritten_infos`."""
        found = info.expansion_infos
        if found is None:
            found = info.expansion_infos = tuple([self[token] for token in info.expansion])
        return found

    def learn(self, raw: str) -> _TokenInfo:
        """The facts of a token not in the table yet, added to it."""
        # Emoticons VADER knows (":D", "<3") stay whole; words lose edge punctuation.
        lower = raw.lower()
        # Interned: the matcher looks keys up in the (interned) keys of by_next and the
        # anchor sets, where the same object compares equal without reading the text.
        key = sys.intern(lower if lower in self._vader_lexicon else (lower.strip(_STRIP) or lower))
        same_key = self._by_key.get(key)
        same_facts: _TokenInfo | None = None
        signature: list[tuple[int, int, bool]] = []
        cands: Sequence[tuple[Entry, PatternPart]] | _TokenInfo
        if same_key is not None:
            cands = same_key
        else:
            found: list[tuple[Entry, PatternPart]] = list(self._by_word.get(key, ()))
            for length in self._prefix_lengths:
                if length > len(key):
                    break
                found += self._by_prefix.get(key[:length], ())
            for regex, entries in self._by_regex:
                if regex.fullmatch(key):
                    found += entries
            unique = tuple(dict.fromkeys(found))
            # What the token's pattern facts depend on: the pattern parts, and for each
            # placeholder whether the token is one of its one-token forms.
            for entry, part in unique:
                placeholder = part.placeholder
                signature.append(
                    (
                        id(entry),
                        id(part),
                        placeholder is not None
                        and placeholder_single(placeholder).fullmatch(key) is None,
                    )
                )
            same_facts = self._by_facts.get(tuple(signature))
            cands = unique if same_facts is None else same_facts
        info = _TokenInfo(
            raw,
            key,
            self._lexicon,
            cands,
            self._candidates,
            self._vader_lexicon,
            self._normalizer.rewrite(raw),
            self._vader.expansion(raw),
            is_foreign_word(raw) or not latin_script(raw),
        )
        if len(self.infos) >= self._limit:
            self.infos.clear()
            self._by_key.clear()
            self._by_facts.clear()
        self.infos[raw] = info
        if same_key is None:
            self._by_key[key] = info
            if same_facts is None:
                self._by_facts[tuple(signature)] = info
        return info


# ------------------------------------------------------------------- sentences


class _Sentence:
    """Per-sentence working state: tokens ``lo:hi`` of the text, and the decisions.

    No ``__slots__``: the class attributes below are the defaults, so a sentence
    no rule touches costs six attribute writes. Defaults are immutable; code that
    adds to ``spans``/``sarcasm_fired`` replaces them.
    """

    buckets: list[list[_Hit]] | None = None
    spans: Sequence[_Span] = ()
    complaint: bool = False
    vader_negative: bool = False
    quoted: bool = False
    marker: bool = False
    sarcasm_fired: Sequence[_Hit] = ()
    damp: float | None = None
    suppressed: list[_Hit] | None = None
    courtesy: bool = False
    applied: bool = False

    def __init__(  # noqa: PLR0917 - private, hot path
        self, index: int, text: str, lo: int, hi: int, ep: int, qm: int
    ) -> None:
        self.index = index
        self.text = text
        self.lo = lo
        self.hi = hi
        self.ep = ep
        """ "!" as VADER counts them (on the emoji-substituted sentence)."""
        self.qm = qm


def _proper_nouns(infos: list[_TokenInfo], sentences: list[_Sentence]) -> list[int]:
    """Lexicon words that are part of a name mid-sentence: "switched to Happy Paws", "my
    Super Saver fare". A capitalised word counts when it is not the first of its sentence
    or clause and a neighbour in the sentence is capitalised too. Not in Title Case Text,
    where every word is capitalised."""
    n = len(infos)
    titles = 0
    for info in infos:
        if info.title:
            titles += 1
    if 2 * titles >= n:
        return []
    found: list[int] = []
    for s in sentences:
        lo, hi = s.lo, s.hi
        for t in range(lo + 1, hi):
            info = infos[t]
            if not info.title_lex or infos[t - 1].clause_end:
                continue
            before = infos[t - 1].title and t - 1 > lo
            after = t + 1 < hi and infos[t + 1].title
            if before or after:
                found.append(t)
    return found


def _negator_before(infos: list[_TokenInfo], i: int, lo: int) -> int | None:
    """Index of a negator among the 4 tokens before ``i`` in its clause, else None.

    ``lo`` is the sentence's first token. The search stops at a clause end
    (, ; : . ! ?) and at a negation stopper ("not sure WHY my order was
    cancelled" does not negate "cancelled").
    """
    for k in range(i - 1, max(lo - 1, i - 1 - _NEGATION_WINDOW), -1):
        neg = infos[k].neg
        if neg:
            return k if neg == _NEG_FOUND else None
    return None


def _non_overlapping(hits: list[_Hit]) -> list[_Hit]:
    """Longest-first, then leftmost, non-overlapping subset of ``hits``, in text order."""
    # Hits arrive in start order; when none overlaps the next (the usual case),
    # every hit is kept and the order is already the text order.
    previous_end = -1
    for _, i, j in hits:
        if i < previous_end:
            break
        previous_end = j
    else:
        return hits
    n = len(hits)
    starts = [hit[1] for hit in hits]
    ends = [hit[2] for hit in hits]
    return [hits[k] for k in _keep_disjoint(starts, ends, [0] * n)]


def _keep_disjoint(starts: list[int], ends: list[int], ranks: list[int]) -> list[int]:
    """Which of the spans ``starts[k]:ends[k]`` to keep, as indices in start order: the
    spans taken longest first, then by ``ranks``, then leftmost (a stable sort by
    ``(start - end, rank, start)``), each kept when it shares no token with one kept
    before it; the order a stable ``sort(key=start)`` gives the kept ones.

    What ``sorted`` with that key, a set of taken tokens and ``range`` objects would
    give, without them: a sentence's spans are few, so insertion sorts and interval
    tests of small ints (compiled, no key calls, sets or ranges).
    """
    order: list[int] = []
    for n in range(len(starts)):
        length = starts[n] - ends[n]
        rank = ranks[n]
        start = starts[n]
        k = len(order)
        while k > 0:
            m = order[k - 1]
            other = starts[m] - ends[m]
            if other < length or (
                other == length and (ranks[m] < rank or (ranks[m] == rank and starts[m] <= start))
            ):
                break
            k -= 1
        order.insert(k, n)
    kept: list[int] = []
    for n in order:
        start, end = starts[n], ends[n]
        free = True
        for m in kept:
            # Spans share a token when they overlap and neither is empty.
            if start < ends[m] and starts[m] < end and start < end and starts[m] < ends[m]:
                free = False
                break
        if free:
            k = len(kept)
            while k > 0 and starts[kept[k - 1]] > start:
                k -= 1
            kept.insert(k, n)
    return kept


def _match(  # noqa: PLR0915 - the matcher's hot loop, kept in one piece
    infos: list[_TokenInfo], sentences: list[_Sentence]
) -> list[_Sentence]:
    """Every lexicon match, sentence by sentence; returns the sentences with one.

    Sets those sentences' ``buckets`` (matches by family bucket, in start
    order). Only tokens that can start a pattern are visited. A multi-token
    pattern is tried only if its second-token filter accepts the next token (in
    the same sentence) and the sentence contains one of its anchor words; then
    its token steps run from the token (:func:`_token_match`).
    """
    matched = _NO_SENTENCES  # a list of its own from the first sentence with a match
    index = 0
    s = sentences[0]
    lo, hi = 0, s.hi
    last = hi - 1
    buckets: list[list[_Hit]] | None = None
    sentence_mask = -1  # the key bits of the sentence's tokens, once needed
    for i in range(len(infos)):
        info = infos[i]
        if not info.matchable:
            continue
        if i >= hi:
            # The next sentence with a matchable token.
            if buckets is not None:
                s.buckets = buckets
                if matched is _NO_SENTENCES:
                    matched = [s]
                else:
                    matched.append(s)
                buckets = None
            sentence_mask = -1
            index += 1
            s = sentences[index]
            while i >= s.hi:
                index += 1
                s = sentences[index]
            lo, hi = s.lo, s.hi
            last = hi - 1
        if i < last and info.next_mask & infos[i + 1].key_bit:
            multi = info.by_next.get(infos[i + 1].key, info.any_next)
        else:
            multi = info.any_next
        singles = info.singles
        if singles:
            if buckets is None:
                buckets = [_NO_HITS] * _N_BUCKETS
            for bucket, entry in singles:
                _add_hit(buckets, bucket, (entry, i, i + 1))
        checked = info.checked
        if not multi and not checked:
            continue
        found: list[_Hit] | None = [(entry, i, i + 1) for entry in checked] if checked else None
        for candidate in multi:
            steps = candidate.steps
            if steps is None:
                end = i + 2
            else:
                anchor = candidate.anchor
                if anchor is not None:
                    anchor_mask = candidate.anchor_mask
                    if sentence_mask < 0:
                        sentence_mask = 0
                        for k in range(lo, hi):
                            sentence_mask |= infos[k].key_bit
                    if not anchor_mask & sentence_mask or not _has_anchor(
                        infos, lo, hi, anchor, anchor_mask
                    ):
                        continue
                # The regex's match, found token by token (no key string needed).
                end = _token_match(steps, infos, i, hi)
                if end < 0:
                    continue
            entry = candidate.entry
            if found is None:
                found = [(entry, i, end)]
                continue
            # Two parts of one pattern can match at the same token: keep the longer.
            for k, (other, _, other_end) in enumerate(found):
                if other is entry:
                    if end > other_end:
                        found[k] = (entry, i, end)
                    break
            else:
                found.append((entry, i, end))
        if found is None:
            continue
        for hit in found:
            entry, _, end = hit
            if entry.constrained and not _position_ok(entry, infos, lo, hi, i, end, s.qm > 0):
                continue
            if buckets is None:
                buckets = [_NO_HITS] * _N_BUCKETS
            _add_hit(buckets, _BUCKET[entry.family], hit)
    if buckets is not None:
        s.buckets = buckets
        if matched is _NO_SENTENCES:
            matched = [s]
        else:
            matched.append(s)
    return matched


def _one_token(step: TokenStep, info: _TokenInfo) -> bool:
    """Whether the token ``info`` is one the ``STEP_ONE`` step accepts (its key bits first:
    most keys are rejected by an AND)."""
    if info.key_bit & step.key_mask and info.key in step.keys:
        return True
    return (info.first_bit & step.prefix_mask) != 0 and step.has_prefix(info.key)


def _token_match(step: TokenStep | None, infos: list[_TokenInfo], pos: int, hi: int) -> int:
    """Where the match of ``step`` and the steps after it from token ``pos`` ends (tokens
    ``pos:hi`` of one sentence), or -1: the end of the part's regex match, the first one
    in the regex's order of trying alternatives (see :class:`TokenStep`)."""
    while step is not None:
        kind = step.kind
        if kind == STEP_ONE:
            if pos >= hi or not _one_token(step, infos[pos]):
                return -1
        elif kind == STEP_ALT:
            # Every alternative starts with a required element (one token or more), so
            # one that starts with a rejected token is skipped without trying the rest.
            if pos < hi:
                info = infos[pos]
                if not (
                    info.key_bit & step.first_key_mask or info.first_bit & step.first_prefix_mask
                ):
                    if not step.optional:
                        return -1
                    step = step.next
                    continue
                for alt in step.alts:
                    if alt.kind == STEP_ONE:
                        if not _one_token(alt, info):
                            continue
                        end = _token_match(alt.next, infos, pos + 1, hi)
                    else:
                        end = _token_match(alt, infos, pos, hi)
                    if end >= 0:
                        return end
            if not step.optional:
                return -1
            step = step.next
            continue
        elif kind == STEP_ANY:
            if pos >= hi:
                return -1
        else:
            # A run of [_]: as many tokens as there are (up to run) first.
            count = step.run if step.run < hi - pos else hi - pos
            following = step.next
            while count >= 0:
                end = _token_match(following, infos, pos + count, hi)
                if end >= 0:
                    return end
                count -= 1
            return -1
        pos += 1
        step = step.next
    return pos


def _has_anchor(
    infos: list[_TokenInfo], lo: int, hi: int, anchor: frozenset[str], anchor_mask: int
) -> bool:
    """Whether a token of ``lo:hi`` has one of the ``anchor`` keys (whose key bits are
    ``anchor_mask``): only tokens with one of those bits are looked up."""
    for k in range(lo, hi):
        info = infos[k]
        if info.key_bit & anchor_mask and info.key in anchor:
            return True
    return False


# A sentence's buckets start as this one shared empty list, replaced by a list of its own
# on the first hit: most sentences with a match have hits in one or two of the seven
# buckets, and the others then cost no allocation. Only _add_hit adds hits; every other
# step reads the buckets or replaces a bucket by a new list, never changes one in place.
_NO_HITS: Final[list[_Hit]] = []
# Likewise shared, never changed: _match's result for a text without a match, and the
# adjustments of a text no rule touches.
_NO_SENTENCES: Final[list[_Sentence]] = []
_NO_ADJUSTMENTS: Final[list[Adjustment]] = []
_NO_VALUES: Final[list[float]] = []
_NO_NAMES: Final[list[int]] = []
_N_BUCKETS: Final = 7


def _add_hit(buckets: list[list[_Hit]], bucket: int, hit: _Hit) -> None:
    hits = buckets[bucket]
    if hits is _NO_HITS:
        buckets[bucket] = [hit]
    else:
        hits.append(hit)


def _position_ok(  # noqa: PLR0917 - private
    entry: Entry,
    infos: list[_TokenInfo],
    lo: int,
    hi: int,
    start: int,
    end: int,
    has_question: bool,
) -> bool:
    """Check an entry's at_start / at_end / whole_sentence / clause_break / question options."""
    if (entry.at_start or entry.whole_sentence) and not all(
        infos[k].preamble for k in range(lo, start)
    ):
        return False
    if (entry.at_end or entry.whole_sentence) and any(infos[k].word for k in range(end, hi)):
        return False
    if entry.clause_break and not infos[end - 1].clause_end:
        return False
    return not (entry.question and not has_question)


def match_sentence(infos: list[_TokenInfo], has_question: bool) -> list[list[_Hit]] | None:
    """:func:`_match` on one sentence's token infos alone (for tests and tools)."""
    sentence = _Sentence(0, "", 0, len(infos), 0, int(has_question))
    return sentence.buckets if _match(infos, [sentence]) else None


def _inside_any(hits: list[_Hit], k: int) -> bool:
    """Whether token ``k`` belongs to one of the ``hits``."""
    for _, i, j in hits:  # noqa: SIM110 - compiled, a loop beats a generator
        if i <= k < j:
            return True
    return False


def _resolve_spans(hits: list[_Hit], infos: list[_TokenInfo], lo: int) -> list[_Span]:
    """Apply negation, then keep the longest (then highest-priority) non-overlapping spans."""
    if len(hits) == 1:
        entry, i, j = hits[0]
        if entry.negatable:
            k = _negator_before(infos, i, lo)
            if k is not None:
                return [(entry, k, j, entry.valence * N_SCALAR, True)]
        return [(entry, i, j, entry.valence, False)]
    # A negator that is part of another phrase ("still NO update on my missing
    # parcel", "NO signal") belongs to that phrase and negates nothing else.
    candidates: list[_Span] = []
    for entry, i, j in hits:
        if entry.negatable:
            k = _negator_before(infos, i, lo)
            if k is not None and not _inside_any(hits, k):
                candidates.append((entry, k, j, entry.valence * N_SCALAR, True))
                continue
        candidates.append((entry, i, j, entry.valence, False))
    # Usually no two spans overlap: then all are kept, and in text order already.
    previous_end = -1
    for span in candidates:
        if span[1] < previous_end:
            break
        previous_end = span[2]
    else:
        return candidates
    # Longest first, then by the families' priority, then leftmost (_keep_disjoint).
    starts = [span[1] for span in candidates]
    ends = [span[2] for span in candidates]
    ranks = [-SPAN_PRIORITY[span[0].family] for span in candidates]
    return [candidates[k] for k in _keep_disjoint(starts, ends, ranks)]


# What _prepare found in a sentence (bit flags), so the text-level steps can
# skip what no sentence needs.
_F_COMPLAINT: Final = 1
_F_POLITENESS: Final = 2
_F_SARCASM: Final = 4
_F_REQUEST: Final = 8
_F_ASPECT: Final = 16


def _prepare(s: _Sentence, infos: list[_TokenInfo]) -> int:
    """Decide what needs only the sentence's own matches (``buckets``); returns _F_* flags.

    Resolves its spans (negation, overlaps), keeps non-overlapping politeness,
    emotion and aspect matches, and sets ``complaint``/``marker`` from its
    negative spans and its cues.
    """
    buckets = s.buckets
    assert buckets is not None
    flags = 0
    if buckets[0]:
        spans = s.spans = _resolve_spans(buckets[0], infos, s.lo)
        for span in spans:
            if span[3] < 0 and span[0].family in _COMPLAINT_FAMILIES:
                s.complaint = True
    if buckets[1]:
        flags |= _F_POLITENESS
        if len(buckets[1]) > 1:
            buckets[1] = _non_overlapping(buckets[1])
    if buckets[2]:
        flags |= _F_SARCASM
    if buckets[3]:
        flags |= _F_REQUEST
    if len(buckets[5]) > 1:
        buckets[5] = _non_overlapping(buckets[5])
    if buckets[6]:
        flags |= _F_ASPECT
        if len(buckets[6]) > 1:
            buckets[6] = _non_overlapping(buckets[6])
    if buckets[4]:
        sentence_spans = s.spans
        for entry, i, _ in buckets[4]:
            if _in_positive_span(sentence_spans, i) or (
                entry.negatable and _negator_before(infos, i, s.lo) is not None
            ):
                continue
            if entry.kind == "problem":
                s.complaint = True
            else:
                s.marker = True
    if s.complaint:
        flags |= _F_COMPLAINT
    return flags


def _overlaps_a_hit(hits: list[_Hit], i: int, j: int) -> bool:
    """Whether tokens ``i:j`` share a token with one of the ``hits`` (interval tests)."""
    for _, start, end in hits:  # noqa: SIM110 - compiled, a loop beats a generator
        if start < j and i < end and start < end and i < j:
            return True
    return False


def _in_positive_span(spans: Sequence[_Span], k: int) -> bool:
    """Whether token ``k`` is in one of the sentence's non-negative spans (their tokens are
    not cues of a complaint)."""
    for span in spans:  # noqa: SIM110 - compiled, a loop beats a generator
        if span[3] >= 0 and span[1] <= k < span[2]:
            return True
    return False


# -------------------------------------------------------------------- deciding


def _decide(  # noqa: PLR0917 - one pass per rule kind
    sentences: list[_Sentence],
    matched: list[_Sentence],
    infos: list[_TokenInfo],
    values: list[float],
    positions: list[int],
    flags: int,
) -> bool:
    """Make the text-level decisions; returns whether the text is a complaint.

    ``matched`` are the sentences with matches and ``flags`` what
    :func:`_prepare` found in them (the other sentences have no rule to decide
    on, but sarcasm looks at their cues too).
    """
    complaint = bool(flags & _F_COMPLAINT)
    if flags & _F_SARCASM:
        # Cues only sarcasm needs: scare quotes and negative VADER words.
        text_cue = complaint
        for s in sentences:
            lo, hi = s.lo, s.hi
            s.quoted = False
            for k in range(lo, hi):
                if infos[k].quoted:
                    s.quoted = True
                    break
            spans = s.spans
            for k in range(bisect_left(positions, lo), bisect_left(positions, hi)):
                if values[k] <= _SARCASM_VADER_CUE and not _in_positive_span(spans, positions[k]):
                    s.vader_negative = True
                    break
            text_cue = text_cue or s.vader_negative or s.marker
        last = len(sentences) - 1
        fired_any = False
        for n, s in enumerate(sentences):
            for hit in s.buckets[2] if s.buckets is not None else ():
                cue = hit[0].cue
                if cue == "none":
                    fired = True
                elif cue == "text":
                    fired = text_cue
                elif cue == "quoted":
                    fired = s.quoted
                elif hit[0].at_start and any(
                    infos[k].key in _CONTRAST for k in range(hit[2], s.hi)
                ):
                    # "Great, the food, but the delivery was late" is a mixed review:
                    # after a praise opener, a contrast means the praise is meant.
                    fired = False
                else:
                    fired = s.complaint or s.vader_negative or s.quoted or s.marker
                    if cue == "nearby":
                        # An adjacent sentence's complaint, scare quotes or marker
                        # ("Brilliant. Another 'maintenance window'.").
                        for m in (n - 1, n + 1):
                            if 0 <= m <= last:
                                other = sentences[m]
                                fired = fired or other.complaint or other.marker
                                fired = fired or other.quoted
                if fired:
                    s.sarcasm_fired = (*s.sarcasm_fired, hit)
                    fired_any = True
        complaint = complaint or fired_any
    if flags & (_F_POLITENESS | _F_REQUEST):
        _decide_politeness_and_requests(matched, complaint, flags)
    return complaint


def _decide_politeness_and_requests(matched: list[_Sentence], complaint: bool, flags: int) -> None:
    """Which politeness is dampened and which request sentences are neutralised."""
    # Thanks after a request ("can you send the invoice? thanks!") is courtesy, like thanks
    # inside a complaint: the index of the first request sentence of a text that is not one.
    request_from = -1
    if not complaint and flags & _F_REQUEST:
        for s in matched:
            if s.buckets is not None and s.buckets[3]:
                request_from = s.index
                break
    for s in matched:
        buckets = s.buckets
        assert buckets is not None
        if buckets[1]:
            courtesy = 0 <= request_from < s.index
            s.courtesy = courtesy
            # Positive emotions of dampened politeness do not count ("have a good one" is not
            # satisfaction, "thanks for nothing" not gratitude).
            suppressed: list[_Hit] | None = None
            for hit in buckets[1]:
                if hit[0].scope == "always" or complaint or courtesy:
                    if suppressed is None:
                        suppressed = [hit]
                    else:
                        suppressed.append(hit)
            s.suppressed = suppressed
        if buckets[3] and not complaint:
            s.damp = min(entry.factor for entry, _, _ in buckets[3])


# ---------------------------------------------------------------- applying


def _adjustment(  # noqa: PLR0917 - private
    entry: Entry, rule: str, infos: list[_TokenInfo], i: int, j: int, sentence: int, delta: float
) -> Adjustment:
    return build_adjustment(
        rule,
        entry.pattern,
        entry.source,
        infos[i].key if j == i + 1 else " ".join([info.key for info in infos[i:j]]),
        sentence,
        round4(delta),
    )


def _apply_span(
    work: list[float], span: _Span, infos: list[_TokenInfo], but: int | None, sentence: int
) -> Adjustment:
    """Move the span's valence sum to its target (a complaint's floor, a praise's
    ceiling, zero for a neutral term) and return the recorded adjustment.

    The target follows VADER's "but" rule like VADER's own valences: x0.5 before
    the text's first "but", x1.5 after it.
    """
    entry, first, last, target, negated = span
    if but is not None and first != but:
        target *= 0.5 if first < but else 1.5
    current = _total(work, first, last)
    if target == 0:
        delta = -current
        for t in range(first, last):
            work[t] = 0.0
    else:
        # A span only moves towards its target: min(0.0, delta) for a floor,
        # max(0.0, delta) for a ceiling, written as comparisons because compiled
        # code calls the builtins through the interpreter.
        delta = target - current
        if not (delta < 0.0 if target < 0 else delta > 0.0):
            delta = 0.0
        work[first] += delta
    rule = entry.family
    if negated and rule != "evaluation" and target > 0:
        rule = "negated_problem"
    return _adjustment(entry, rule, infos, first, last, sentence, delta)


def _apply(  # noqa: PLR0917 - one block per rule kind, in application order
    work: list[float],
    s: _Sentence,
    infos: list[_TokenInfo],
    but: int | None,
    complaint: bool,
    record: list[Adjustment],
) -> None:
    """Apply the sentence's decisions to ``work`` (the text's valences) and record them.

    Contributions follow VADER's "but" rule like VADER's own valences: x0.5
    before the text's first "but", x1.5 after it. Adjustments are recorded
    in application order: politeness, spans, sarcasm, request.
    """
    buckets = s.buckets
    assert buckets is not None
    index = s.index

    courtesy = s.courtesy
    for entry, i, j in buckets[1]:
        if entry.scope == "always" or complaint or courtesy:
            delta = 0.0
            factor = entry.factor
            for t in range(i, j):
                v = work[t]
                if v > 0:
                    nv = v * factor
                    delta += nv - v
                    work[t] = nv
            record.append(_adjustment(entry, "politeness", infos, i, j, index, delta))

    for span in s.spans:
        record.append(_apply_span(work, span, infos, but, index))

    lo, hi = s.lo, s.hi
    for n, (entry, i, j) in enumerate(s.sarcasm_fired):
        delta = 0.0
        if n == 0:
            for t in range(lo, hi):
                v = work[t]
                if v > 0:
                    work[t] = -v
                    delta -= 2 * v
        target = entry.valence
        if but is not None and i != but:
            target *= 0.5 if i < but else 1.5
        floor = target - _total(work, i, j)
        floor = floor if floor < 0.0 else 0.0
        work[i] += floor
        record.append(_adjustment(entry, "sarcasm", infos, i, j, index, delta + floor))

    damp = s.damp
    if damp is not None:
        delta = 0.0
        for t in range(lo, hi):
            v = work[t]
            if v != 0:
                nv = v * damp
                delta += nv - v
                work[t] = nv
        entry, i, j = buckets[3][0]
        record.append(_adjustment(entry, "request", infos, i, j, index, delta))


# --------------------------------------------------------- emotions, aspects


def _word_label(entry: Entry, infos: list[_TokenInfo], i: int, lo: int) -> str | None:
    """The emotion an emotion word at ``i`` expresses: its label, or after a negator its
    ``negated_as`` ("not happy": disappointment), or None when negation cancels it."""
    if entry.negatable and _negator_before(infos, i, lo) is not None:
        return entry.negated_as or None
    return entry.label


def _span_emotions(span: _Span) -> Sequence[tuple[str, float]]:
    """(label, weight) pairs a span rule adds: its entry's, or for a negated span the
    relief of a negated problem / the disappointment of negated praise."""
    entry, _, _, target, negated = span
    if negated:
        return _NEGATED_PROBLEM_EMOTION if target > 0 else _NEGATED_PRAISE_EMOTION
    return entry.emotions


def _add_emotion(acc: dict[str, float], label: str, intensity: float) -> None:
    """Noisy-or: several hits of a label reinforce each other without exceeding 1."""
    # A membership test, not acc.get(label, 0.0): compiled, the default would be boxed per call.
    previous = acc[label] if label in acc else 0.0  # noqa: SIM401 - see above
    acc[label] = 1.0 - (1.0 - previous) * (1.0 - (intensity if intensity < 1.0 else 1.0))


# Loops, not any()/all() over a generator: compiled, a loop is a few machine instructions
# per token, while a generator is an object and a call per token.
def _any_caps(infos: list[_TokenInfo], lo: int, hi: int) -> bool:
    for k in range(lo, hi):  # noqa: SIM110 - see above
        if infos[k].caps:
            return True
    return False


def _all_caps(infos: list[_TokenInfo], lo: int, hi: int) -> bool:
    for k in range(lo, hi):  # noqa: SIM110 - see above
        if not infos[k].caps:
            return False
    return True


def _word_intensity(  # noqa: PLR0917 - private
    entry: Entry, infos: list[_TokenInfo], i: int, j: int, lo: int, hi: int, emphasis: float
) -> float:
    """An emotion word's intensity: its weight x the sentence's "!" emphasis, x1.3 / x0.7
    per VADER booster among the two words before it (within the clause), x1.25 when it
    is in capitals and its sentence is not (VADER's caps emphasis)."""
    intensity = entry.weight * emphasis
    if i > lo:
        before = infos[i - 1]
        if not before.clause_end:
            booster = before.boost
            if booster:
                intensity *= _BOOST_UP if booster > 0 else _BOOST_DOWN
            if i - 1 > lo:
                before = infos[i - 2]
                if not before.clause_end:
                    booster = before.boost
                    if booster:
                        intensity *= _BOOST_UP if booster > 0 else _BOOST_DOWN
    if _any_caps(infos, i, j) and not _all_caps(infos, lo, hi):
        intensity *= _CAPS_BOOST
    return intensity


def _in_neutral_term(spans: Sequence[_Span], i: int, j: int) -> bool:
    """Whether tokens ``i:j`` share a token with one of the sentence's neutral terms: their
    words express no feeling ("free shipping", "good luck", "unfortunately I need to change
    my booking"), except puzzlement and worry, which neutral text carries too. (Interval
    tests: no set of the terms' tokens.)"""
    for span in spans:
        if (
            span[0].family == "neutral_term"
            and span[1] < j
            and i < span[2]
            and span[1] < span[2]
            and i < j
        ):
            return True
    return False


def _emotions(matched: list[_Sentence], infos: list[_TokenInfo]) -> dict[str, float]:
    """Emotion label -> intensity, from emotion words, span rules and sarcasm frames."""
    acc: dict[str, float] = {}
    for s in matched:
        buckets = s.buckets
        assert buckets is not None
        emotion_hits = buckets[5]
        sarcasm = s.sarcasm_fired
        spans = s.spans if s.damp is None else ()
        if not (emotion_hits or spans or sarcasm):
            continue
        emphasis = _EMPHASIS[s.ep if s.ep < 3 else 3]
        # Noisy-or, in the order emotion words, spans, sarcasm: several hits of a
        # label reinforce without exceeding 1.
        if emotion_hits:
            lo = s.lo
            suppressed = s.suppressed
            sentence_spans = s.spans
            # A request or information question is not praise ("would love to know when").
            literal = s.damp is not None
            for entry, i, j in emotion_hits:
                label = _word_label(entry, infos, i, lo)
                if label is None:
                    continue
                if (
                    sentence_spans
                    and label not in _NEUTRAL_EMOTIONS
                    and _in_neutral_term(sentence_spans, i, j)
                ):
                    continue
                if label in POSITIVE_EMOTIONS and (
                    sarcasm
                    or literal
                    or (suppressed is not None and _overlaps_a_hit(suppressed, i, j))
                ):
                    continue
                _add_emotion(acc, label, _word_intensity(entry, infos, i, j, lo, s.hi, emphasis))
        for span in spans:
            for label, weight in _span_emotions(span):
                if not (sarcasm and label in POSITIVE_EMOTIONS):
                    intensity = weight * emphasis
                    _add_emotion(acc, label, intensity)
        for hit in sarcasm:
            for label, weight in hit[0].emotions:
                intensity = weight * emphasis
                _add_emotion(acc, label, intensity)
    return _rounded(acc)


def _rounded(acc: dict[str, float]) -> dict[str, float]:
    """The emotions of ``acc`` with intensities rounded to 3 decimals, those that round to
    0 left out, in ``acc``'s order: ``acc`` itself, rounded in place (a value replaced,
    no key added or removed while iterating), unless one is left out."""
    dropped = False
    for label, value in acc.items():
        rounded = round3(value)
        acc[label] = rounded
        if not rounded > 0:
            dropped = True
    if dropped:
        return {label: value for label, value in acc.items() if value > 0}
    return acc


def _mute_names(s: _Sentence, names: list[int]) -> None:
    """Emotion words that are part of a name ("Joy", "Happy Paws") express nothing."""
    buckets = s.buckets
    if buckets is not None and buckets[5]:
        buckets[5] = [hit for hit in buckets[5] if hit[1] not in names]


def _neutralise_names(
    work: list[float],
    names: list[int],
    infos: list[_TokenInfo],
    sentences: list[_Sentence],
    record: list[Adjustment],
) -> None:
    """Set the valence of lexicon words inside names to 0 (after the other rules)."""
    for s in sentences:
        for t in names:
            if s.lo <= t < s.hi and work[t] != 0:
                delta = -work[t]
                work[t] = 0.0
                s.applied = True
                record.append(
                    build_adjustment(
                        "proper_noun", "{name}", "annotator", infos[t].key, s.index, round4(delta)
                    )
                )


def _resolve_frustration(emotions: dict[str, float], label: str, infos: list[_TokenInfo]) -> None:
    """Frustration from what the text says and how it reads as a whole.

    Complaint phrases, negative verdicts and sarcasm imply ``complaint_frustration``; it counts
    in a text read as negative, not in one read as neutral or positive ("a day late but I love
    the dress"). Blocked effort in so many words (``effort``: "still no", "third time", "sends
    me back to") is frustration in any text not read as positive (a factual complaint read as
    neutral is still stuck); repetition ("again", "twice", "tried", "three times") in a
    negative text, or in a neutral one beside a complaint or another sign of effort: "I ordered
    again last week" is a story. A positive text has none: "they fixed it after I called twice,
    thank you" is a happy ending. The working labels (``loader.WORKING_EMOTIONS``) are never
    published.

    Resolves ``emotions``, the text's own fresh dict, in place (no copy per text). Called for
    texts read as negative, and for others with emotions. The single words are a
    fact of each token (``_TokenInfo.effort_word``, set once per distinct token) rather than
    lexicon entries the matcher would try in every text: "still", "again" and "can't" are
    common.
    """
    # Membership tests and ``del``, not ``dict.pop(key, default)``: compiled, pop with a
    # default is a generic method call and boxes the default (most texts have none of these).
    implied = effort = repetition = 0.0
    if emotions:
        if "complaint_frustration" in emotions:
            implied = emotions["complaint_frustration"]
            del emotions["complaint_frustration"]
        if "effort" in emotions:
            effort = emotions["effort"]
            del emotions["effort"]
        if "repetition" in emotions:
            repetition = emotions["repetition"]
            del emotions["repetition"]
    if label == "positive":
        if "frustration" in emotions:
            del emotions["frustration"]  # noqa: RUF051 - pop is a generic call compiled
        return
    negative = label == "negative"
    if not negative and not (implied > 0 or effort > 0 or repetition > 0):
        return
    hint = False
    for k, info in enumerate(infos):
        word = info.effort_word
        if word:
            if word == _EFFORT_HINT_WORD:
                hint = True
            # "never again", "won't book again": a verdict, not a repetition.
            elif _negator_before(infos, k, 0) is None:
                repetition = 1.0 - (1.0 - repetition) * (1.0 - _REPETITION_WEIGHT)
    changed = False
    if effort > 0:
        _add_emotion(emotions, "frustration", effort)
        changed = True
    if repetition > 0 and (negative or effort > 0 or implied > 0 or hint):
        _add_emotion(emotions, "frustration", repetition)
        changed = True
    if implied > 0 and negative:
        _add_emotion(emotions, "frustration", implied)
        changed = True
    if changed:
        emotions["frustration"] = round3(emotions["frustration"])


def _shouted(emotions: dict[str, float]) -> dict[str, float]:
    acc = dict(emotions)
    _add_emotion(acc, "anger", _SHOUTING_ANGER)
    acc["anger"] = round3(acc["anger"])
    return acc


def _clause_scores(
    s: _Sentence, infos: list[_TokenInfo], work: list[float], scores: dict[str, list[float]]
) -> None:
    """Add the sentence's aspect mentions' clause compounds to ``scores`` (aspect -> list)."""
    assert s.buckets is not None
    # A mention's clause runs from the token after the previous clause end
    # (, ; : . ! ?) or from the last clause starter ("but", "however", ...) up to
    # the next clause end or the token before the next starter, within the
    # sentence: found by scanning from the mention (no lists of the sentence's
    # clause ends and starters: a sentence has about one mention).
    lo, hi = s.lo, s.hi
    sentence_sum: float | None = None
    for entry, i, _ in s.buckets[6]:
        first = lo  # after the last clause end before the mention
        for k in range(i - 1, lo - 1, -1):
            if infos[k].clause_end:
                first = k + 1
                break
        last = hi - 1  # the first clause end from the mention on
        for k in range(i, hi):
            if infos[k].clause_end:
                last = k
                break
        for k in range(i, lo - 1, -1):
            if infos[k].starter:  # the last starter up to the mention
                if k > first:  # noqa: PLR1730 - compiled: no call of the builtin
                    first = k
                break
        for k in range(i + 1, hi):
            if infos[k].starter:  # the first starter after it
                if k - 1 < last:  # noqa: PLR1730 - compiled: no call of the builtin
                    last = k - 1
                break
        value = _total(work, first, last + 1)
        if value == 0:
            if sentence_sum is None:
                sentence_sum = _total(work, lo, hi)
            value = sentence_sum
        # VADER's normalisation without punctuation emphasis.
        compound = _compound(value, 0.0)
        label = entry.label
        if label in scores:
            scores[label].append(compound)
        else:
            scores[label] = [compound]


def _aspects(
    sentences: list[_Sentence], infos: list[_TokenInfo], work: list[float]
) -> dict[str, AspectSentiment]:
    scores: dict[str, list[float]] = {}
    for s in sentences:
        if s.buckets is not None and s.buckets[6]:
            _clause_scores(s, infos, work, scores)
    result = {}
    for aspect, values in scores.items():
        sentiment = round4(_total(values, 0, len(values)) / len(values))
        result[aspect] = build_aspect_sentiment(sentiment, len(values), vader_label(sentiment))
    return result


def _spans_emotions_aspects(
    matched: list[_Sentence],
    infos: list[_TokenInfo],
    work: list[float],
    but: int | None,
    record: list[Adjustment],
) -> tuple[dict[str, float], dict[str, AspectSentiment]]:
    """:func:`_apply`, :func:`_emotions` and :func:`_aspects` in one pass over the sentences.

    Only for texts without politeness, sarcasm or request matches, where the
    sentences' only adjustments are their spans. The results are the same as
    the three functions', computed in the same order: a sentence's spans are
    applied before its aspects read the adjusted valences (other sentences'
    spans never touch its tokens), and emotions accumulate sentence by
    sentence, emotion words before spans.
    """
    acc: dict[str, float] = {}
    scores: dict[str, list[float]] | None = None  # allocated for the first aspect
    for s in matched:
        buckets = s.buckets
        assert buckets is not None
        spans = s.spans
        lo = s.lo
        if spans:
            index = s.index
            for span in spans:
                record.append(_apply_span(work, span, infos, but, index))
            s.applied = True
        emotion_hits = buckets[5]
        if emotion_hits or spans:
            emphasis = _EMPHASIS[s.ep if s.ep < 3 else 3]
            for entry, i, j in emotion_hits:
                label = _word_label(entry, infos, i, lo)
                if label is None:
                    continue
                if spans and label not in _NEUTRAL_EMOTIONS and _in_neutral_term(spans, i, j):
                    continue
                _add_emotion(acc, label, _word_intensity(entry, infos, i, j, lo, s.hi, emphasis))
            for span in spans:
                for label, weight in _span_emotions(span):
                    intensity = weight * emphasis
                    _add_emotion(acc, label, intensity)
        if buckets[6]:
            if scores is None:
                scores = {}
            _clause_scores(s, infos, work, scores)
    aspects = {}
    if scores is not None:
        for aspect, values in scores.items():
            sentiment = round4(_total(values, 0, len(values)) / len(values))
            aspects[aspect] = build_aspect_sentiment(sentiment, len(values), vader_label(sentiment))
    return _rounded(acc), aspects


def _word_sentences(
    normalized: str, tokens: list[str], infos: list[_TokenInfo], ep: int, qm: int
) -> list[_Sentence]:
    """:meth:`CxAnnotator._sentences` for one line with single spaces, tokens its words
    (``infos`` their facts: ``sentence_end`` says whether a token ends in . ! or ?;
    ``ep``/``qm`` are the text's "!"/"?" counts)."""
    sentences: list[_Sentence] = []
    lo = 0
    # The text is its tokens joined by single spaces: a sentence's text is a slice of it
    # (``start``: where token ``lo`` begins; ``offset``: the end of token ``k``), not a
    # join of a slice of the tokens.
    start = 0
    offset = 0
    # "!"/"?" left for the sentences not built yet: a text without (most) counts nothing,
    # and the last sentence has what is left.
    ep_left = ep
    qm_left = qm
    for k in range(len(tokens) - 1):
        offset += len(tokens[k])
        if infos[k].sentence_end:
            piece = normalized[start:offset]
            s_ep = piece.count("!") if ep_left else 0
            s_qm = piece.count("?") if qm_left else 0
            sentences.append(_Sentence(len(sentences), piece, lo, k + 1, s_ep, s_qm))
            ep_left -= s_ep
            qm_left -= s_qm
            lo = k + 1
            start = offset + 1
        offset += 1
    if not sentences:
        # One sentence: its "!"/"?" counts are the text's.
        return [_Sentence(0, normalized, 0, len(tokens), ep, qm)] if tokens else []
    sentences.append(
        _Sentence(len(sentences), normalized[start:], lo, len(tokens), ep_left, qm_left)
    )
    return sentences


def _expanded_word_sentences(  # noqa: PLR0917 - private
    normalized: str,
    words: list[str],
    ends: list[int],
    infos: list[_TokenInfo],
    ep: int,
    qm: int,
) -> list[_Sentence]:
    """:func:`_word_sentences` for a text with emoji: sentence breaks follow the words
    ending in . ! or ?, token ranges follow ``ends`` (the token after each word's last;
    ``infos`` are the tokens' facts), and a sentence counts its "!"/"?" in its tokens,
    emoji descriptions included."""
    sentences: list[_Sentence] = []
    first_token = 0
    # As in _word_sentences: the text is its words joined by single spaces, so a
    # sentence's text is a slice of it (``start`` where its first word begins, ``offset``
    # the end of word ``k``).
    start = 0
    offset = 0
    ep_left = ep
    qm_left = qm
    for k in range(len(words) - 1):
        offset += len(words[k])
        last_token = ends[k]
        # The word ends in . ! or ? exactly when its last token does: emoji substitution
        # keeps the word's other characters in order, and no emoji description ends in
        # one of them (test_cx_annotator checks VADER's emoji lexicon).
        if infos[last_token - 1].sentence_end:
            s_ep = 0
            s_qm = 0
            if ep_left or qm_left:
                for t in range(first_token, last_token):
                    s_ep += infos[t].bangs
                    s_qm += infos[t].questions
            piece = normalized[start:offset]
            sentences.append(_Sentence(len(sentences), piece, first_token, last_token, s_ep, s_qm))
            ep_left -= s_ep
            qm_left -= s_qm
            first_token = last_token
            start = offset + 1
        offset += 1
    if not sentences:
        # One sentence: its "!"/"?" counts are the text's.
        return [_Sentence(0, normalized, 0, len(infos), ep, qm)] if words else []
    sentences.append(
        _Sentence(len(sentences), normalized[start:], first_token, len(infos), ep_left, qm_left)
    )
    return sentences


# ------------------------------------------------------------------- annotator

# What CxAnnotator._read makes of a text: (normalized, tokens, infos, normalized
# words, where each word's tokens end or None when the tokens are the words, whether
# a word of the text needs the language detector: _TokenInfo.needs_detector).
_Reading = tuple[str, list[str], list[_TokenInfo], list[str], list[int] | None, bool]


class CxAnnotator:
    """Annotate customer text: exact VADER, CX-adjusted sentiment, emotions, aspects.

    ``lexicon_dir`` loads the ``*.yaml`` lexicon from another directory (tests
    and lexicon experiments); by default the packaged lexicon is used.
    ``customer_authors`` are the (case-insensitive) author names whose
    messages count as the customer's in :meth:`annotate_conversation`;
    every other author (agent, bot, system, ...) is ignored for the score.
    """

    def __init__(
        self,
        *,
        lexicon_dir: str | Path | None = None,
        customer_authors: Collection[str] = DEFAULT_CUSTOMER_AUTHORS,
        recency_half_life: float = 2.0,
        trend_threshold: float = 0.25,
        token_cache_size: int = 100_000,
    ) -> None:
        if recency_half_life <= 0:
            raise ValueError("recency_half_life must be positive")
        if not 0 <= trend_threshold <= 2:
            raise ValueError("trend_threshold must be in [0, 2]")
        self._lexicon = load_lexicon(lexicon_dir)
        self._vader = FastVader(token_cache_size)
        self._normalize = Normalizer(
            self._lexicon.replacements, self._vader.lexicon, segment_hashtag
        )
        self._tokens = _TokenTable(self._lexicon, self._vader, self._normalize, token_cache_size)
        self._customer_authors = frozenset(a.lower() for a in customer_authors)
        self._half_life = recency_half_life
        self._trend_threshold = trend_threshold
        self.model_version: Final[str] = f"rapport-cx/{VADER_VERSION}/{self._lexicon.digest[:12]}"
        """``rapport-cx/<vaderSentiment version>/<sha256 of the lexicon files, 12 hex>``."""

    @property
    def lexicon(self) -> Lexicon:
        """The parsed lexicon this annotator uses."""
        return self._lexicon

    # -------------------------------------------------------------- public API

    def token_keys(self, text: str) -> list[str]:
        """The keys of the tokens :meth:`annotate` reads in ``text`` (lower-cased, edge
        punctuation stripped): the features of the frustration component trained and evaluated
        in ``training/frustration`` (issue 15)."""
        return [info.key for info in self._read(text, text.split())[2]]

    def raw_vader(self, text: str) -> VaderScores:
        """vaderSentiment's ``polarity_scores`` of ``text`` itself, before normalisation.

        :meth:`annotate` scores the normalised text only (``vader``); this is
        for callers that also want VADER's reading of the raw text, which
        differs when normalisation changed something (``normalized_text !=
        text``).
        """
        return VaderScores.from_dict(self._vader.polarity_scores(text))

    def annotate(self, text: str, words: list[str] | None = None) -> TextAnnotation:
        """Annotate one text (pure: the same text always gives the same result).

        ``words``, if given, must be ``text.split()``: a caller that has split the text
        already (the language check) saves the second split and the hashing of its words.
        """
        return self._annotate(text, self._read(text, text.split() if words is None else words))

    def annotate_english(
        self, text: str, words: list[str], languages: LanguageDetector
    ) -> tuple[str, TextAnnotation | None]:
        """What the sentiment service does per text: its language (``languages``) and,
        for English text, :meth:`annotate`'s result (None for another language).

        ``words`` must be ``text.split()``. The annotator's token table knows which words
        are foreign function words (``language.is_foreign_word``) or have a letter of
        another script (``language.latin_script``), so text with none of them, which
        ``languages.language_of`` would call English without its detector, is recognised
        by the same look-up per word that reads it; only the other texts are handed to
        ``languages``. A text's letters are its words' (the two blanks ``latin_script``
        counts as letters of another script are checked in the text).
        """
        reading = self._read(text, words)
        if reading[5] or (not text.isascii() and ("\u1680" in text or "\u3000" in text)):
            language = languages.language_of(text, words)
            if language != ENGLISH:
                return language, None
        return ENGLISH, self._annotate(text, reading)

    def _annotate(self, text: str, reading: _Reading) -> TextAnnotation:  # noqa: PLR0915
        """:meth:`annotate` of a text read by :meth:`_read`."""
        normalized, tokens, infos, words, word_ends, _ = reading
        values, positions = self._vader.valences(cast("list[VaderToken]", infos))
        if word_ends is None:
            # The tokens are the text's words. Most texts have no "!" and no "?": a memchr
            # scan says so, cheaper than counting.
            ep = normalized.count("!") if "!" in normalized else 0
            qm = normalized.count("?") if "?" in normalized else 0
        else:
            # An emoji's description is part of the text VADER counts "!" and "?" in (two
            # descriptions have a "!"): the tokens' counts, not a join of them counted.
            ep = 0
            qm = 0
            for info in infos:
                ep += info.bangs
                qm += info.questions
        n = len(tokens)
        # The text's VADER scores; their result object is built with the others at the end,
        # unless it is a shared one.
        vader: VaderScores | None = None
        scores = (0.0, 1.0 if n else 0.0, 0.0, 0.0)
        if values:
            scores = score_range(values, 0, len(values), n, ep, qm)
        else:
            vader = _NEUTRAL if n else _EMPTY

        # Sentences are token ranges of the text (see SentenceAnnotation).
        sentences = self._sentences(normalized, tokens, infos, words, word_ends, ep, qm)

        matched = _match(infos, sentences) if sentences else _NO_SENTENCES
        # Allocated when a text needs them (most texts have no rule, emotion or aspect).
        adjustments = _NO_ADJUSTMENTS
        emotions: dict[str, float] | None = None
        aspects: dict[str, AspectSentiment] | None = None
        # Until a rule changes a valence, the adjusted sum is VADER's sum, and the
        # compound (the same formula on it) is VADER's compound.
        compound = scores[3]
        # Shared empty lists until needed (neither is changed while empty): two fewer
        # allocations for the many texts without names or rules.
        work = _NO_VALUES
        names = _NO_NAMES
        for info in infos:
            if info.title_lex:
                names = _proper_nouns(infos, sentences)
                break
        if names and not matched:
            work = [0.0] * n
            for value, position in zip(values, positions):  # noqa: B905 - equal by construction
                work[position] = value
        if matched:
            adjustments = []
            flags = 0
            for sentence in matched:
                flags |= _prepare(sentence, infos)
                if names:
                    _mute_names(sentence, names)
            # VADER's token valences; the CX rules adjust this copy in place.
            work = [0.0] * n
            for value, position in zip(values, positions):  # noqa: B905 - equal by construction
                work[position] = value
            # The first token whose key is "but", if the text spells it "but", "But" or
            # "BUT" somewhere (a token loop first: most texts have none, and keys are
            # interned, so a compare is mostly a pointer compare).
            but = None
            for k in range(n):
                if infos[k].key == "but":
                    if "but" in normalized or "But" in normalized or "BUT" in normalized:
                        but = k
                    break
            if flags & (_F_POLITENESS | _F_SARCASM | _F_REQUEST):
                complaint = _decide(sentences, matched, infos, values, positions, flags)
                for sentence in matched:
                    if (
                        sentence.spans
                        or sentence.sarcasm_fired
                        or sentence.damp is not None
                        or (sentence.buckets and sentence.buckets[1])
                    ):
                        _apply(work, sentence, infos, but, complaint, adjustments)
                        sentence.applied = True
                emotions = _emotions(matched, infos)
                if flags & _F_ASPECT:
                    aspects = _aspects(matched, infos, work)
            else:
                # No politeness, sarcasm or request: whether the text is a complaint
                # changes nothing, and each sentence's rules only touch its own tokens.
                emotions, aspects = _spans_emotions_aspects(matched, infos, work, but, adjustments)
        if names:
            if adjustments is _NO_ADJUSTMENTS:
                adjustments = []
            _neutralise_names(work, names, infos, sentences, adjustments)
        if emotions is None:
            emotions = {}
        if aspects is None:
            aspects = {}
        if adjustments:
            compound = _compound(_total(work, 0, n), punctuation_amplifier(ep, qm))

        label = vader_label(compound)
        if emotions or label == "negative":
            _resolve_frustration(emotions, label, infos)
        if label == "negative" and n > 1 and normalized.isupper():
            # A negative text in capitals is shouted: anger, whatever its words.
            emotions = _shouted(emotions)
        if vader is None:
            neg, neu, pos, vader_compound = scores
            vader = build_vader_scores(vader_compound, pos, neu, neg)
        sentence_results: tuple[SentenceAnnotation, ...] = ()
        if len(sentences) == 1:
            # One sentence (most texts): its scores are the text's.
            sentence_results = (
                build_sentence_annotation(sentences[0].text, vader, compound, label),
            )
        elif sentences:
            results = []
            n_values = len(values)
            last = 0
            for sentence in sentences:
                lo, hi = sentence.lo, sentence.hi
                # This sentence's VADER valences: values[first:last] (positions ascend).
                first = last
                s_scores: tuple[float, float, float, float] | None = None
                if first < n_values and positions[first] < hi:
                    last = bisect_left(positions, hi, first)
                    s_scores = score_range(values, first, last, hi - lo, sentence.ep, sentence.qm)
                    s_compound = s_scores[3]
                else:
                    s_compound = 0.0  # no sentiment word: VADER's neutral result, shared
                if sentence.applied:
                    s_sum = _total(work, lo, hi)
                    s_compound = _compound(s_sum, punctuation_amplifier(sentence.ep, sentence.qm))
                # Else no rule changed the sentence's valences: its compound is VADER's.
                if s_scores is None:
                    s_vader = _NEUTRAL
                else:
                    s_neg, s_neu, s_pos, s_vader_compound = s_scores
                    s_vader = build_vader_scores(s_vader_compound, s_pos, s_neu, s_neg)
                results.append(
                    build_sentence_annotation(
                        sentence.text, s_vader, s_compound, vader_label(s_compound)
                    )
                )
            sentence_results = tuple(results)

        return build_text_annotation(
            text,
            normalized,
            vader,
            sentence_results,
            compound,
            label,
            emotions,
            aspects,
            tuple(adjustments),
            self.model_version,
        )

    def _read(self, text: str, words: list[str]) -> _Reading:
        """``(normalized, tokens, infos, normalized_words, word_ends, needs_detector)`` of a text
        and its ``words`` (``text.split()``): the noise-normalised text, the tokens VADER
        scores (its words, emoji substituted), their facts, the normalised text's words,
        for each of them the index of the token after its last (None when there is no
        emoji and the tokens are the words), and whether one of ``words`` needs the
        language detector (for :meth:`annotate_english`).

        Exactly what ``Normalizer.normalize_split`` and ``FastVader.split`` give, from
        the facts memoised per word: a text costs one table look-up per word (a changed
        word's facts hold those of its outputs), and one more per bare punctuation left of
        a token, which joins the word before it. Only multi-line text and
        tokens whose output is neither single-spaced words nor bare punctuation take the
        normaliser's general path.
        """
        table = self._tokens
        known = table.infos
        infos: list[_TokenInfo] = []
        needs_detector = False
        # The first word that normalisation changes or that holds an emoji (n: none). Every
        # word is looked up once, here: the rest of the reading uses these facts.
        first_changed = n = len(words)
        for k in range(n):
            word = words[k]
            found = known.get(word)
            info = table.learn(word) if found is None else found
            if info.needs_detector:
                needs_detector = True
            if not info.plain and first_changed == n:
                first_changed = k
            infos.append(info)
        if first_changed == n:
            return text, words, infos, words, None, needs_detector
        outputs: list[str] = words[:first_changed]
        out_infos: list[_TokenInfo] = infos[:first_changed]
        changed = False
        one_line = "\n" not in text and "\r" not in text
        for t in range(first_changed, n):
            word = words[t]
            info = infos[t]
            rewritten = info.rewritten
            if len(rewritten) == 1 and rewritten[0] == word:
                outputs.append(word)
                out_infos.append(info)
            elif one_line and info.joinable:
                changed = True
                outputs.extend(rewritten)
                out_infos.extend(table.rewritten_infos(info))
            elif one_line and info.attaches:
                # Only punctuation is left of the token ("88231:" -> ":"): it joins the word
                # before it, as normalize_split's one-line rebuild does (one word: an
                # attaching output has no blank).
                changed = True
                if outputs:
                    attached = outputs[-1] + rewritten[0]
                    outputs[-1] = attached
                    out_infos[-1] = table[attached]
                else:
                    outputs.append(rewritten[0])
                    out_infos.append(table[rewritten[0]])
            else:
                # The normaliser's general path (line breaks, punctuation to attach).
                normalized, outputs = self._normalize.normalize_split(text, words)
                out_infos = [table[output] for output in outputs]
                return self._expand(normalized, outputs, out_infos, needs_detector)
        if changed:
            # What normalize_split's one-line path returns: the output words joined by spaces.
            return self._expand(" ".join(outputs), outputs, out_infos, needs_detector)
        return self._expand(text, outputs, out_infos, needs_detector)

    def _expand(
        self, normalized: str, words: list[str], infos: list[_TokenInfo], needs_detector: bool
    ) -> _Reading:
        """:meth:`_read`'s result for the normalised text's ``words`` and their facts:
        the words with each emoji replaced by the tokens of its description."""
        as_is = True
        for info in infos:
            if not info.scored_as_is:
                as_is = False
                break
        if as_is:
            return normalized, words, infos, words, None, needs_detector
        table = self._tokens
        tokens: list[str] = []
        token_infos: list[_TokenInfo] = []
        ends: list[int] = []
        for k in range(len(words)):
            info = infos[k]
            if info.scored_as_is:
                tokens.append(words[k])
                token_infos.append(info)
            else:
                tokens.extend(info.expansion)
                token_infos.extend(table.expansion_infos(info))
            ends.append(len(tokens))
        return normalized, tokens, token_infos, words, ends, needs_detector

    def _sentences(  # noqa: PLR0917 - private
        self,
        normalized: str,
        tokens: list[str],
        infos: list[_TokenInfo],
        words: list[str],
        word_ends: list[int] | None,
        ep: int,
        qm: int,
    ) -> list[_Sentence]:
        """The text's sentences as ranges of its VADER ``tokens``, split like
        FastVader's ``iter_sentences`` (line breaks, and blanks after . ! ?).

        ``infos`` are the tokens' facts, ``words`` are ``normalized.split()`` and
        ``word_ends`` where each word's tokens end (None: the tokens are the words, no
        emoji to expand).
        """
        n = len(tokens)
        # One line with single spaces: the words and one space between each two make up
        # the whole text (no other blank, no line break). Counted rather than scanned with
        # str.isprintable, which compiled code can only call as a method.
        n_words = len(words)
        length = n_words - 1
        for word in words:
            length += len(word)
        simple = n_words > 0 and len(normalized) == length and normalized.count(" ") == n_words - 1
        if simple:
            if word_ends is None:
                # The common case: one line with single spaces (a printable text's only
                # blank is U+0020) whose tokens are its words, so its sentence breaks
                # follow the tokens ending in . ! or ?.
                return _word_sentences(normalized, tokens, infos, ep, qm)
            # The same with emoji, whose descriptions VADER reads as words: the breaks
            # follow the words ending in . ! or ? (the pieces a split at ". ", "! " and
            # "? " gives), each word spanning its tokens.
            return _expanded_word_sentences(normalized, words, word_ends, infos, ep, qm)
        if _MAY_SPLIT.search(normalized) is None:
            # One sentence; only blanks differ from the text, so the "!"/"?" counts are its.
            piece = normalized.strip()
            return [_Sentence(0, piece, 0, n, ep, qm)] if piece else []
        pieces = [p for p in map(str.strip, _SENTENCE_BREAK.split(normalized)) if p]
        sentences = []
        split = self._vader.split
        lo = 0
        for index, piece in enumerate(pieces):
            # The sentence's VADER tokens (an emoji becomes its description); the "!"/"?"
            # counts that drive its punctuation emphasis are those of their text.
            if piece.isascii():
                sentence_text = piece
                hi = lo + len(piece.split())
            else:
                piece_tokens = split(piece)
                sentence_text = " ".join(piece_tokens)
                hi = lo + len(piece_tokens)
            sentences.append(
                _Sentence(index, piece, lo, hi, sentence_text.count("!"), sentence_text.count("?"))
            )
            lo = hi
        if lo != n:  # pragma: no cover - guarded by the tests
            raise AssertionError("sentence tokens do not add up to the text's tokens")
        return sentences

    def annotate_conversation(self, messages: Sequence[tuple[str, str]]) -> ConversationAnnotation:
        """Customer-side sentiment of ``(author, text)`` messages, oldest first.

        Only messages whose author is in ``customer_authors`` count. The k-th
        of n customer messages (k = 0 oldest) has weight
        ``0.5 ** ((n - 1 - k) / recency_half_life)``, normalised to sum to 1:
        with the default half-life of 2 messages the latest message weighs 1,
        the one before 0.71, then 0.5, 0.35, ... The trend is the last
        customer message's compound minus the first one's, labelled
        ``improved``/``worsened`` when it reaches ``±trend_threshold``.
        Emotions are merged by taking each label's maximum intensity; aspects
        by summing mentions and averaging sentiment weighted by recency
        weight x mentions.
        """
        annotated = [(author, self.annotate(text)) for author, text in messages]
        customer = [
            k for k, (author, _) in enumerate(annotated) if author.lower() in self._customer_authors
        ]
        n = len(customer)
        raw_weights = [0.5 ** ((n - 1 - rank) / self._half_life) for rank in range(n)]
        total = sum(raw_weights)
        weights = [0.0] * len(annotated)
        for rank, k in enumerate(customer):
            weights[k] = raw_weights[rank] / total
        customer_set = set(customer)
        results = tuple(
            MessageAnnotation(author, k in customer_set, round(weights[k], 4), annotation)
            for k, (author, annotation) in enumerate(annotated)
        )
        if not customer:
            return ConversationAnnotation(
                results, 0.0, "neutral", 0.0, 0.0, 0.0, "unchanged", {}, {}, 0, self.model_version
            )
        compound = round(sum(weights[k] * annotated[k][1].compound for k in customer), 4)
        start = annotated[customer[0]][1].compound
        end = annotated[customer[-1]][1].compound
        trend = round(end - start, 4)
        trend_label: TrendLabel = "unchanged"
        if n > 1 and trend >= self._trend_threshold:
            trend_label = "improved"
        elif n > 1 and trend <= -self._trend_threshold:
            trend_label = "worsened"
        emotions: dict[str, float] = {}
        aspect_sums: dict[str, list[float]] = {}
        for k in customer:
            annotation = annotated[k][1]
            for label, intensity in annotation.emotions.items():
                emotions[label] = max(emotions.get(label, 0.0), intensity)
            for aspect, value in annotation.aspects.items():
                acc = aspect_sums.setdefault(aspect, [0.0, 0.0, 0.0])
                w = weights[k] * value.mentions
                acc[0] += w * value.sentiment
                acc[1] += w
                acc[2] += value.mentions
        aspects = {}
        for aspect, (weighted, weight_sum, mentions) in aspect_sums.items():
            sentiment = round(weighted / weight_sum, 4)
            aspects[aspect] = AspectSentiment(sentiment, int(mentions), vader_label(sentiment))
        return ConversationAnnotation(
            messages=results,
            compound=compound,
            label=vader_label(compound),
            start_compound=start,
            end_compound=end,
            trend=trend,
            trend_label=trend_label,
            emotions=emotions,
            aspects=aspects,
            customer_messages=n,
            model_version=self.model_version,
        )

    # ---------------------------------------------------------------- matching
