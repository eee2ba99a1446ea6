"""Compile the lexicon's phrase patterns into regular expressions over token keys, and
into token steps, which find the same match token by token (:class:`TokenStep`; the
annotator runs only the steps, the regexes define them and tests compare the two).

Patterns are defined as regexes over a *key string*: the text's tokens, each
lower-cased and stripped of surrounding punctuation, joined by single spaces
within a sentence and by a line break between sentences; no element matches a blank,
so a match never crosses a sentence boundary. A pattern is a sequence of
space-separated elements:

``word``
    a literal token (an apostrophe inside it is optional: ``didn't`` also
    matches ``didnt``);
``stem*``
    any token starting with ``stem`` (``cancel*``: cancel, cancelled,
    cancelling, cancellation);
``(a|b c|d*)``
    one of the alternatives, each a sequence of literals, stems and
    placeholders;
``[x y]`` / ``[a|b]``
    an optional sequence / optional alternation (may nest);
``\\(``
    a backslash makes the next character literal, for emoticons: ``:\\)``;
``_``
    any one token (``[_]``: optionally one token);
``{name}``
    a placeholder from :data:`PLACEHOLDERS` (``{duration}``: "2 hours",
    "45 mins", "an hour and a half", "3hrs", ...).

The first element must be required and must not be ``_``: matching is
triggered by the first token (see :class:`Trigger`), which keeps matching
proportional to the number of tokens rather than the number of patterns.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from typing import Final

__all__ = [
    "PLACEHOLDERS",
    "PLACEHOLDER_SECOND",
    "STEP_ALT",
    "STEP_ANY",
    "STEP_ANY_RUN",
    "STEP_ONE",
    "CompiledPattern",
    "PatternError",
    "PatternPart",
    "TokenStep",
    "Trigger",
    "compile_pattern",
    "first_char_bit",
    "key_bit",
    "key_mask",
    "placeholder_single",
]


class PatternError(ValueError):
    """A lexicon pattern does not follow the grammar in this module's docstring."""


_NUM_WORDS: Final = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    "thirty|forty|forty-five|fifty|sixty|seventy|eighty|ninety|hundred|several|multiple"
)
_NUMBER: Final = rf"(?:\d+(?:[.,:]\d+)*\+?|{_NUM_WORDS})"
_QUANT: Final = rf"(?:a few|a couple of|couple of|a|an|half an?|{_NUMBER})"
_UNIT: Final = (
    r"(?:secs?|seconds?|mins?|minutes?|hrs?|hours?|days?|wks?|weeks?|mths?|months?|yrs?|years?)"
)
_LONG_UNIT: Final = r"(?:hrs?|hours?|days?|wks?|weeks?|mths?|months?|yrs?|years?)"
_COMPACT: Final = r"\d+(?:[.,]\d+)?(?:mins?|m|hrs?|h|d|days?|wks?)"
_BARE: Final = r"(?:hours|days|weeks|months|ages|forever)"
_MINUTE_COUNT: Final = r"(?:[2-9]\d|\d{3,}|twenty|thirty|forty|forty-five|fifty|sixty|ninety)"
_MINUTE_COMPACT: Final = r"(?:[2-9]\d|\d{3,})mins?"
_LONG_MINUTES: Final = "(?:" + _MINUTE_COUNT + " (?:mins?|minutes)|" + _MINUTE_COMPACT + ")"
_LONG_COMPACT: Final = r"\d+(?:[.,]\d+)?(?:hrs?|h|d|days?|wks?)"
_ORDINAL: Final = (
    r"(?:\d+(?:st|nd|rd|th)|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
    r"|umpteenth|nth)"
)
_SIGNED_AMOUNT: Final = r"[£€]\d[\d,]*(?:\.\d+)?"
_AMOUNT: Final = r"\d[\d,]*(?:\.\d+)?"
_CURRENCY: Final = r"(?:eur|euros?|gbp|usd|dollars?|pounds?|quid|bucks)"
_DETERMINERS: Final = (
    *("a", "an", "the", "my", "our", "your", "his", "her", "their", "this", "that", "these"),
    *("those", "some", "any", "its"),
)
_BE_WORDS: Final = (
    *("is", "are", "was", "were", "be", "been", "being", "got", "get", "gets", "getting"),
)
_BE_PHRASES: Final = (
    *("has been", "have been", "had been", "is still", "was still", "are still"),
    *("were still", "has still been", "have still been"),
)

_UNIT_WORDS: Final = frozenset(
    {
        *("sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes"),
        *("hr", "hrs", "hour", "hours", "day", "days", "wk", "wks", "week", "weeks"),
        *("mth", "mths", "month", "months", "yr", "yrs", "year", "years"),
    }
)
_QUANT_SECOND: Final = frozenset({"few", "couple", "an", "a", "and", "of"})
# name -> the tokens that can be the 2nd token *inside* a multi-token match of the
# placeholder, and whether it also has one-token forms (for the second-token filter).
PLACEHOLDER_SECOND: Final[dict[str, tuple[frozenset[str], bool]]] = {
    "number": (frozenset(), True),
    "duration": (_UNIT_WORDS | _QUANT_SECOND, True),
    "long_duration": (_UNIT_WORDS | _QUANT_SECOND, True),
    "ordinal": (frozenset(), True),
    "times": (frozenset({"times", "many", "few"}), True),
    "money": (
        frozenset(
            {"eur", "euro", "euros", "gbp", "usd", "dollar", "dollars", "pound", "pounds"}
            | {"quid", "bucks"}
        ),
        True,
    ),
    "det": (frozenset(), True),
    "be": (frozenset({"been", "still"}), True),
}

PLACEHOLDERS: Final[dict[str, tuple[str, str]]] = {
    # name: (regex over the key string, regex one first token must fullmatch)
    "number": (_NUMBER, _NUMBER),
    "duration": (
        rf"(?:{_QUANT}(?: and a half)? {_UNIT}(?: and a half)?|{_COMPACT}|{_BARE})",
        rf"(?:a|an|half|couple|{_NUMBER}|{_COMPACT}|{_BARE})",
    ),
    "long_duration": (
        rf"(?:{_LONG_MINUTES}|{_QUANT}(?: and a half)? {_LONG_UNIT}(?: and a half)?"
        rf"|{_LONG_COMPACT}|{_BARE})",
        rf"(?:[2-9]\d|\d{{3,}}|[2-9]\dmins?|\d{{3,}}mins?|twenty|thirty|forty|forty-five|fifty"
        rf"|sixty|ninety|a|an|half|couple|{_NUMBER}|{_LONG_COMPACT}|{_BARE})",
    ),
    "ordinal": (_ORDINAL, _ORDINAL),
    "times": (
        rf"(?:twice|(?:{_NUMBER}|a few|so many|countless|many) times)",
        rf"(?:twice|{_NUMBER}|a|so|countless|many)",
    ),
    "money": (
        f"(?:{_SIGNED_AMOUNT}|{_AMOUNT} ?{_CURRENCY})",
        f"(?:{_SIGNED_AMOUNT}|{_AMOUNT}{_CURRENCY}?)",
    ),
    "det": ("(?:" + "|".join(_DETERMINERS) + ")", "(?:" + "|".join(_DETERMINERS) + ")"),
    "be": (
        "(?:" + "|".join((*_BE_WORDS, *_BE_PHRASES)) + ")",
        r"(?:is|are|was|were|be|been|being|got|get|gets|getting|has|have|had)",
    ),
}


@dataclass(frozen=True, slots=True)
class Trigger:
    """Which first tokens can start a pattern: literal keys, key prefixes, or a regex."""

    words: frozenset[str]
    prefixes: frozenset[str]
    regex: str | None


# Each key has one bit of a small int (from its hash), a set of keys the OR of its keys'
# bits: when two such masks share no bit, the sets share no key, a test of one AND instead
# of a dict or set look-up (the annotator's matcher and TokenStep). Below 63 bits, so that
# compiled code keeps the masks as machine integers.
KEY_BITS: Final = 60


def key_bit(key: str) -> int:
    return 1 << (hash(key) % KEY_BITS)


def key_mask(keys: Collection[str]) -> int:
    mask = 0
    for key in keys:
        mask |= key_bit(key)
    return mask


def first_char_bit(key: str) -> int:
    """A bit for the key's first character (keys are never empty), as :func:`key_bit`."""
    return 1 << (ord(key[0]) % KEY_BITS)


# Distinct keys a TokenStep remembers its stems' verdict for; cleared when full.
_STEM_MEMO_LIMIT: Final = 20_000

# Kinds of TokenStep.
STEP_ONE: Final = 0
STEP_ANY: Final = 1
STEP_ANY_RUN: Final = 2
STEP_ALT: Final = 3


class TokenStep:
    """One step of a pattern part matched token by token, the regex's equivalent (the
    annotator's ``_token_match`` runs it; no key string needed).

    ``STEP_ONE``: one token whose key is one of ``keys``, starts with one of
    ``prefixes`` or fullmatches ``pattern`` (a literal, a stem, a placeholder's one-token
    form, or an alternation of them: each alternative is
    one token followed by the same steps, so which one matched changes nothing);
    ``STEP_ANY``: any one token (``_``); ``STEP_ANY_RUN``: up to ``run`` tokens, the most
    first (a run of ``[_]``, the regex's greedy ``(?: \\S++){0,run}``); ``STEP_ALT``:
    the first of ``alts`` (each a chain of steps ending in ``next``) that leads to a
    match, then, if ``optional``, ``next`` itself: the regex's order of trying
    alternatives, so the match found is the regex's.
    """

    def __init__(  # noqa: PLR0917 - private
        self,
        kind: int,
        keys: frozenset[str],
        prefixes: tuple[str, ...],
        run: int,
        alts: tuple[TokenStep, ...],
        optional: bool,
        following: TokenStep | None,
        pattern: re.Pattern[str] | None = None,
    ) -> None:
        self.kind = kind
        self.keys = keys
        self.key_mask = key_mask(keys)
        self.prefixes = prefixes
        self.pattern = pattern
        self.prefix_mask = 0
        for prefix in prefixes:
            self.prefix_mask |= first_char_bit(prefix)
        if pattern is not None:
            # A placeholder's one-token form ("\\d+", "£..."): any first character may
            # start one, so every key goes to has_prefix (which remembers the verdict).
            self.prefix_mask = -1
        # Whether a key starts with one of the prefixes, per key: a stem alternation can
        # have twenty stems, and the same keys come back.
        self.stem_memo: dict[str, bool] = {}
        self.run = run
        self.alts = alts
        self.optional = optional
        self.next = following
        # For STEP_ALT: the key and first-character bits of the one-token steps its
        # alternatives start with, and whether one starts otherwise (then -1, all bits):
        # a token with none of these bits starts no alternative.
        self.first_key_mask = 0
        self.first_prefix_mask = 0
        for alt in alts:
            if alt.kind == STEP_ONE:
                self.first_key_mask |= alt.key_mask
                self.first_prefix_mask |= alt.prefix_mask
            else:
                self.first_key_mask = -1
                self.first_prefix_mask = -1
                break

    def has_prefix(self, key: str) -> bool:
        """Whether ``key`` starts with one of :attr:`prefixes` or fullmatches :attr:`pattern`
        (memoised per key)."""
        found = self.stem_memo.get(key)
        if found is None:
            found = False
            for prefix in self.prefixes:
                if key.startswith(prefix):
                    found = True
                    break
            pattern = self.pattern
            if not found and pattern is not None:
                found = pattern.fullmatch(key) is not None
            memo = self.stem_memo
            if len(memo) >= _STEM_MEMO_LIMIT:
                memo.clear()
            memo[key] = found
        return found


@dataclass(frozen=True, slots=True)
class PatternPart:
    """One independently triggered part of a pattern (see :class:`CompiledPattern`).

    ``regex`` is None when the part is a single literal token (the trigger is
    the match). ``second`` is every key the token after the first can have in
    a match, or None when that is not a finite set of literals (or the match
    may be one token long); the matcher skips the regex when the next token is
    not in it.
    """

    regex: re.Pattern[str] | None
    trigger: Trigger
    second: frozenset[str] | None
    anchor: frozenset[str] | None = None
    """Literal keys one of which every match contains (beyond its first two
    tokens), or None; the matcher skips the regex for sentences without any."""
    exact_pair: bool = False
    """Every match is exactly two tokens, the first one of the trigger words and
    the second one of ``second`` (``no (reply|update)``, ``thumbs up``): the
    trigger and second-token filters decide the match, the regex is not needed."""
    placeholder: str | None = None
    """Name of the placeholder the part starts with, if any. A first token that
    is not a one-token form of it (``a`` for ``{duration}``) can only start a
    multi-token form, so the second token must be one of that form's
    (:data:`PLACEHOLDER_SECOND`), whatever ``second`` says."""
    steps: TokenStep | None = None
    """The regex as token steps (:class:`TokenStep`); placeholders as their token forms
    (:data:`_PLACEHOLDER_TOKENS`)."""


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    """A pattern compiled for matching.

    A pattern whose first element is an alternation is split into one part per
    first word (``(no one|nobody|stranded) x`` -> ``no one x``, ``nobody x``,
    ``stranded x``), so each part gets its own, tighter second-token filter.
    The parts together match exactly what the pattern matches.
    """

    source: str
    parts: tuple[PatternPart, ...]


# --------------------------------------------------------------------- parsing
# Parsed elements: ("lit", word) | ("stem", prefix) | ("ph", name) | ("any",)
#                  ("alt", [seq, ...], optional: bool) where seq is a list of elements
_Element = tuple[object, ...]
_TOKEN_RE: Final = re.compile(r"\s*(\(|\)|\[|\]|\||\{[a-z_]+\}|(?:\\.|[^\s()\[\]|{}\\])+)")
_UNESCAPE: Final = re.compile(r"\\(.)")


def _lex(pattern: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    stripped = pattern.rstrip()
    while pos < len(stripped):
        m = _TOKEN_RE.match(stripped, pos)
        if m is None:
            raise PatternError(f"cannot parse {pattern!r} at {pos}")
        tokens.append(m.group(1))
        pos = m.end()
    return tokens


def _parse_seq(tokens: list[str], i: int, closers: str) -> tuple[list[list[_Element]], int]:
    """Parse alternatives separated by ``|`` until a closer; returns (alternatives, index)."""
    alternatives: list[list[_Element]] = [[]]
    while i < len(tokens):
        tok = tokens[i]
        if tok in closers:
            return alternatives, i
        if tok == "|":
            alternatives.append([])
            i += 1
            continue
        if tok in ("(", "["):
            closer = ")" if tok == "(" else "]"
            inner, j = _parse_seq(tokens, i + 1, closer)
            if j >= len(tokens) or tokens[j] != closer:
                raise PatternError(f"unbalanced {tok!r}")
            if any(not alt for alt in inner):
                raise PatternError("empty alternative")
            alternatives[-1].append(("alt", inner, tok == "["))
            i = j + 1
            continue
        if tok in (")", "]"):
            raise PatternError(f"unexpected {tok!r}")
        if tok.startswith("{"):
            name = tok[1:-1]
            if name not in PLACEHOLDERS:
                raise PatternError(f"unknown placeholder {tok}")
            alternatives[-1].append(("ph", name))
        elif tok == "_":
            alternatives[-1].append(("any",))
        elif tok.endswith("*") and not tok.endswith("\\*"):
            alternatives[-1].append(("stem", _UNESCAPE.sub(r"\1", tok[:-1]).lower()))
        else:
            alternatives[-1].append(("lit", _UNESCAPE.sub(r"\1", tok).lower()))
        i += 1
    if closers:
        raise PatternError("missing closing bracket")
    return alternatives, i


# ------------------------------------------------------------------- compiling


def _literal_regex(word: str) -> str:
    return "'?".join(re.escape(part) for part in word.split("'"))


def _element_regex(element: _Element) -> str:
    kind = element[0]
    if kind == "lit":
        return _literal_regex(str(element[1]))
    if kind == "stem":
        return re.escape(str(element[1])) + r"\S*"
    if kind == "ph":
        return PLACEHOLDERS[str(element[1])][0]
    if kind == "any":
        return r"\S++"
    alternatives = element[1]
    assert isinstance(alternatives, list)
    return "(?:" + "|".join(_seq_regex(alt) for alt in alternatives) + ")"


def _is_optional(element: _Element) -> bool:
    return element[0] == "alt" and bool(element[2])


def _is_optional_any(element: _Element) -> bool:
    """``[_]``: optionally any one token."""
    if not _is_optional(element):
        return False
    alternatives = element[1]
    assert isinstance(alternatives, list)
    return alternatives == [[("any",)]]


def _seq_regex(seq: list[_Element]) -> str:
    if _is_optional(seq[0]):
        raise PatternError("a sequence must not start with an optional [...] group")
    parts = [_element_regex(seq[0])]
    k = 1
    while k < len(seq):
        element = seq[k]
        if _is_optional_any(element):
            # A run of [_] is "up to n tokens", one counted group: n separate optional
            # groups would let the engine try all 2**n ways of skipping the same tokens
            # (five of them once cost 13 us per attempt). Possessive: a token is
            # skipped whole or not at all.
            run = 1
            while k + run < len(seq) and _is_optional_any(seq[k + run]):
                run += 1
            parts.append(f"(?: \\S++){{0,{run}}}")
            k += run
            continue
        if _is_optional(element):
            parts.append(f"(?: {_element_regex(element)})?")
        else:
            parts.append(" " + _element_regex(element))
        k += 1
    return "".join(parts)


def _first_trigger(element: _Element) -> tuple[set[str], set[str], list[str]]:
    kind = element[0]
    if kind == "lit":
        word = str(element[1])
        return {word, word.replace("'", "")}, set(), []
    if kind == "stem":
        return set(), {str(element[1])}, []
    if kind == "ph":
        return set(), set(), [PLACEHOLDERS[str(element[1])][1]]
    if kind == "any":
        raise PatternError("a pattern must not start with _")
    words: set[str] = set()
    prefixes: set[str] = set()
    regexes: list[str] = []
    alternatives = element[1]
    assert isinstance(alternatives, list)
    for alt in alternatives:
        w, p, r = _first_trigger(alt[0])
        words |= w
        prefixes |= p
        regexes += r
    return words, prefixes, regexes


_END: Final = "\x00end"  # marker: the sequence may end here


def _literal_keys(word: str) -> set[str]:
    return {word, word.replace("'", "")}


def _starts(seq: list[_Element], idx: int) -> set[str] | None:
    """Keys the first token of ``seq[idx:]`` can have (``_END`` if it can be empty)."""
    if idx == len(seq):
        return {_END}
    element = seq[idx]
    kind = element[0]
    if kind == "lit":
        return _literal_keys(str(element[1]))
    if kind != "alt":
        return None
    alternatives = element[1]
    assert isinstance(alternatives, list)
    keys: set[str] = set()
    for alt in alternatives:
        found = _starts([*alt, *seq[idx + 1 :]], 0)
        if found is None:
            return None
        keys |= found
    if element[2]:
        rest = _starts(seq, idx + 1)
        if rest is None:
            return None
        keys |= rest
    return keys


def _second(seq: list[_Element]) -> set[str] | None:
    """Keys the second token of a match of ``seq`` can have, or None if unknown."""
    element = seq[0]
    kind = element[0]
    if kind in ("lit", "stem"):
        keys = _starts(seq, 1)
    elif kind == "ph":
        inner, single = PLACEHOLDER_SECOND[str(element[1])]
        keys = set(inner)
        if single:
            rest = _starts(seq, 1)
            if rest is None:
                return None
            keys |= rest
    elif kind == "alt":
        alternatives = element[1]
        assert isinstance(alternatives, list)
        keys = set()
        for alt in alternatives:
            found = _second([*alt, *seq[1:]])
            if found is None:
                return None
            keys |= found
    else:
        return None
    if keys is None or _END in keys:
        return None
    return keys


def _is_single_literal(element: _Element) -> bool:
    """True if the element always matches exactly one token given by literal words."""
    if element[0] == "lit":
        return True
    if element[0] == "alt" and not element[2]:
        alternatives = element[1]
        assert isinstance(alternatives, list)
        return all(len(alt) == 1 and alt[0][0] == "lit" for alt in alternatives)
    return False


@lru_cache(maxsize=8192)
def compile_pattern(pattern: str) -> CompiledPattern:
    """Compile ``pattern`` (grammar in the module docstring); raises :class:`PatternError`.

    Memoised: compiled patterns are immutable, and reloading a lexicon (tests,
    lexicon experiments) then only compiles the patterns that changed.
    """
    tokens = _lex(pattern)
    if not tokens:
        raise PatternError("empty pattern")
    alternatives, _ = _parse_seq(tokens, 0, "")
    if len(alternatives) != 1:
        raise PatternError("top-level | is not allowed; wrap alternatives in (...)")
    seq = alternatives[0]
    if not seq:
        raise PatternError("empty pattern")
    if seq[0][0] == "any":
        raise PatternError("a pattern must start with a word, stem, (...) group or placeholder")
    _seq_regex(seq)  # validates the whole pattern once
    first = seq[0]
    if first[0] != "alt" or first[2]:
        return CompiledPattern(pattern, (_compile_part(pattern, seq),))
    # Group the first element's alternatives by their first literal word.
    groups: dict[str, list[list[_Element]]] = {}
    alts = first[1]
    assert isinstance(alts, list)
    for alt in alts:
        head = alt[0]
        group = f"lit:{head[1]}" if head[0] == "lit" else "other"
        groups.setdefault(group, []).append(alt)
    parts = []
    for group_alts in groups.values():
        part_seq: list[_Element] = (
            [*group_alts[0], *seq[1:]]
            if len(group_alts) == 1
            else [("alt", group_alts, False), *seq[1:]]
        )
        parts.append(_compile_part(pattern, part_seq))
    return CompiledPattern(pattern, tuple(parts))


def _compile_part(pattern: str, seq: list[_Element]) -> PatternPart:
    regex_source = _seq_regex(seq)
    words, prefixes, regexes = _first_trigger(seq[0])
    trigger = Trigger(
        frozenset(words),
        frozenset(prefixes),
        "(?:" + "|".join(regexes) + ")" if regexes else None,
    )
    if len(seq) == 1 and _is_single_literal(seq[0]):
        # Triggered by the token itself, so no regex is needed; the trigger
        # words are exactly the words the pattern matches.
        return PatternPart(None, trigger, None)
    try:
        # A match must end at a token boundary: before a space, before the line
        # break the annotator puts between sentences, or at the end.
        compiled = re.compile(regex_source + r"(?![^ \n])")
    except re.error as exc:  # pragma: no cover - the grammar only builds valid regexes
        raise PatternError(f"invalid regex from {pattern!r}: {exc}") from exc
    second = _second(seq)
    return PatternPart(
        compiled,
        trigger,
        frozenset(second) if second is not None else None,
        _anchor(seq),
        exact_pair=len(seq) == 2 and _is_single_literal(seq[0]) and _is_single_literal(seq[1]),
        placeholder=str(seq[0][1]) if seq[0][0] == "ph" else None,
        steps=_token_chain(seq, None),
    )


# ------------------------------------------------------------- token steps
# The regex of a part as steps over tokens (see TokenStep). Each element of the regex
# matches whole tokens: a literal or stem is followed by " ", the line break between
# sentences or the end, and ``\\S++`` is one token; so trying the elements' alternatives in
# the regex's order, token by token, finds the regex's match. A placeholder is its regex
# cut at its spaces (_PLACEHOLDER_TOKENS): no piece matches a blank, so each piece is one
# whole token, and the alternatives and optional groups keep the regex's order.

# ("re", source): one token whose key fullmatches the regex source.


def _lits(*words: str) -> list[_Element]:
    return [("lit", word) for word in words]


def _alt(*alternatives: list[_Element], optional: bool = False) -> _Element:
    return ("alt", list(alternatives), optional)


_AND_A_HALF: Final = _alt(_lits("and", "a", "half"), optional=True)
_QUANT_TOKENS: Final = _alt(
    _lits("a", "few"),
    _lits("a", "couple", "of"),
    _lits("couple", "of"),
    _lits("a"),
    _lits("an"),
    [("lit", "half"), _alt(_lits("a"), _lits("an"))],
    [("re", _NUMBER)],
)
# Each placeholder's regex (PLACEHOLDERS[name][0]) as elements over tokens, alternative for
# alternative in the regex's order (tests/unit/sentiment/test_cx_token_steps.py checks
# them against the regexes).
_PLACEHOLDER_TOKENS: Final[dict[str, _Element]] = {
    "number": ("re", _NUMBER),
    "duration": _alt(
        [_QUANT_TOKENS, _AND_A_HALF, ("re", _UNIT), _AND_A_HALF],
        [("re", _COMPACT)],
        [("re", _BARE)],
    ),
    "long_duration": _alt(
        [("re", _MINUTE_COUNT), ("re", r"(?:mins?|minutes)")],
        [("re", _MINUTE_COMPACT)],
        [_QUANT_TOKENS, _AND_A_HALF, ("re", _LONG_UNIT), _AND_A_HALF],
        [("re", _LONG_COMPACT)],
        [("re", _BARE)],
    ),
    "ordinal": ("re", _ORDINAL),
    "times": _alt(
        _lits("twice"),
        [
            _alt(
                [("re", _NUMBER)],
                _lits("a", "few"),
                _lits("so", "many"),
                _lits("countless"),
                _lits("many"),
            ),
            ("lit", "times"),
        ],
    ),
    "money": _alt(
        [("re", _SIGNED_AMOUNT)],
        [("re", _AMOUNT), ("re", _CURRENCY)],
        [("re", _AMOUNT + _CURRENCY)],
    ),
    "det": _alt(*(_lits(word) for word in _DETERMINERS)),
    "be": _alt(
        *(_lits(word) for word in _BE_WORDS),
        *(_lits(*phrase.split()) for phrase in _BE_PHRASES),
    ),
}


def _literal_variants(word: str) -> frozenset[str]:
    """The keys :func:`_literal_regex` matches: the word with any of its apostrophes left out."""
    parts = word.split("'")
    variants = set()
    for kept in product(("'", ""), repeat=len(parts) - 1):
        joined = "".join(k + p for k, p in zip(kept, parts[1:], strict=True))
        variants.add(sys.intern(parts[0] + joined))
    return frozenset(variants)


def _one_token(element: _Element) -> tuple[set[str], list[str], list[str]] | None:
    """(keys, prefixes, regex sources) of an element that is exactly one literal, stem or
    one-token regex (or a required alternation of such, or a one-token placeholder), else
    None."""
    kind = element[0]
    if kind == "lit":
        return set(_literal_variants(str(element[1]))), [], []
    if kind == "stem":
        return set(), [str(element[1])], []
    if kind == "re":
        return set(), [], [str(element[1])]
    if kind == "ph":
        return _one_token(_PLACEHOLDER_TOKENS[str(element[1])])
    if kind == "alt" and not element[2]:
        alternatives = element[1]
        assert isinstance(alternatives, list)
        keys: set[str] = set()
        prefixes: list[str] = []
        regexes: list[str] = []
        for alt in alternatives:
            one = _one_token(alt[0]) if len(alt) == 1 else None
            if one is None:
                return None
            keys |= one[0]
            prefixes += [p for p in one[1] if p not in prefixes]
            regexes += [r for r in one[2] if r not in regexes]
        return keys, prefixes, regexes
    return None


def _one_step(one: tuple[set[str], list[str], list[str]], following: TokenStep | None) -> TokenStep:
    keys, prefixes, regexes = one
    pattern = re.compile("(?:" + "|".join(regexes) + ")") if regexes else None
    return TokenStep(STEP_ONE, frozenset(keys), tuple(prefixes), 0, (), False, following, pattern)


def _token_chain(seq: list[_Element], following: TokenStep | None) -> TokenStep:
    """The steps of ``seq`` followed by ``following`` (mirrors :func:`_seq_regex`)."""
    items: list[_Element | int] = []  # an element, or the length of a run of [_]
    k = 0
    while k < len(seq):
        if k and _is_optional_any(seq[k]):
            run = 1
            while k + run < len(seq) and _is_optional_any(seq[k + run]):
                run += 1
            items.append(run)
            k += run
            continue
        items.append(seq[k])
        k += 1
    step = following
    for item in reversed(items):
        step = _token_step(item, step)
    assert step is not None
    return step


def _token_step(item: _Element | int, following: TokenStep | None) -> TokenStep:
    if isinstance(item, int):
        return TokenStep(STEP_ANY_RUN, frozenset(), (), item, (), False, following)
    if item[0] == "any":
        return TokenStep(STEP_ANY, frozenset(), (), 0, (), False, following)
    one = _one_token(item)
    if one is not None:
        return _one_step(one, following)
    if item[0] == "ph":
        return _token_step(_PLACEHOLDER_TOKENS[str(item[1])], following)
    assert item[0] == "alt"
    alternatives = item[1]
    assert isinstance(alternatives, list)
    # Consecutive one-token alternatives become one step: each is one token followed by
    # the same steps, so the first of them that accepts the token leads to the same match
    # as any other would (``(arrive*|receiv*|came back|...)``: one test of the token).
    alts: list[TokenStep] = []
    run: list[list[_Element]] = []
    for alt in [*alternatives, None]:
        one = _one_token(alt[0]) if alt is not None and len(alt) == 1 else None
        if one is not None:
            assert alt is not None
            run.append(alt)
            continue
        if run:
            merged = _one_token(("alt", run, False))
            assert merged is not None
            alts.append(_one_step(merged, following))
            run = []
        if alt is not None:
            alts.append(_token_chain(alt, following))
    return TokenStep(STEP_ALT, frozenset(), (), 0, tuple(alts), bool(item[2]), following)


@lru_cache(maxsize=64)
def placeholder_single(name: str) -> re.Pattern[str]:
    """Regex that fullmatches the one-token forms of placeholder ``name``."""
    return re.compile(PLACEHOLDERS[name][0])


def _literal_set(element: _Element) -> set[str] | None:
    """The keys a required one-token element can have, if it is literal words only."""
    if element[0] == "lit":
        return _literal_keys(str(element[1]))
    if element[0] == "alt" and not element[2]:
        alternatives = element[1]
        assert isinstance(alternatives, list)
        if all(len(alt) == 1 and alt[0][0] == "lit" for alt in alternatives):
            keys: set[str] = set()
            for alt in alternatives:
                keys |= _literal_keys(str(alt[0][1]))
            return keys
    return None


def _anchor(seq: list[_Element]) -> frozenset[str] | None:
    """The last required literal element from the third on (the first two are filtered).

    After a placeholder, from the second on: the second-token filter of a part that starts
    with a placeholder checks the placeholder's own second token ("a *few* minutes"), not
    the element after it, so that element is worth checking too (``{long_duration} (ago|
    now|since)`` needs one of those words in the sentence; without the anchor its regex ran
    on every "a month" and "2 days").
    """
    first_unfiltered = 1 if seq[0][0] == "ph" else 2
    for element in reversed(seq[first_unfiltered:]):
        keys = _literal_set(element)
        if keys is not None:
            return frozenset(keys)
    # Else an alternation of phrases that each start with a literal ("(on hold|in the
    # queue)"): a match contains one of those first words.
    for element in reversed(seq[first_unfiltered:]):
        keys = _first_literals(element)
        if keys is not None:
            return frozenset(keys)
    if len(seq) == 1 and seq[0][0] == "alt" and not seq[0][2]:
        # One alternation of whole phrases ("(face with steam from nose|face with rolling
        # eyes)"): a match is one of them, so it contains one of their anchors.
        alternatives = seq[0][1]
        assert isinstance(alternatives, list)
        found: set[str] = set()
        for alt in alternatives:
            anchor = _anchor(alt)
            if anchor is None:
                return None
            found |= anchor
        return frozenset(found)
    return None


def _first_literals(element: _Element) -> set[str] | None:
    """The keys the first token of a required alternation can have, if every alternative
    starts with a required literal word."""
    if element[0] != "alt" or element[2]:
        return None
    alternatives = element[1]
    assert isinstance(alternatives, list)
    keys: set[str] = set()
    for alt in alternatives:
        if alt[0][0] != "lit":
            return None
        keys |= _literal_keys(str(alt[0][1]))
    return keys
