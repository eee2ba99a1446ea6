"""Which language a customer text is in, so that only English is scored by the English lexicon.

The CX lexicon and VADER are English. Scored as English, a French complaint reads as neutral,
and neutral is evidence in the scores; so a text in another language is not annotated, it is
marked with its language (``AnnotatedEvent.language``, ``annotated=False``).

Two steps, because the statistical detector costs about 100 µs a text, more than the whole
annotation:

1. **A cheap gate.** Each word is looked up (memoised) in two hand-written lists of function
   words: English ones, and those of French, German, Spanish, Portuguese, Italian and Dutch that
   are not also English words. A text written in Latin script with no foreign function word is
   English: there is nothing to detect, and short texts ("ok", "5 stars", "meh") are where
   detectors guess wildly. Nearly all customer text takes this path.
2. **The detector**, only for texts with a foreign function word or letters outside the Latin
   script: `py3langid <https://pypi.org/project/py3langid/>`_ (BSD-3-Clause, a maintained fork
   of langid.py; its model, 97 languages, ships in the wheel). A text is taken as not English
   only if the detector says so *and* the foreign words outnumber the English ones (or the
   script is not Latin): "merci for nothing, @SkyAir" stays English.

Deterministic: both steps are pure functions of the text and the packaged model.
"""

from __future__ import annotations

import importlib
import re
import threading
from typing import Any, Final

__all__ = ["ENGLISH", "LanguageDetector", "is_foreign_word", "latin_script"]

ENGLISH: Final = "en"

_EDGE: Final = "\"'()[]{}<>,.;:!?*¿¡-…"
# Written as text, one line per group: a list literal would put each word on its own line.
_ENGLISH_WORDS: Final = frozenset(
    """
    the a an and or but if so to of in on at for from with by about as into than then
    i i'm i've i'd i'll me my mine you you're your yours we our us they their them he she his
    her it it's its this that these those there here
    is are was were be been being am do does did don't didn't doesn't have has had haven't
    hasn't can can't could couldn't will won't would wouldn't should shall may might must
    not no yes just still again only also very really too even ever never always already
    what why how when where which who whom whose
    get got getting please thanks thank thx hi hello hey dear regards ok okay
    order ordered delivery service customer account app refund help anyone any some all
    """.split()  # noqa: SIM905
)
# Function words of the other languages that are not also English words ("die", "pour",
# "no", "son", "also" and the like are left out).
_FOREIGN_WORDS: Final = frozenset(
    """
    le la les des du est et une je j'ai pas mon ma mes vous nous avec dans très c'est n'est
    merci bonjour toujours mais été sur qui que ne commande votre cette ça aucun depuis
    der das und ist nicht ich mit für ein eine mein meine sehr aber auch noch bei wurde wir
    sie zu auf bitte danke immer kein keine schon habe hat dem vom zum nach wie ihr ihre
    bestellung kundenservice leider seit
    el los las y es un una por para muy pero mis está lo del se su gracias hola pedido
    nada todavía hace dónde cuándo porque también
    o os um não é com muito mas meu minha foi obrigado obrigada olá ainda você em ao
    encomenda nao voce vc vcs pq tb tbm mto td pra isso esse essa esta ja aqui agora hoje
    ontem quando nunca sempre mais ele ela eles pelo pela estou tenho comprei chegou
    atendimento entrega dinheiro obg kkk kkkk
    il gli di che è non della nel mio mia molto sono ho grazie ciao ancora ordine
    het een niet ik mijn voor zeer maar ook nog bij wij zijn heb heeft geen al dank
    bedankt alstublieft graag te op dat
    """.split()  # noqa: SIM905
)
_CACHE_LIMIT: Final = 100_000
# Letters of scripts other than Latin (Greek, Cyrillic, Hebrew, Arabic, Indic, CJK, Hangul...);
# emoji and symbols lie outside these ranges.
_NON_LATIN_LETTER: Final = re.compile(
    "[\u0370-\u03ff\u0400-\u1cff\u1f00-\u1fff\u2e80-\u9fff\ua000-\ud7ff\uf900-\ufaff\uff66-\uffdc]"
)


def _key(word: str) -> str:
    return word.lower().strip(_EDGE).replace("\u2019", "'")


def is_foreign_word(word: str) -> bool:
    """Whether the whitespace token ``word`` is a foreign function word (the gate's test)."""
    key = _key(word)
    return key in _FOREIGN_WORDS and key not in _ENGLISH_WORDS


def latin_script(text: str) -> bool:
    """Whether the text has no letter of a script other than Latin (the gate's other test)."""
    return text.isascii() or _NON_LATIN_LETTER.search(text) is None


class LanguageDetector:
    """``language_of(text)``: an ISO 639-1 code, ``"en"`` unless the text is clearly not
    English (see the module docstring). Thread-safe; the detector's model loads on first use."""

    def __init__(self) -> None:
        # Raw whitespace tokens seen so far, and those of them that are foreign function
        # words: the common case is then two set operations in C, no Python loop per word.
        self._known: set[str] = set()
        self._foreign: set[str] = set()
        self._english: set[str] = set()
        # Known tokens that are not foreign function words: a text of those alone passes
        # the gate with one set operation.
        self._not_foreign: set[str] = set()
        self._identifier: Any = None
        self._lock = threading.Lock()

    def language_of(self, text: str, words: list[str] | None = None) -> str:
        """The text's language; ``words``, if given, must be ``text.split()`` (a caller
        that annotates the text next splits it once for both)."""
        if words is None:
            words = text.split()
        if self._not_foreign.issuperset(words):
            no_foreign_word = True
        else:
            if not self._known.issuperset(words):
                self._learn(words)
            no_foreign_word = self._foreign.isdisjoint(words)
        if no_foreign_word and latin_script(text):
            return ENGLISH
        return self._decide(text, words)

    def _learn(self, words: list[str]) -> None:
        if len(self._known) >= _CACHE_LIMIT:
            self._known.clear()
            self._foreign.clear()
            self._english.clear()
            self._not_foreign.clear()
        for word in words:
            if is_foreign_word(word):
                self._foreign.add(word)
            else:
                self._not_foreign.add(word)
                if _key(word) in _ENGLISH_WORDS:
                    self._english.add(word)
        self._known.update(words)

    def _decide(self, text: str, words: list[str]) -> str:
        english = sum(word in self._english for word in words)
        foreign = sum(word in self._foreign for word in words)
        if foreign <= english and _NON_LATIN_LETTER.search(text) is None:
            return ENGLISH
        with self._lock:
            if self._identifier is None:
                langid = importlib.import_module("py3langid.langid")
                self._identifier = langid.LanguageIdentifier.from_modelpath(
                    langid.MODEL_DIR / langid.MODEL_FILE, norm_probs=True
                )
            language, _ = self._identifier.classify(text)
        return str(language)
