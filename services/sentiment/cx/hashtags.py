"""Run-together hashtags split into known English words with a word-frequency model.

``#neveragain`` -> "never again", ``#notgoodenough`` -> "not good enough", while ``#chicago``,
``#winter`` and ``#firstclass``-like words that are words themselves stay whole. The model is
`wordsegment <https://pypi.org/project/wordsegment/>`_ (Apache-2.0, code and data): unigram
and bigram counts of the Google Web Trillion Word Corpus, and the Viterbi search for the most
probable split. Its tables load once per process, on the first hashtag that needs them (about
a second and ~95 MB), so an annotator that never meets a run-together hashtag never pays.

A split is accepted only if every piece is a common word (``MIN_COUNT`` occurrences in the
corpus, single letters only "a" and "i"): a brand or a name the model does not know is kept
whole rather than cut into fragments. The result is a pure function of the hashtag and the
packaged model, so annotations stay deterministic.

Not compiled with mypyc (``setup.py``): ``wordsegment`` has no type information and the
segmenter runs once per distinct hashtag (the normaliser memoises per token).
"""

from __future__ import annotations

import importlib
import threading
from functools import lru_cache
from typing import Any, Final

__all__ = ["MIN_COUNT", "segment_hashtag"]

MIN_COUNT: Final = 1_000_000
"""Corpus count a piece needs (the 26,287 most frequent words)."""
_SINGLE_LETTER_WORDS: Final = frozenset({"a", "i"})
_LOCK: Final = threading.Lock()
_model: Any = None


def _loaded() -> Any:
    global _model  # noqa: PLW0603 - one model per process, loaded on first use
    with _LOCK:
        if _model is None:
            module = importlib.import_module("wordsegment")
            module.load()
            _model = module
    return _model


@lru_cache(maxsize=8192)
def segment_hashtag(body: str) -> tuple[str, ...]:
    """The words of a lower-case, letters-only hashtag body, or ``(body,)`` if no split into
    common words is more probable than the body itself."""
    if not body.isalpha() or not body.isascii() or len(body) < 4:
        return (body,)
    model = _loaded()
    pieces = tuple(str(piece) for piece in model.segment(body))
    if len(pieces) < 2 or "".join(pieces) != body:
        return (body,)
    unigrams = model.UNIGRAMS
    for piece in pieces:
        if len(piece) == 1 and piece not in _SINGLE_LETTER_WORDS:
            return (body,)
        if unigrams.get(piece, 0.0) < MIN_COUNT:
            return (body,)
    return pieces
