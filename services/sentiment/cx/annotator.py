"""Customer-experience (CX) annotation on top of exact VADER.

Pipeline for one text (``docs/sentiment.md`` has the long version):

1. **Normalise** noise (:mod:`~services.sentiment.cx.normalize`).
2. **VADER, exact**: :class:`~services.sentiment.fastvader.FastVader` scores the
   raw text (``vader``) and, in one pass, the normalised text
   (``vader_normalized``) with the per-token valences behind it. Sentences
   are slices of those tokens, scored with VADER's own formula.
3. **Match** the lexicon's phrase patterns per sentence. Matching is triggered
   by a pattern's first token and pre-filtered on the second, so its cost
   grows with the number of tokens, not with the size of the lexicon.
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
the mechanics. It is written for throughput (the service annotates every
event): per-token facts and candidate patterns are memoised, work that a text
does not need (emotions without emotion words, clause scores without aspect
words) is skipped, and the hot loops avoid per-call closures and allocations.
Instances are immutable after construction apart from bounded, deterministic
memo tables, and can be shared between threads.
"""

from __future__ import annotations

import math
import re
import string
from bisect import bisect_left
from collections.abc import Collection, Mapping, Sequence
from itertools import accumulate, count
from pathlib import Path
from typing import Final

from services.sentiment.cx.loader import (
    POSITIVE_EMOTIONS,
    SPAN_PRIORITY,
    Entry,
    Lexicon,
    load_lexicon,
)
from services.sentiment.cx.normalize import Normalizer
from services.sentiment.cx.patterns import PatternPart
from services.sentiment.cx.results import (
    Adjustment,
    AspectSentiment,
    ConversationAnnotation,
    MessageAnnotation,
    SentenceAnnotation,
    TextAnnotation,
    TrendLabel,
    VaderScores,
    _build,
    label_for,
)
from services.sentiment.fastvader import (
    BOOSTER_DICT,
    N_SCALAR,
    VADER_VERSION,
    FastVader,
    iter_sentences,
    score_valences,
)

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
_EXCLAMATION_STEP: Final = 0.15
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

_Hit = tuple[Entry, int, int]
_Candidate = tuple[Entry, "re.Pattern[str]", frozenset[str] | None]


def _punctuation_amplifier(ep_count: int, qm_count: int) -> float:
    """VADER's ``_punctuation_emphasis`` (same expressions, same order)."""
    ep_amplifier = min(ep_count, 4) * 0.292
    qm_amplifier: float = 0
    if qm_count > 1:
        qm_amplifier = qm_count * 0.18 if qm_count <= 3 else 0.96
    return ep_amplifier + qm_amplifier


def _compound(raw_sum: float, amplifier: float) -> float:
    """VADER's compound from a raw valence sum (``score_valence`` + ``normalize``)."""
    if raw_sum > 0:
        raw_sum += amplifier
    elif raw_sum < 0:
        raw_sum -= amplifier
    compound = raw_sum / math.sqrt((raw_sum * raw_sum) + 15)
    if compound < -1.0:
        compound = -1.0
    elif compound > 1.0:
        compound = 1.0
    return round(compound, 4)


# ---------------------------------------------------------------------- tokens


class _TokenInfo:
    """Facts about one raw VADER token and the patterns it can start.

    ``singles`` are one-token patterns this token matches outright;
    ``by_next`` maps a following token's key to the multi-token patterns that
    token can continue; ``any_next`` are multi-token patterns with no such
    filter. Memoised per distinct raw token string.
    """

    __slots__ = (
        "any_next",
        "booster",
        "by_next",
        "clause_end",
        "eager",
        "key",
        "matchable",
        "negator",
        "preamble",
        "quoted",
        "singles",
        "singles_checked",
        "stopper",
        "upper",
        "word",
    )

    def __init__(
        self, raw: str, key: str, lexicon: Lexicon, cands: Sequence[tuple[Entry, PatternPart]]
    ) -> None:
        self.key = key
        tail = raw.rstrip("'\")]")
        self.clause_end = (bool(tail) and tail[-1] in _CLAUSE_END_CHARS) or raw in _DASHES
        self.quoted = key.isalpha() and (raw[0] in _QUOTE_CHARS or raw[-1] in _QUOTE_CHARS)
        self.upper = len(key) > 1 and raw.isupper()
        self.negator = key in lexicon.negators or "n't" in key
        self.stopper = key in lexicon.negation_stoppers
        self.word = any(ch.isalnum() for ch in key)
        self.preamble = key in lexicon.preamble
        self.booster = BOOSTER_DICT.get(key, 0.0)
        singles: list[tuple[int, Entry]] = []
        singles_checked: list[Entry] = []
        by_next: dict[str, list[_Candidate]] = {}
        any_next: list[_Candidate] = []
        for entry, part in cands:
            if part.regex is None:
                if entry.constrained:
                    singles_checked.append(entry)
                else:
                    singles.append((_BUCKET[entry.family], entry))
            elif part.second is None:
                any_next.append((entry, part.regex, part.anchor))
            else:
                for following in part.second:
                    by_next.setdefault(following, []).append((entry, part.regex, part.anchor))
        self.singles = tuple(singles)
        self.singles_checked = tuple(singles_checked)
        self.by_next = {k: tuple(v) for k, v in by_next.items()}
        self.any_next = tuple(any_next)
        self.matchable = bool(singles or singles_checked or by_next or any_next)
        # Must be visited whatever the next token is (by_next needs a matching next key).
        self.eager = bool(singles or singles_checked or any_next)


class _TokenTable(dict[str, _TokenInfo]):
    """Raw token -> facts; cleared (not evicted) when full, since entries are pure."""

    def __init__(self, lexicon: Lexicon, vader_lexicon: Mapping[str, float], limit: int) -> None:
        super().__init__()
        self._lexicon = lexicon
        self._vader_lexicon = vader_lexicon
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

    def __missing__(self, raw: str) -> _TokenInfo:
        # Emoticons VADER knows (":D", "<3") stay whole; words lose edge punctuation.
        lower = raw.lower()
        key = lower if lower in self._vader_lexicon else (lower.strip(_STRIP) or lower)
        found: list[tuple[Entry, PatternPart]] = list(self._by_word.get(key, ()))
        for length in self._prefix_lengths:
            if length > len(key):
                break
            found += self._by_prefix.get(key[:length], ())
        for regex, entries in self._by_regex:
            if regex.fullmatch(key):
                found += entries
        info = _TokenInfo(raw, key, self._lexicon, tuple(dict.fromkeys(found)))
        if len(self) >= self._limit:
            self.clear()
        self[raw] = info
        return info


# ------------------------------------------------------------------- sentences


class _Span:
    """A span rule match after negation: its tokens' valence goes to ``target``."""

    __slots__ = ("end", "entry", "negated", "start", "target")

    def __init__(self, entry: Entry, start: int, end: int, target: float, negated: bool):
        self.entry = entry
        self.start = start
        self.end = end
        self.target = target
        self.negated = negated


class _Sentence:
    """Per-sentence working state (local token indices; ``offset`` maps to the text).

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
    suppressed: set[int] | None = None

    def __init__(  # noqa: PLR0917 - private, hot path
        self,
        index: int,
        text: str,
        vader_text: str,
        infos: list[_TokenInfo],
        valences: Sequence[float],
        offset: int,
    ) -> None:
        self.index = index
        self.text = text
        self.vader_text = vader_text
        self.infos = infos
        self.valences = valences
        self.offset = offset

    @property
    def ep(self) -> int:
        """ "!" as VADER counts them (on the emoji-substituted text)."""
        return self.vader_text.count("!")

    @property
    def qm(self) -> int:
        return self.vader_text.count("?")

    def bucket(self, index: int) -> list[_Hit]:
        buckets = self.buckets
        return buckets[index] if buckets is not None else []


def _negator_before(infos: list[_TokenInfo], i: int) -> int | None:
    """Index of a negator among the 4 tokens before ``i`` in the same clause, else None.

    The search stops at a clause end (, ; : . ! ?) and at a negation stopper
    ("not sure WHY my order was cancelled" does not negate "cancelled").
    """
    for k in range(i - 1, max(-1, i - 1 - _NEGATION_WINDOW), -1):
        info = infos[k]
        if info.clause_end:
            return None
        if info.negator:
            return k
        if info.stopper:
            return None
    return None


def _non_overlapping(hits: list[_Hit]) -> list[_Hit]:
    """Longest-first, then leftmost, non-overlapping subset of ``hits``, in text order."""
    if len(hits) < 2:
        return hits
    taken: set[int] = set()
    kept = []
    for hit in sorted(hits, key=lambda h: (h[1] - h[2], h[1])):
        span = range(hit[1], hit[2])
        if taken.isdisjoint(span):
            taken.update(span)
            kept.append(hit)
    kept.sort(key=lambda h: h[1])
    return kept


def _match(infos: list[_TokenInfo], has_question: bool) -> list[list[_Hit]] | None:
    """Every lexicon match in one sentence, by family bucket (None if there is none)."""
    keys = [info.key for info in infos]
    nexts = keys[1:]
    nexts.append("")
    # Positions where something can match: a one-token pattern, or a token whose
    # next token continues one of its patterns (most tokens are neither).
    positions = [
        i
        for i, info, following in zip(count(), infos, nexts)
        if info.eager or following in info.by_next
    ]
    if not positions:
        return None
    buckets: list[list[_Hit]] = [[], [], [], [], [], [], []]
    hit_any = False
    key_text = ""
    starts: list[int] = []
    keyset: set[str] | None = None
    for i in positions:
        info = infos[i]
        if info.singles:
            hit_any = True
            for bucket, entry in info.singles:
                buckets[bucket].append((entry, i, i + 1))
        multi = info.by_next.get(nexts[i], ())
        if info.any_next:
            multi = multi + info.any_next
        if not multi and not info.singles_checked:
            continue
        found: list[_Hit] = [(entry, i, i + 1) for entry in info.singles_checked]
        for entry, regex, anchor in multi:
            if anchor is not None:
                if keyset is None:
                    keyset = set(keys)
                if anchor.isdisjoint(keyset):
                    continue
            if not starts:
                key_text = " ".join(keys)
                starts = [0, *accumulate([len(key) + 1 for key in keys])]
            m = regex.match(key_text, starts[i])
            if m is None:
                continue
            # Matches end at a token boundary ("(?= |$)"), i.e. one before a start.
            end = bisect_left(starts, m.end() + 1)
            # Two parts of one pattern can match at the same token: keep the longer.
            for k, (other, _, other_end) in enumerate(found):
                if other is entry:
                    if end > other_end:
                        found[k] = (entry, i, end)
                    break
            else:
                found.append((entry, i, end))
        for hit in found:
            entry, _, end = hit
            if entry.constrained and not _position_ok(entry, infos, i, end, has_question):
                continue
            buckets[_BUCKET[entry.family]].append(hit)
            hit_any = True
    return buckets if hit_any else None


def _position_ok(
    entry: Entry, infos: list[_TokenInfo], start: int, end: int, has_question: bool
) -> bool:
    """Check an entry's at_start / at_end / whole_sentence / clause_break / question options."""
    if (entry.at_start or entry.whole_sentence) and not all(
        infos[k].preamble for k in range(start)
    ):
        return False
    if (entry.at_end or entry.whole_sentence) and any(
        infos[k].word for k in range(end, len(infos))
    ):
        return False
    if entry.clause_break and not infos[end - 1].clause_end:
        return False
    return not (entry.question and not has_question)


def _resolve_spans(hits: list[_Hit], infos: list[_TokenInfo]) -> list[_Span]:
    """Apply negation, then keep the longest (then highest-priority) non-overlapping spans."""
    # A negator that is part of another phrase ("still NO update on my missing
    # parcel", "NO signal") belongs to that phrase and negates nothing else.
    owned: set[int] = set()
    if len(hits) > 1:
        for _, i, j in hits:
            owned.update(range(i, j))
    candidates = []
    for entry, i, j in hits:
        start, target, negated = i, entry.valence, False
        if entry.negatable:
            k = _negator_before(infos, i)
            if k is not None and k not in owned:
                start, target, negated = k, entry.valence * N_SCALAR, True
        candidates.append(_Span(entry, start, j, target, negated))
    if len(candidates) == 1:
        return candidates
    candidates.sort(key=lambda s: (s.start - s.end, -SPAN_PRIORITY[s.entry.family], s.start))
    taken: set[int] = set()
    kept = []
    for span in candidates:
        tokens = range(span.start, span.end)
        if taken.isdisjoint(tokens):
            taken.update(tokens)
            kept.append(span)
    kept.sort(key=lambda s: s.start)
    return kept


# ------------------------------------------------------------------- annotator


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
        self._vader = FastVader()
        self._normalize = Normalizer(self._lexicon.replacements, self._vader.lexicon)
        self._tokens = _TokenTable(self._lexicon, self._vader.lexicon, token_cache_size)
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

    def annotate(self, text: str) -> TextAnnotation:  # noqa: PLR0915 - linear pipeline
        """Annotate one text (pure: the same text always gives the same result)."""
        vader = self._vader
        normalized = self._normalize(text)
        whole = vader.analyse(normalized)
        raw_scores = whole.scores if normalized is text else vader.polarity_scores(text)
        tokens = whole.tokens
        table = self._tokens
        all_infos = list(map(table.__getitem__, tokens))
        valences = whole.valences

        # Sentences are slices of the text's VADER tokens (see SentenceAnnotation).
        if _MAY_SPLIT.search(normalized) is None:
            stripped = normalized.strip()
            pieces = [stripped] if stripped else []
        else:
            pieces = list(iter_sentences(normalized))
        sentences: list[_Sentence] = []
        if len(pieces) == 1:
            vader_text = pieces[0] if pieces[0].isascii() else " ".join(tokens)
            sentences.append(_Sentence(0, pieces[0], vader_text, all_infos, valences, 0))
        else:
            offset = 0
            for index, piece in enumerate(pieces):
                vader_text = piece if piece.isascii() else vader.demojize(piece)
                end = offset + len(vader_text.split())
                sentences.append(
                    _Sentence(
                        index,
                        piece,
                        vader_text,
                        all_infos[offset:end],
                        valences[offset:end],
                        offset,
                    )
                )
                offset = end
            if offset != len(tokens):  # pragma: no cover - guarded by the tests
                raise AssertionError("sentence tokens do not add up to the text's tokens")
        for sentence in sentences:
            infos = sentence.infos
            buckets = _match(infos, sentence.qm > 0)
            if buckets is not None:
                sentence.buckets = buckets
                if buckets[0]:
                    sentence.spans = _resolve_spans(buckets[0], infos)
                for b in (1, 5, 6):
                    if len(buckets[b]) > 1:
                        buckets[b] = _non_overlapping(buckets[b])

        complaint = self._decide(sentences)

        # Adjust VADER's valences of the whole normalised text, sentence by sentence.
        work = list(valences)
        adjustments: list[Adjustment] = []
        but = None
        if "but" in normalized or "But" in normalized or "BUT" in normalized:
            for k, info in enumerate(all_infos):
                if info.key == "but":
                    but = k
                    break
        for sentence in sentences:
            if sentence.buckets is not None:
                self._apply(work, sentence, but, complaint, adjustments)
        counted = normalized if normalized.isascii() else " ".join(tokens)
        compound = _compound(
            sum(work), _punctuation_amplifier(counted.count("!"), counted.count("?"))
        )

        vader_normalized = VaderScores.from_dict(whole.scores)
        label = label_for(compound)
        if len(sentences) == 1:
            sentence_results: tuple[SentenceAnnotation, ...] = (
                _build(
                    SentenceAnnotation,
                    text=sentences[0].text,
                    vader=vader_normalized,
                    compound=compound,
                    label=label,
                ),
            )
        else:
            results = []
            for sentence in sentences:
                first = sentence.offset
                last = first + len(sentence.infos)
                s_compound = _compound(
                    sum(work[first:last]), _punctuation_amplifier(sentence.ep, sentence.qm)
                )
                results.append(
                    _build(
                        SentenceAnnotation,
                        text=sentence.text,
                        vader=VaderScores.from_dict(
                            score_valences(sentence.valences, sentence.vader_text)
                        ),
                        compound=s_compound,
                        label=label_for(s_compound),
                    )
                )
            sentence_results = tuple(results)

        return _build(
            TextAnnotation,
            text=text,
            normalized_text=normalized,
            vader=(
                vader_normalized
                if raw_scores is whole.scores
                else VaderScores.from_dict(raw_scores)
            ),
            vader_normalized=vader_normalized,
            sentences=sentence_results,
            compound=compound,
            label=label,
            emotions=self._emotions(sentences),
            aspects=self._aspects(sentences, work),
            adjustments=tuple(adjustments),
            model_version=self.model_version,
        )

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
            aspects[aspect] = AspectSentiment(sentiment, int(mentions), label_for(sentiment))
        return ConversationAnnotation(
            messages=results,
            compound=compound,
            label=label_for(compound),
            start_compound=start,
            end_compound=end,
            trend=trend,
            trend_label=trend_label,
            emotions=emotions,
            aspects=aspects,
            customer_messages=n,
            model_version=self.model_version,
        )

    # ---------------------------------------------------------------- deciding

    @staticmethod
    def _decide(sentences: list[_Sentence]) -> bool:  # noqa: PLR0915 - one pass per rule kind
        """Set each sentence's rule decisions; returns whether the text is a complaint."""
        if all(s.buckets is None for s in sentences):
            return False
        any_sarcasm = False
        covered: list[set[int]] = []
        for s in sentences:
            covered_positive: set[int] = set()
            covered.append(covered_positive)
            if s.buckets is None:
                continue
            for span in s.spans:
                if span.target < 0:
                    if span.entry.family in _COMPLAINT_FAMILIES:
                        s.complaint = True
                else:
                    covered_positive.update(range(span.start, span.end))
            for entry, i, _ in s.buckets[4]:
                if i in covered_positive or (
                    entry.negatable and _negator_before(s.infos, i) is not None
                ):
                    continue
                if entry.kind == "problem":
                    s.complaint = True
                else:
                    s.marker = True
            if s.buckets[2]:
                any_sarcasm = True
        complaint = any(s.complaint for s in sentences)
        if any_sarcasm:
            # Cues only sarcasm needs: scare quotes and negative VADER words.
            for s, covered_positive in zip(sentences, covered, strict=True):
                s.quoted = any(info.quoted for info in s.infos)
                valences = s.valences
                s.vader_negative = any(
                    valences[k] <= _SARCASM_VADER_CUE and k not in covered_positive
                    for k in range(len(valences))
                )
            text_cue = complaint or any(s.vader_negative or s.marker for s in sentences)
            last = len(sentences) - 1
            for n, s in enumerate(sentences):
                for hit in s.bucket(2):
                    cue = hit[0].cue
                    if cue == "none":
                        fired = True
                    elif cue == "text":
                        fired = text_cue
                    elif cue == "quoted":
                        fired = s.quoted
                    elif hit[0].at_start and any(
                        info.key in _CONTRAST for info in s.infos[hit[2] :]
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
                                    fired = fired or any(i.quoted for i in other.infos)
                    if fired:
                        s.sarcasm_fired = (*s.sarcasm_fired, hit)
            complaint = complaint or any(s.sarcasm_fired for s in sentences)
        for s in sentences:
            buckets = s.buckets
            if buckets is None:
                continue
            if complaint and buckets[1]:
                suppressed: set[int] = set()
                for entry, i, j in buckets[1]:
                    if entry.scope == "complaint":
                        suppressed.update(range(i, j))
                s.suppressed = suppressed
            if buckets[3] and not complaint:
                s.damp = min(entry.factor for entry, _, _ in buckets[3])
        return complaint

    # ---------------------------------------------------------------- applying

    @staticmethod
    def _apply(  # noqa: PLR0915 - one block per rule kind, in application order
        work: list[float],
        s: _Sentence,
        but: int | None,
        complaint: bool,
        record: list[Adjustment],
    ) -> None:
        """Apply the sentence's decisions to ``work`` (the text's valences) and record them.

        Contributions follow VADER's "but" rule like VADER's own valences: x0.5
        before the text's first "but", x1.5 after it.
        """
        assert s.buckets is not None
        offset = s.offset
        end_of_sentence = offset + len(s.infos)
        changes: list[tuple[Entry, str, int, int, float]] = []

        for entry, i, j in s.buckets[1]:
            if entry.scope == "always" or complaint:
                delta = 0.0
                for t in range(offset + i, offset + j):
                    v = work[t]
                    if v > 0:
                        nv = v * entry.factor
                        delta += nv - v
                        work[t] = nv
                changes.append((entry, "politeness", i, j, delta))

        for span in s.spans:
            first, last = offset + span.start, offset + span.end
            target = span.target
            if but is not None and first != but:
                target *= 0.5 if first < but else 1.5
            current = sum(work[first:last])
            if target == 0:
                delta = -current
                for t in range(first, last):
                    work[t] = 0.0
            else:
                delta = min(0.0, target - current) if target < 0 else max(0.0, target - current)
                work[first] += delta
            rule = span.entry.family
            if span.negated and rule != "evaluation" and target > 0:
                rule = "negated_problem"
            changes.append((span.entry, rule, span.start, span.end, delta))

        for n, (entry, i, j) in enumerate(s.sarcasm_fired):
            delta = 0.0
            if n == 0:
                for t in range(offset, end_of_sentence):
                    v = work[t]
                    if v > 0:
                        work[t] = -v
                        delta -= 2 * v
            first, last = offset + i, offset + j
            target = entry.valence
            if but is not None and first != but:
                target *= 0.5 if first < but else 1.5
            floor = min(0.0, target - sum(work[first:last]))
            work[first] += floor
            changes.append((entry, "sarcasm", i, j, delta + floor))

        damp = s.damp
        if damp is not None:
            delta = 0.0
            for t in range(offset, end_of_sentence):
                v = work[t]
                if v != 0:
                    nv = v * damp
                    delta += nv - v
                    work[t] = nv
            entry, i, j = s.buckets[3][0]
            changes.append((entry, "request", i, j, delta))

        if changes:
            infos = s.infos
            for entry, rule, i, j, delta in changes:
                matched = " ".join(info.key for info in infos[i:j])
                record.append(
                    _build(
                        Adjustment,
                        rule=rule,
                        pattern=entry.pattern,
                        source=entry.source,
                        matched=matched,
                        sentence=s.index,
                        contribution=round(delta, 4),
                    )
                )

    # --------------------------------------------------------- emotions, aspects

    @staticmethod
    def _emotions(sentences: list[_Sentence]) -> dict[str, float]:
        acc: dict[str, float] = {}
        if all(s.buckets is None for s in sentences):
            return acc
        for s in sentences:
            buckets = s.buckets
            if buckets is None:
                continue
            emotion_hits = buckets[5]
            if not (emotion_hits or (s.spans and s.damp is None) or s.sarcasm_fired):
                continue
            infos = s.infos
            emphasis = 1.0 + _EXCLAMATION_STEP * min(s.ep, 3)
            found: list[tuple[str, float]] = []
            if emotion_hits:
                suppressed = s.suppressed
                for entry, i, j in emotion_hits:
                    label = entry.label
                    if entry.negatable and _negator_before(infos, i) is not None:
                        if not entry.negated_as:
                            continue
                        label = entry.negated_as
                    if label in POSITIVE_EMOTIONS and (
                        s.sarcasm_fired
                        or (suppressed is not None and not suppressed.isdisjoint(range(i, j)))
                    ):
                        continue
                    intensity = entry.weight * emphasis
                    for k in (i - 1, i - 2):
                        if k < 0 or infos[k].clause_end:
                            break
                        booster = infos[k].booster
                        if booster > 0:
                            intensity *= _BOOST_UP
                        elif booster < 0:
                            intensity *= _BOOST_DOWN
                    if any(infos[k].upper for k in range(i, j)) and not all(
                        info.upper for info in infos
                    ):
                        intensity *= _CAPS_BOOST
                    found.append((label, intensity))
            if s.damp is None:
                for span in s.spans:
                    if span.negated:
                        pairs = (
                            _NEGATED_PROBLEM_EMOTION if span.target > 0 else _NEGATED_PRAISE_EMOTION
                        )
                    else:
                        pairs = span.entry.emotions
                    for label, weight in pairs:
                        if not (label in POSITIVE_EMOTIONS and s.sarcasm_fired):
                            found.append((label, weight * emphasis))
            for entry, _, _ in s.sarcasm_fired:
                for label, weight in entry.emotions:
                    found.append((label, weight * emphasis))
            for label, intensity in found:
                # Noisy-or: several hits of a label reinforce without exceeding 1.
                acc[label] = 1.0 - (1.0 - acc.get(label, 0.0)) * (1.0 - min(1.0, intensity))
        result = {}
        for label, value in acc.items():
            rounded = round(value, 3)
            if rounded > 0:
                result[label] = rounded
        return result

    @staticmethod
    def _aspects(sentences: list[_Sentence], work: list[float]) -> dict[str, AspectSentiment]:
        scores: dict[str, list[float]] = {}
        for s in sentences:
            if s.buckets is None or not s.buckets[6]:
                continue
            # The mention's clause ends after , ; : and before "but", "however", ...
            infos = s.infos
            n = len(infos)
            offset = s.offset
            sentence_sum: float | None = None
            for entry, i, _ in s.buckets[6]:
                first = i
                while first > 0 and not infos[first - 1].clause_end:
                    if infos[first].key in _CLAUSE_STARTERS:
                        break
                    first -= 1
                last = i
                while last < n - 1 and not infos[last].clause_end:
                    if infos[last + 1].key in _CLAUSE_STARTERS:
                        break
                    last += 1
                value = sum(work[offset + first : offset + last + 1])
                if value == 0:
                    if sentence_sum is None:
                        sentence_sum = sum(work[offset : offset + n])
                    value = sentence_sum
                scores.setdefault(entry.label, []).append(_compound(value, 0.0))
        result = {}
        for aspect, values in scores.items():
            sentiment = round(sum(values) / len(values), 4)
            result[aspect] = _build(
                AspectSentiment,
                sentiment=sentiment,
                mentions=len(values),
                label=label_for(sentiment),
            )
        return result
