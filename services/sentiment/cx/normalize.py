"""Noise normalisation for customer text, applied before VADER and the CX rules.

Every rule works on one whitespace-separated token at a time (its leading and
trailing punctuation kept aside), and the outcome per distinct token is
memoised, so clean text costs one split and one dict look-up per token. Per
token, in this order:

1. typographic apostrophes/quotes (U+2018/9, U+201C/D) -> ASCII, so VADER's
   negation rule sees it);
2. URLs (``http(s)://...``, ``www....``) are removed;
3. @mentions are removed (``thanks a lot @SkyAir for ...`` -> ``thanks a lot for ...``,
   ``@NorthBank's`` too);
4. hashtags keep their words: ``#fail`` -> ``fail``, ``#NeverAgain`` -> ``never
   again`` (camel case), ``#notgoodenough`` -> ``not good enough`` (a run-together
   body that is not a VADER word is split into common words by the word-frequency
   model of ``hashtags.py``; ``#chicago`` and ``#winter`` stay whole); hashtags
   containing digits are references and are removed (``#A12345``, ``#AL118``);
5. reference codes are removed: tokens with 3+ digits that are all digits
   (4+), letter prefix + digits (``AL902``, ``A48213``) or hyphenated
   (``LIS-44817``, ``5520-KT``); never amounts (``£45``, ``41.60``), times
   (``20:41``), ordinals (``4th``) or short numbers (``2 hours``). The keyword
   before a reference stays: ``Order #A48213 arrived`` -> ``Order arrived``,
   ``ticket 88231`` -> ``ticket``;
6. text-speak and common misspellings are replaced from
   ``lexicon/normalization.yaml`` (``ur`` -> ``your``, ``gr8`` -> ``great``).

Punctuation left over from a removed token is attached to the previous token
(``Account 40033812: I`` -> ``Account: I``). Emoticons (``:(``, ``:-)``,
``<3``, ``D:``) and emoji are never touched: none of the rules matches them, and
VADER scores them itself. Line breaks are kept (they end sentences). Text that
no rule changes is returned as the very same string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Final

__all__ = ["Normalizer"]

_QUOTES: Final = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_EDGE: Final = "\"'()[]{}<>,.;:!?*"
_SPLIT: Final = re.compile(r"(\s+)")
_CODE: Final = re.compile(
    r"[A-Z0-9]+(?:-[A-Z0-9]+)+|[A-Z]{1,4}\d{3,}[A-Z0-9]*|\d{4,}[A-Z]*", re.ASCII
)
_CAMEL: Final = re.compile(r"(?<=[a-z])(?=[A-Z])")
_HASHTAG_BODY: Final = re.compile(r"#([A-Za-z0-9_-]+)")
_CACHE_LIMIT: Final = 50_000


class _Memo(dict[str, str]):
    """Raw token -> its output: the token itself if unchanged, "" if removed."""

    def __init__(self, normalizer: Normalizer) -> None:
        super().__init__()
        self._normalizer = normalizer

    def __missing__(self, token: str) -> str:
        return self._normalizer._learn(token)


class Normalizer:
    """Callable noise normaliser; built once per annotator (see module docstring)."""

    def __init__(
        self,
        replacements: Mapping[str, str],
        vader_lexicon: Mapping[str, float],
        segment: Callable[[str], Sequence[str]] | None = None,
    ):
        if any(not target.strip() for target in replacements.values()):
            # A blank replacement would be glued to the next word by the one-line
            # fast path but not by the general loop; the loader forbids it anyway.
            raise ValueError("replacements must not be blank")
        self._replacements = dict(replacements)
        self._vader_lexicon = vader_lexicon
        # Splits a run-together hashtag body into words; None keeps it whole.
        self._segment = segment
        self._memo = _Memo(self)
        # Tokens known to need no change: lets clean text pass with one C-level test.
        self._clean: set[str] = set()
        # Tokens whose replacement is only punctuation, to attach to the previous word.
        self._attach: set[str] = set()
        # Tokens whose replacement is not exactly one word ("#NeverAgain" -> "never again").
        self._several: set[str] = set()
        self._clears = 0

    def __call__(self, text: str) -> str:
        return self.normalize_split(text)[0]

    def keeps(self, token: str) -> bool:
        """Whether normalisation leaves the whitespace token ``token`` as it is."""
        return self._memo[token] == token

    def rewrite(self, token: str) -> tuple[str, bool]:
        """What normalisation makes of the whitespace token ``token``: its output (the
        token itself if kept, "" if removed) and whether that output is *joinable*: the
        token kept or removed, or its output words separated by single spaces and not
        only punctuation.

        A one-line text of joinable tokens normalises to its non-empty outputs joined by
        single spaces (the one-line path of :meth:`normalize_split`), which lets the
        annotator, which memoises this per token, normalise such a text in the same
        pass that looks its words up.
        """
        output = self._memo[token]
        if output == token or not output:
            return output, True
        return output, bool(output.strip(_EDGE)) and " ".join(output.split()) == output

    def normalize_split(self, text: str, words: list[str] | None = None) -> tuple[str, list[str]]:
        """The normalised text and its whitespace tokens (``normalized.split()``).

        For the annotator, which splits the normalised text next: clean text (the
        common case) is split only once. ``words``, if given, must be ``text.split()``.
        """
        tokens = text.split() if words is None else words
        if self._clean.issuperset(tokens):
            return text, tokens
        memo = self._memo
        clears = self._clears
        outputs = [memo[token] for token in tokens]
        if outputs == tokens:
            return text, tokens
        # The side sets describe every token of the text unless the memo was cleared
        # (it was full) while the outputs were looked up.
        if clears == self._clears and "\n" not in text and "\r" not in text:
            # One line: every blank run becomes one space, so the result is built from the
            # outputs just looked up (what the loop in _rejoin builds from the text's pieces,
            # without splitting the text again).
            if not self._attach.isdisjoint(tokens):
                normalized = _attached(tokens, outputs)
            else:
                # Nothing to attach: the kept outputs joined by spaces. When each is one
                # word they are also its tokens, with their hashes already computed.
                words = [output for output in outputs if output]
                if self._several.isdisjoint(tokens):
                    return " ".join(words), words
                normalized = " ".join(words).strip()
        else:
            normalized = self._rejoin(text)
        return normalized, normalized.split()

    def _rejoin(self, text: str) -> str:
        """The text rebuilt piece by piece, keeping line breaks and attaching punctuation."""
        memo = self._memo
        out: list[str] = []
        for piece in _SPLIT.split(text):
            if not piece:
                continue
            if piece.isspace():
                # Keep line breaks (sentence boundaries), collapse other blanks.
                if out and not out[-1].isspace():
                    out.append("\n" if "\n" in piece or "\r" in piece else " ")
                elif out and ("\n" in piece or "\r" in piece):
                    out[-1] = "\n"
                continue
            replacement = memo[piece]
            if replacement == piece:
                out.append(piece)
            elif replacement.strip(_EDGE):
                out.append(replacement)
            elif replacement:
                # Only punctuation is left: attach it to the previous word.
                if out and out[-1].isspace():
                    out.pop()
                if out:
                    out[-1] += replacement
                else:
                    out.append(replacement)
            elif out and out[-1] == " ":
                out.pop()
        return "".join(out).strip()

    def _learn(self, token: str) -> str:
        rewritten = self._rewrite(token)
        result = token if rewritten == token else rewritten
        if len(self._memo) >= _CACHE_LIMIT:
            self._memo.clear()
            self._clean.clear()
            self._attach.clear()
            self._several.clear()
            self._clears += 1
        self._memo[token] = result
        if result is token:
            self._clean.add(token)
        elif attaches(token, result):
            self._attach.add(token)
        if result and result.split() != [result]:
            self._several.add(token)
        return result

    def _rewrite(self, token: str) -> str:
        token = token.translate(_QUOTES)
        if token.lstrip("(\"'[<").lower().startswith(("http://", "https://", "www.")):
            # Keep sentence punctuation after a URL ("see https://x.co/a, then").
            return token[len(token.rstrip(",.;:!?")) :] if token[0] not in "([<" else ""
        if token.startswith("@") and len(token) > 1:
            return ""
        core = token.strip(_EDGE)
        if not core:
            return token
        start = token.index(core[0]) if not token.startswith("#") else 0
        head, tail = token[:start], token[start + len(core) :]
        if token.startswith("#") and len(token) > 1:
            body = _HASHTAG_BODY.match(token)
            if body is not None:
                words = self._hashtag(body.group(1))
                return words + token[body.end() :] if words else token[body.end() :]
        if sum(ch.isdigit() for ch in core) >= 3 and _CODE.fullmatch(core):
            return tail
        replacement = self._replacements.get(core.lower())
        if replacement is not None:
            return head + replacement + tail
        return token

    def _hashtag(self, body: str) -> str:
        if any(ch.isdigit() for ch in body):
            return ""  # "#A12345", "#AL118": a reference, not a word
        words = _CAMEL.sub(" ", body.replace("_", " ").replace("-", " ")).lower().split()
        if len(words) == 1 and words[0] not in self._vader_lexicon and self._segment is not None:
            return " ".join(self._segment(words[0]))
        return " ".join(words)


def attaches(token: str, output: str) -> bool:
    """Whether normalisation leaves only punctuation of ``token`` (its ``output``), which then
    attaches to the word before it ("Ticket 88231: late" -> "Ticket: late")."""
    return output != token and bool(output) and not output.strip(_EDGE)


def _attached(tokens: list[str], outputs: list[str]) -> str:
    """:meth:`Normalizer._rejoin`'s result for a one-line text from its ``tokens`` and their
    normalised ``outputs``: kept and rewritten outputs in order, an output that is only
    punctuation attached to the output before it, removed ones dropped, single spaces
    between (a blank run without a line break collapses to one space there too)."""
    out: list[str] = []
    for token, output in zip(tokens, outputs):  # noqa: B905 - equal by construction
        if output == token or output.strip(_EDGE):
            out.append(output)
        elif output:
            # Only punctuation is left: attach it to the previous word.
            if out:
                out[-1] += output
            else:
                out.append(output)
    return " ".join(out).strip()
