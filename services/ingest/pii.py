"""PII redaction of customer free text, applied by ingest before the text leaves it.

Pure functions, no I/O. ``redact`` replaces personal data in a text with typed placeholders
(``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[IBAN]``, ``[IP]``, ``[ADDRESS]``); ``pseudonymize``
turns a customer id into a stable keyed pseudonym. ``docs/pii.md`` describes what is detected,
how well (with the commands that measure it) and what is not.

Design rules, each of which a test holds the module to:

* **Most specific first.** Detectors run in the order of ``_PIPELINE``: e-mail, IBAN, card, IP,
  phone, address. What a detector claims is masked before the next one runs, so a card number
  never turns into a phone number, nor an IBAN into a card, and nothing is redacted twice.
* **Validated where a check exists.** Cards pass Luhn, IBANs pass ISO 7064 mod 97 and have their
  country's length, IP addresses parse with :mod:`ipaddress`.
* **Linear time.** Every pattern is guarded by a look-behind so it is tried only where a token
  starts, every repetition is bounded, and the ambiguous parts are atomic or possessive; the cost
  per position is therefore bounded and a text is scanned in linear time (the tests feed 100,000
  characters of digits, spaces, ``@`` and the like). The other work per match (validation,
  context words) is bounded too.
* **Idempotent.** Placeholders contain no digits and no ``@``; a detector sees a masked region
  and a placeholder alike (one token that starts with ``[`` and ends with ``]``, which no pattern
  may touch); and the pipeline runs until it finds nothing new (see ``detect``). So redacting a
  redacted text changes nothing.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

__all__ = [
    "ALL",
    "PSEUDONYM_PREFIX",
    "PiiKind",
    "PiiSpan",
    "Redaction",
    "detect",
    "iban_is_valid",
    "luhn_is_valid",
    "pseudonymize",
    "redact",
]


class PiiKind(StrEnum):
    """A kind of personal data; its placeholder is its upper-case name in brackets."""

    EMAIL = "email"
    IBAN = "iban"
    CARD = "card"
    IP = "ip"
    PHONE = "phone"
    ADDRESS = "address"

    @property
    def placeholder(self) -> str:
        return f"[{self.name}]"


ALL: Final[frozenset[PiiKind]] = frozenset(PiiKind)


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """Where a redacted item was in the *input* text: ``text[start:end]``."""

    kind: PiiKind
    start: int
    end: int


@dataclass(frozen=True)
class Redaction:
    """The redacted text, how many items of each kind were replaced, and where they were.

    ``counts`` holds only the kinds that were found; ``spans`` are offsets in the input text, in
    text order.
    """

    text: str
    counts: Mapping[PiiKind, int] = field(hash=False)
    redacted: bool
    spans: tuple[PiiSpan, ...] = ()


_NO_COUNTS: Final[Mapping[PiiKind, int]] = MappingProxyType({})

# --------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------

# Spaces that may separate digit groups or words: space, tab, no-break and narrow no-break space.
_SP = r"[ \t\u00a0\u202f]"
_UP = "A-ZÀ-ÖØ-Þ"  # Latin-1 upper-case letters
_LO = "a-zß-öø-ÿ"  # Latin-1 lower-case letters
# A capitalised word ("Baker", "O'Connell", "Champs-Élysées"); not an all-caps acronym ("DHL").
_CAP = rf"[{_UP}][{_LO}'’][{_LO}{_UP}'’]{{0,30}}(?:-[{_UP}{_LO}][{_LO}{_UP}'’]{{0,30}}){{0,3}}"

# Anything that can possibly contain PII of some kind: the fast path skips texts without it.
_TRIGGER = re.compile(r"[0-9@]|(?i:dot)|[\[({<]\s?(?i:at)|:[0-9A-Fa-f]{0,4}:")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with each span replaced by ``[`` NULs ``]`` of the same length.

    Offsets stay valid, and to every pattern a masked region looks like a placeholder: one
    non-space token that starts with ``[`` and ends with ``]`` and has no digits, letters or ``@``.
    """
    parts: list[str] = []
    last = 0
    for start, end in spans:
        parts.append(text[last:start])
        width = end - start
        parts.append("[" + "\x00" * (width - 2) + "]" if width >= 2 else "\x00" * width)
        last = end
    parts.append(text[last:])
    return "".join(parts)


_TOKEN_STRIP = "\"'()<>*:;,!?“”‘’«»"


def _previous_words(text: str, pos: int, count: int) -> list[str]:
    """Up to ``count`` words before ``pos``, nearest first, lower case, without punctuation.

    A token that contains ``[`` or ``]`` (a placeholder or a masked region) or is longer than
    40 characters ends the list, so the answer is the same for a text and for its redaction.
    """
    words: list[str] = []
    for token in text[max(0, pos - 200) : pos].split()[: -count - 1 : -1]:
        if "[" in token or "]" in token or len(token) > 40:
            break
        words.append(token.lower().strip(_TOKEN_STRIP))
    return words


# --------------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.%+)\]-])"
    r"[\w.%+-]{1,64}(?:'[\w.%+-]{1,30})?"  # local part: sub-address (+tag), dots, o'reilly
    r"@"
    r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.){1,8}"  # sub-domains and domain
    r"[^\W\d_]{2,24}"  # top-level domain
    r"(?![\w-])"
)

# "john dot smith at example dot com", "john[at]example[dot]com", "john (at) example.com".
_BRACKETED = r"{SP}{{0,2}}[\[({{<]{SP}?(?i:{word}){SP}?[\])}}>]{SP}{{0,2}}"
_DOT_WORD = _BRACKETED.format(SP=_SP, word="dot") + rf"|{_SP}(?i:dot){_SP}"
_OBFUSCATED_EMAIL = re.compile(
    r"(?<![\w.%+)\]-])"
    rf"(?P<local>[\w%+-]{{1,64}}(?:(?:\.|{_DOT_WORD})[\w%+-]{{1,64}}){{0,3}})"
    rf"(?P<at>{_BRACKETED.format(SP=_SP, word='at')}|{_SP}(?:at|AT){_SP}|{_SP}@{_SP})"
    rf"(?P<domain>[^\W_][\w-]{{0,62}}(?:(?:\.|{_DOT_WORD})[^\W_][\w-]{{0,62}}){{1,5}})"
    r"(?![\w-])"
)
# Cheap tests that say whether the patterns can match at all. A pattern that starts with a
# look-behind is tried at every position; these start with a literal and are found by a scan.
_EMAIL_HINT = re.compile(r"@(?<=[\w.%+-]@)(?=[^\W_])")
_OBFUSCATION_HINT = re.compile(r"(?i:\bdot\b)|[\[({<]\s?(?i:at)\s?[\])}>]|\s@\s")
_OBFUSCATION_WORDS: Final = ("dot", "at)", "at]", "at}", "at>", " @ ")
# Top-level domains accepted after a spelled-out " at ": the form that is also plain English.
_COMMON_TLDS: Final = _words(
    "com net org info biz io co uk de fr es it nl be at ch eu us ca au ie pt pl se dk no fi "
    "cz gr lu edu gov mail email online me tv app dev"
)
# Words that often precede " at <something> dot com" without being the local part of an address.
_NOT_A_LOCAL_PART: Final = _words(
    "a an and are at be been bought buy buying but by check checked cheaper deal deals did "
    "directly do even find found for from go going got have here him her i in is it its just "
    "listed look looked looking me my not now on online only or order ordered out price "
    "prices purchase purchased sale see seen shop shopped site sold still that the them there "
    "they this to up us use used visit visited was we website were what you your"
)


def _find_emails(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    if "@" in text and _EMAIL_HINT.search(text):
        spans.extend(m.span() for m in _EMAIL.finditer(text))
    lowered = text.lower()
    if any(map(lowered.__contains__, _OBFUSCATION_WORDS)) and _OBFUSCATION_HINT.search(text):
        masked = _mask(text, spans) if spans else text
        # A rejected candidate may hide a real one that starts inside it ("order R-24 at
        # emma.oconnor [at] gmx [dot] de"), so the search resumes right after its start.
        pos = 0
        while (m := _OBFUSCATED_EMAIL.search(masked, pos)) is not None:
            if _is_obfuscated_email(m):
                spans.append(m.span())
                pos = m.end()
            else:
                pos = m.start() + 1
        spans.sort()
    return spans


def _is_obfuscated_email(m: re.Match[str]) -> bool:
    at = m["at"].strip()
    domain = m["domain"]
    labels = [label for label in re.split(r"[.\s\[\](){}<>]+", domain) if label]
    tld = labels[-1].lower() if labels else ""
    if at.lower() == "at":
        # Plain " at " is ordinary English ("bought it at example.com"): only the fully
        # spelled-out form with a known top-level domain counts, after a plausible local part.
        first_word = re.split(r"[.\s\[(]", m["local"], maxsplit=1)[0].lower()
        return (
            "." not in domain
            and tld in _COMMON_TLDS
            and first_word not in _NOT_A_LOCAL_PART
            and not tld.isdigit()
        )
    # "[at]" / "(at)" / " @ " are deliberate; any alphabetic top-level domain will do.
    return tld.isalpha() and 2 <= len(tld) <= 24


# --------------------------------------------------------------------------------------------
# IBAN
# --------------------------------------------------------------------------------------------

# Length of the IBAN of each country (SWIFT IBAN registry).
IBAN_LENGTHS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
        "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
        "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
        "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
        "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
        "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
        "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
        "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
        "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
        "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
        "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
    }
)  # fmt: skip

# The check digits after a country code at the start of a token, or after an upper-case
# country code and one space ("DE 89 3704 ..."); the match starts at the digits, which are
# rarer than letters, so the scan is fast. The rest is scanned by hand.
_IBAN_CHECK_DIGITS = re.compile(
    # First one cheap look behind (a letter or a space before the digit), which fails at once
    # inside digit runs, the common case; then the two forms.
    r"[0-9](?<=[A-Za-z ][0-9])(?:(?<=[A-Za-z]{2}[0-9])(?<![\w.)\]][A-Za-z]{2}[0-9])"
    r"|(?<=[A-Z]{2} [0-9])(?<![\w.)\]][A-Z]{2} [0-9]))[0-9](?=[ -]?[0-9A-Za-z])"
)


def iban_is_valid(iban: str) -> bool:
    """Whether ``iban`` (spaces allowed, any case) has its country's length and passes mod 97."""
    compact = "".join(iban.split()).upper()
    length = IBAN_LENGTHS.get(compact[:2])
    if length is None or len(compact) != length or not compact.isascii():
        return False
    if not (compact[2:4].isdigit() and compact[4:].isalnum()):
        return False
    if not 2 <= int(compact[2:4]) <= 98:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _find_ibans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    n = len(text)
    for m in _IBAN_CHECK_DIGITS.finditer(text):
        start = m.start() - (3 if text[m.start() - 1] == " " else 2)
        if spans and start < spans[-1][1]:
            continue
        length = IBAN_LENGTHS.get(text[start : start + 2].upper())
        if length is None:
            continue
        # Collect exactly `length` characters; a space or dash is allowed only between groups
        # of four, as IBANs are printed ("DE89 3704 0044 0532 0130 00").
        count, i = 4, m.end()
        while i < n and count < length:
            c = text[i]
            if c.isascii() and c.isalnum():
                count += 1
                i += 1
            elif c in " -" and count % 4 == 0 and i + 1 < n and text[i + 1].isalnum():
                i += 1
            else:
                break
        if count != length or (i < n and text[i].isalnum()):
            continue
        # (The country code keeps its space, if any: iban_is_valid drops whitespace.)
        if iban_is_valid(text[start:i].replace("-", "")):
            spans.append((start, i))
    return spans


# --------------------------------------------------------------------------------------------
# Digit runs: cards and phone numbers
# --------------------------------------------------------------------------------------------

# A run of digit groups: "+44 20 7946 0958", "(555) 123-4567", "4111 1111 1111 1111",
# "030/1234567", "+49 (0)176 1234567". It never starts inside a word, an amount ("1,299"), a
# decimal, an identifier ("TW-2209"), a path or after "#" ("#48213"). Each unit is atomic and
# the repetition possessive: a run is found in one pass, without backtracking.
_GROUP_SEP = rf"(?:{_SP}?[-–/]{_SP}?|\.|{_SP})"
_DIGIT_TOKEN = r"(?:\([0-9]{1,5}\)|[0-9]{1,20})"
_DIGIT_RUN = re.compile(
    rf"(?<![\w+#№.,/)\]-])(?:\+{_SP}?|\(\+[0-9]{{1,4}}\){_SP}?)?{_DIGIT_TOKEN}"
    rf"(?>{_GROUP_SEP}{_DIGIT_TOKEN}|(?<=\)){_DIGIT_TOKEN}|\([0-9]{{1,5}}\)){{0,11}}+"
)
_DIGIT_GROUP = re.compile(r"\(([0-9]+)\)|([0-9]+)")


@dataclass(frozen=True, slots=True)
class _Run:
    """A digit run split into groups: absolute offsets, digits, and the separators between."""

    plus: bool
    start: int
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    digits: tuple[str, ...]
    sizes: tuple[int, ...]
    parens: tuple[bool, ...]
    seps: tuple[str, ...]  # seps[k] is between group k and group k + 1
    cumulative: tuple[int, ...]  # cumulative[k] = digits in groups [0, k)


@functools.lru_cache(maxsize=16)
def _digit_runs(text: str) -> tuple[_Run, ...]:
    """The digit runs of ``text`` with at least 7 digits (the shortest phone number).

    Cached: the card and phone detectors scan the same text unless a card was found between.
    """
    min_digits = 7
    runs: list[_Run] = []
    for m in _DIGIT_RUN.finditer(text):
        if m.end() - m.start() < min_digits:
            continue
        starts: list[int] = []
        ends: list[int] = []
        digits: list[str] = []
        parens: list[bool] = []
        for g in _DIGIT_GROUP.finditer(text, m.start(), m.end()):
            starts.append(g.start())
            ends.append(g.end())
            digits.append(g[1] or g[2])
            parens.append(g[1] is not None)
        seps = tuple(text[ends[k] : starts[k + 1]] for k in range(len(starts) - 1))
        sizes = tuple(len(d) for d in digits)
        cumulative = [0]
        for size in sizes:
            cumulative.append(cumulative[-1] + size)
        if cumulative[-1] < min_digits:
            continue
        runs.append(
            _Run(
                plus=text[m.start()] == "+" or text.startswith("(+", m.start()),
                start=m.start(),
                starts=tuple(starts),
                ends=tuple(ends),
                digits=tuple(digits),
                sizes=sizes,
                parens=tuple(parens),
                seps=seps,
                cumulative=tuple(cumulative),
            )
        )
    return tuple(runs)


def _windows(
    run: _Run,
    accept: Callable[[_Run, int, int], bool],
    max_groups: int,
    digits: tuple[int, int],
) -> list[tuple[int, int]]:
    """Group windows ``[i, j)`` of ``run`` that ``accept`` takes, earliest and longest first.

    Only windows of at most ``max_groups`` groups with ``digits[0]`` to ``digits[1]`` digits are
    offered to ``accept``.

    A window starts at the run's start or right after an accepted window, never inside: in
    "6000 0658 7763 0896" (a voucher code) "0658 7763 0896" is not a phone number.
    """
    found: list[tuple[int, int]] = []
    n = len(run.digits)
    low, high = digits
    cumulative = run.cumulative
    i = 0
    while i < n and (i == 0 or run.seps[i - 1].isspace()):
        end = 0
        for j in range(min(n, i + max_groups), i, -1):
            count = cumulative[j] - cumulative[i]
            if count > high:
                continue
            if count < low:
                break
            if accept(run, i, j):
                end = j
                break
        if not end:
            break
        found.append((i, end))
        i = end
    return found


def luhn_is_valid(number: str) -> bool:
    """Whether the digits of ``number`` pass the Luhn check (ISO/IEC 7812)."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _is_card(run: _Run, i: int, j: int) -> bool:
    if (i == 0 and run.plus) or any(run.parens[i:j]):
        return False
    sizes = run.sizes[i:j]
    if len(sizes) > 1:
        # Printed as cards are: 4-4-4-4(-3), 4-6-5 (Amex) or 4-6-4 (Diners), one separator kind
        # (a space, a dash or a dot).
        separators = {s.strip(" \t\u00a0\u202f") or " " for s in run.seps[i : j - 1]}
        if len(separators) != 1 or separators.pop() not in {" ", "-", "."}:
            return False
        if sizes[0] != 4 or any(s not in (4, 6) for s in sizes[1:-1]) or sizes[-1] > 6:
            return False
    digits = "".join(run.digits[i:j])
    # Issuer ranges of payment cards start with 2 to 6 (Mastercard 2/5, Amex and Diners 3,
    # Visa 4, Discover and UnionPay 6); 0, 1, 7, 8 and 9 are not payment cards.
    return digits[0] in "23456" and luhn_is_valid(digits)


# Luhn-checked numbers that are not payment cards: device and product numbers.
_NOT_A_CARD: Final = _words("imei imsi ean isbn gtin upc serial sn s/n sscc tracking")
_IBAN_HEAD = re.compile(r"[a-z]{2}[0-9]{2}")


def _find_cards(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for run in _digit_runs(text):
        if run.cumulative[-1] < 13:
            continue
        before = [word.rstrip(".") for word in _previous_words(text, run.start, 2)]
        if not _NOT_A_CARD.isdisjoint(before) or (before and _IBAN_HEAD.fullmatch(before[0])):
            continue  # "IMEI 3569...", or the rest of an IBAN that failed its check
        for i, j in _windows(run, _is_card, max_groups=5, digits=(13, 19)):
            spans.append((run.starts[i], run.ends[j - 1]))
    return spans


# --- phone numbers ----------------------------------------------------------------------------

_POSITIVE: Final = _words(
    "phone phones telephone tel tél tele telefon telefono teléfono telefoon téléphone "
    "mobile mobil móvil movil mobiel mob cell cellphone celular cellulare cellular portable "
    "handy call calling ring text sms whatsapp fax landline festnetz contact reach hotline "
    "anrufen appelez appeler llamar llámame bellen bel chiamare chiamami rufnummer tlf tfno"
)
# "number" says phone only when nothing before it says otherwise ("order number").
_SOFT_POSITIVE: Final = _words("number numero número nummer numéro")
_NEGATIVE: Final = _words(
    "order orders ord ref ref. reference ticket case account acct acc invoice inv booking "
    "tracking track id po claim receipt transaction txn policy member membership customer "
    "client serial sku item article product model part parcel shipment consignment voucher "
    "code pin iban bic swift sort routing vat tax bestellung bestellnummer kundennummer "
    "rechnung rechnungsnummer auftrag commande facture référence pedido factura "
    "referencia bestelling factuur ordine fattura riferimento # no. nr nr. n° nº num. "
    "flight room seat gate platform version isbn ean imei postcode zip batch lot"
)
_CURRENCY_BEFORE = re.compile(rf"(?:[$€£¥₹]|(?i:eur|usd|gbp|chf|rs))\.?{_SP}?$")
_UNIT_AFTER = re.compile(
    rf"{_SP}?(?:[$€£¥₹%]|(?i:eur|euros?|usd|gbp|chf|dollars?|pounds?|kg|km|mb|gb|mbps|"
    r"min|mins|minutes|h|hrs|hours|days|weeks|months|years|times|points|miles|stars|"
    r"items|pcs|x)\b)"
)
_IDENTIFIER_CONTEXT, _NEGATIVE_CONTEXT, _NEUTRAL_CONTEXT, _POSITIVE_CONTEXT = -2, -1, 0, 1


def _is_negative(word: str) -> bool:
    return word in _NEGATIVE or word.rstrip(".") in _NEGATIVE


def _context(text: str, pos: int) -> int:
    """What the words just before ``pos`` say about a number there: phone, identifier, nothing.

    The nearest decisive word of the four before wins; an identifier word among the two nearest
    ("Ref: 0012 3456 7890") is ``_IDENTIFIER_CONTEXT``, which overrules even a phone-like shape.
    "number" says phone when it is one of the two nearest words and not itself qualified ("my
    number is", but not "account number is").
    """
    words = _previous_words(text, pos, 4)
    for index, word in enumerate(words):
        if _is_negative(word):
            return _IDENTIFIER_CONTEXT if index < 2 else _NEGATIVE_CONTEXT
        bare = word.rstrip(".")
        if bare in _SOFT_POSITIVE:
            if index < 2 and (index + 1 == len(words) or not _is_negative(words[index + 1])):
                return _POSITIVE_CONTEXT
        elif bare in _POSITIVE or ("/" in bare and not _POSITIVE.isdisjoint(bare.split("/"))):
            return _POSITIVE_CONTEXT
    return _NEUTRAL_CONTEXT


def _is_date(sizes: tuple[int, ...], groups: tuple[str, ...], seps: tuple[str, ...]) -> bool:
    """Whether the first three groups read as a date (12.03.2024, 2024-06-11, 11/6/24)."""
    if len(sizes) < 3 or seps[0] != seps[1] or seps[0].strip() not in {".", "/", "-", ""}:
        return False
    if len(sizes) > 3 and seps[2] == seps[0]:
        return False  # "01.23.45.67.89" is a phone number written with dots
    a, b, c = (int(g) for g in groups[:3])
    if sizes[0] == 4:
        return sizes[1] <= 2 and sizes[2] <= 2 and 1 <= b <= 12 and 1 <= c <= 31
    day_month = (1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31)
    return sizes[0] <= 2 and sizes[1] <= 2 and sizes[2] in (2, 4) and day_month


# Between a number and a phone word after it ("912 345 678 is my mobile", "... (mobile)").
_LINKING_WORDS: Final = _words("is my our the a his her their its es mi ist meine mein est mon ma")


def _said_after(text: str, end: int) -> bool:
    """Whether the words right after a number say it is a phone number: a phone word among the
    three next, with only linking words before it ("is my mobile"), that ends its phrase (the
    text's end or punctuation follows). "mobile plan", "text message", "call ticket" or "phone
    number" name something else the number identifies; "number" alone says nothing."""
    tokens = text[end : end + 200].split()[:4]
    for index, token in enumerate(tokens[:3]):
        word = token.lower().strip(_TOKEN_STRIP).rstrip(".")
        if "[" in token or "]" in token:
            return False
        if word in _POSITIVE:
            last = index + 1 == len(tokens)
            return last or token[-1] in ".,;:!?)" or tokens[index + 1][:1] in "-–(—"
        if word not in _LINKING_WORDS:
            return False
    return False


def _is_phone(run: _Run, i: int, j: int, text: str, context: Callable[[int], int]) -> bool:
    sizes = run.sizes[i:j]
    # Single digits only for a country or trunk code ("+33 1 23 45 67 89", "1 800 555 0199",
    # "+33 (0)1 23 45 67 89").
    if 1 in sizes[2 + any(run.parens[i : i + 2]) :]:
        return False
    count = run.cumulative[j] - run.cumulative[i]
    digits = run.digits[i:j]
    seps = run.seps[i : j - 1]
    start = run.starts[i]
    plus = i == 0 and run.plus
    if not (
        plus
        or _phone_shape(run, i, count=count, sizes=sizes, digits=digits, seps=seps, context=context)
        # Only the words after say so: "912 345 678 is my mobile". Not after an identifier
        # word, nor for fewer than 9 digits (an amount, a count).
        or (
            count >= 9 and context(start) == _NEUTRAL_CONTEXT and _said_after(text, run.ends[j - 1])
        )
    ):
        return False
    # What looks like a phone number but is not: "1 800 000 EUR", "$ 1 299 000", a date.
    if _UNIT_AFTER.match(text, run.ends[j - 1]):
        return False
    return plus or not (
        _CURRENCY_BEFORE.search(text, max(0, start - 5), start) or _is_date(sizes, digits, seps)
    )


def _phone_shape(
    run: _Run,
    i: int,
    *,
    count: int,
    sizes: tuple[int, ...],
    digits: tuple[str, ...],
    seps: tuple[str, ...],
    context: Callable[[int], int],
) -> bool:
    """Whether a window without a leading ``+`` is written like a phone number."""
    said = context(run.starts[i])
    if said == _IDENTIFIER_CONTEXT:
        return False  # "order 0176 1234 5678", "Ref: 0012 3456 7890"
    first = digits[0][0]
    if first == "0" and (digits[0] + (digits[1] if len(digits) > 1 else ""))[:2] == "00":
        return 11 <= count <= 15 and len(sizes) >= 2  # international prefix: 0049 176 ...
    if run.parens[i] and 9 <= count <= 12:
        return True  # (555) 123-4567, (020) 7946 0958
    if _is_nanp(sizes, digits, seps, run.parens[i]):
        return True
    if first == "0" and len(sizes) >= 2 and 9 <= count <= 12:
        return True  # national format with trunk prefix: 0176 1234 5678, 06 12 34 56 78
    if first == "0" and len(sizes) == 1 and 10 <= count <= 11:
        return said >= _NEUTRAL_CONTEXT  # 07700900123
    if sizes == (3, 2, 2, 2) and first in "6789":
        return said >= _NEUTRAL_CONTEXT  # Spanish: 612 34 56 78
    return said == _POSITIVE_CONTEXT


def _is_nanp(
    sizes: tuple[int, ...], digits: tuple[str, ...], seps: tuple[str, ...], paren: bool
) -> bool:
    """North American (and Italian mobile) 3-3-4: 555-123-4567, 555.123.4567, 1-800-555-0199."""
    if sizes[:1] == (1,) and digits[0] == "1":
        sizes, digits, seps, paren = sizes[1:], digits[1:], seps[1:], False
    if sizes != (3, 3, 4) or digits[0][0] in "01":
        return False
    return paren or all(s.strip(" \t\u00a0\u202f") in {"", "-", "."} for s in seps)


def _find_phones(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    contexts: dict[int, int] = {}

    def context(pos: int) -> int:
        said = contexts.get(pos)
        if said is None:
            said = contexts[pos] = _context(text, pos)
        return said

    def accept(run: _Run, i: int, j: int) -> bool:
        return _is_phone(run, i, j, text, context)

    for run in _digit_runs(text):
        for i, j in _windows(run, accept, max_groups=8, digits=(7, 15)):
            spans.append((run.start if i == 0 else run.starts[i], run.ends[j - 1]))
    return spans


# --------------------------------------------------------------------------------------------
# IP addresses
# --------------------------------------------------------------------------------------------

# A dotted quad (the octets are checked in Python). The first digit comes before the guard, so
# the scan skips to digits instead of trying the look-behind everywhere.
_IPV4 = re.compile(r"[0-9](?<![\w.)\]][0-9])[0-9]{0,2}(?:\.[0-9]{1,3}){3}(?![\w]|\.[0-9])")
# Candidates only: two colons within the first groups; ipaddress decides.
_IPV6 = re.compile(
    r"(?<![\w:.)\]])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)"
    r"[0-9A-Fa-f:]{2,39}(?:(?<=:)[0-9]{1,3}(?:\.[0-9]{1,3}){3})?"
    r"(?![\w:]|\.[0-9])"
)


# A dotted quad after these is a version number: "firmware 2.1.0.14".
_VERSION_WORDS: Final = _words(
    "version ver v firmware fw build release update os android ios chrome firefox safari edge "
    "windows macos app"
)


def _find_ips(text: str) -> list[tuple[int, int]]:
    # IPv6 first: "::ffff:192.0.2.128" embeds an IPv4 address.
    spans: list[tuple[int, int]] = []
    if ":" in text:
        spans.extend(m.span() for m in _IPV6.finditer(text) if _is_ipv6(m[0]))
    if "." in text:
        masked = _mask(text, spans) if spans else text
        spans.extend(
            m.span()
            for m in _IPV4.finditer(masked)
            if all(_is_octet(octet) for octet in m[0].split("."))
            and _VERSION_WORDS.isdisjoint(
                w.rstrip(".") for w in _previous_words(masked, m.start(), 2)
            )
        )
        spans.sort()
    return spans


def _is_octet(octet: str) -> bool:
    return int(octet) <= 255 and (len(octet) == 1 or octet[0] != "0")


def _is_ipv6(candidate: str) -> bool:
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    groups = [g for g in candidate.split(":") if g]
    # "1::2" or "10::30" are more likely typos of times than addresses.
    return len(groups) >= 2 and not (len(groups) < 4 and all(g.isdigit() for g in groups))


# --------------------------------------------------------------------------------------------
# Street addresses
# --------------------------------------------------------------------------------------------

# A house number after a street name, and what must not follow it ("Plaza Hotel 2 nights").
_HOUSE_NUMBER = (
    rf"[1-9][0-9]{{0,3}}(?:[a-zA-Z]|{_SP}[a-z])?"
    rf"(?:{_SP}?[-/–]{_SP}?(?:[1-9][0-9]{{0,3}}[a-zA-Z]?|[A-Za-z](?![\w])))?"
    rf"(?![\w]|[.,][0-9])"
    rf"(?!{_SP}*[%€$£]|{_SP}+(?i:nights?|hours?|hrs?|days?|weeks?|months?|years?|minutes?|"
    r"mins?|stars?|times?|people|persons?|guests?|rooms?|items?|pcs|pieces|euros?|eur|usd|gbp|"
    r"dollars?|pounds?|kg|km|miles?|min|h|x|am|pm)\b)"
)
_EN_STREET_TYPES = (
    "street|st|road|rd|avenue|ave|av|lane|ln|drive|dr|boulevard|blvd|court|ct|place|pl|square|"
    "sq|terrace|terr|close|crescent|cres|gardens|gdns|grove|hill|row|parkway|pkwy|highway|hwy|"
    "circle|cir|mews|walk|way|loop|alley|plaza|trail|wharf|quay|embankment"
)
_EN_NAME_WORD = rf"(?:{_CAP}\.?|[0-9]{{1,3}}(?:st|nd|rd|th)|[NSEW]\.?)"
# 221B Baker Street, 1600 Pennsylvania Ave NW, 350 Fifth Avenue, Apt 4B.
_ADDRESS_EN = re.compile(
    # The guard comes after the first digit so that the scan skips to digits.
    rf"[1-9](?<![\w.,/#£$€:)\]-][1-9])[0-9]{{0,4}}(?:[A-Za-z](?![\w]))?(?:[-–][1-9][0-9]{{0,4}}[A-Za-z]?)?,?{_SP}"
    rf"(?:{_EN_NAME_WORD}{_SP}){{1,3}}"
    rf"(?i:{_EN_STREET_TYPES})\.?(?![\w])"
    rf"(?:{_SP}(?:NE|NW|SE|SW|N|S|E|W)(?![\w]))?"
    rf"(?:,?{_SP}(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl)\.?{_SP}?#?[0-9]{{1,4}}[A-Za-z]?"
    r"(?![\w]))?"
)
# 12 rue de la Paix, 5 bis avenue des Champs-Élysées, 3 place de l'Opéra.
_FR_TYPES = (
    "rue|avenue|av\\.|bd|boulevard|place|impasse|allée|allee|chemin|quai|cours|route|passage|"
    "square|faubourg|promenade|esplanade|sentier"
)
_FR_PARTICLE = rf"(?:(?:de|du|des|la|le|les|aux|au|sur){_SP}+|[dlDL]['’])"
_ADDRESS_FR = re.compile(
    rf"[1-9](?<![\w.,/#£$€:)\]-][1-9])[0-9]{{0,3}}(?:{_SP}?(?:bis|ter|quater|[A-Ha-h])(?![\w]))?,?{_SP}{{1,2}}"
    rf"(?i:{_FR_TYPES})(?![\w]){_SP}{{1,2}}"
    rf"{_FR_PARTICLE}{{0,3}}{_CAP}(?:(?:{_SP}|-){_FR_PARTICLE}{{0,3}}{_CAP}){{0,4}}"
)
# Calle Mayor 5, Avenida de la Constitución 12, C/ Alcalá 45, Via Roma 12, Piazza Navona 1,
# Corso Buenos Aires 33, Rua Augusta 100.
_TYPE_FIRST = (
    "Calle|calle|C/|Avenida|avenida|Avda\\.?|Av\\.|Paseo|paseo|P[º°]|Plaza|Pza\\.|Carrer|carrer|"
    "Carretera|Ctra\\.|Ronda|Travesía|Camino|Glorieta|Rambla|Via|Viale|viale|V\\.le|Piazza|"
    "piazza|Piazzale|piazzale|Corso|corso|Largo|Vicolo|vicolo|Strada|Lungomare|Rua|rua|Praça|"
    "Travessa|Alameda"
)
_TF_PARTICLE = (
    rf"(?:(?:de|del|la|las|los|el|della|delle|dello|degli|dei|di|da|dal|dalla|do|dos|das|y|e|i)"
    rf"{_SP}+|(?:dell|d|l|sant)['’])"
)
_ADDRESS_TYPE_FIRST = re.compile(
    rf"(?<![\w'’/.)\]-])(?:{_TYPE_FIRST})(?:{_SP}{{1,2}}|(?<=/))"
    rf"{_TF_PARTICLE}{{0,3}}{_CAP}(?:{_SP}{_TF_PARTICLE}{{0,3}}{_CAP}){{0,4}}"
    rf",?{_SP}{{1,2}}(?:(?:n|no|nº|n°|núm|num|nr)\.?{_SP}?)?{_HOUSE_NUMBER}(?:{_SP}?[º°ª])?"
)
# Hauptstraße 5, Konrad-Adenauer-Allee 12a, Kalverstraat 92, Am Kupfergraben 6, and with the
# street type as its own word: Berliner Straße 12.
_COMPOUND_SUFFIXES = (
    "straße|strasse|weg|allee|platz|gasse|damm|ufer|chaussee|markt|graben|straat|gracht|laan|"
    "plein|kade|dijk|singel|dreef|steeg"
)
_SUFFIX_LOOKBEHIND = "|".join(
    f"(?<=[\\w-]{{2}}[{s[0]}{s[0].upper()}]{s[1:]})" for s in _COMPOUND_SUFFIXES.split("|")
)
# Words before the compound: "Am Kupfergraben 6", "Van Baerlestraat 12", "Ferdinand Bolstraat 3".
_DE_PREFIX_WORD = rf"{_CAP}|St\.|van|von|de|den|der|ten|ter"
_LETTERS = "A-Za-zÀ-ÖØ-öø-ÿ"
_ADDRESS_COMPOUND = re.compile(
    rf"(?<![\w'’.)\]-])(?:(?:{_DE_PREFIX_WORD}){_SP}){{0,2}}"
    rf"[{_LETTERS}][{_LETTERS}'’-]{{1,40}}+(?:(?<=[\w-]{{2}}[sS]tr)\.|{_SUFFIX_LOOKBEHIND})"
    rf"{_SP}?{_HOUSE_NUMBER}"
)
_ADDRESS_SEPARATE_TYPE = re.compile(
    rf"(?<![\w'’.)\]-])(?:{_CAP}{_SP}){{1,2}}"
    r"(?:Straße|Strasse|Str\.|Allee|Platz|Weg|Gasse|Damm|Ufer|Chaussee|Markt|Graben)"
    rf"{_SP}?{_HOUSE_NUMBER}"
)
_STREET_WORDS_FR: Final = tuple(_FR_TYPES.replace("\\", "").split("|"))
_STREET_WORDS_TYPE_FIRST: Final = (
    "calle", "c/", "avenida", "avda", "av.", "paseo", "pº", "p°", "plaza", "pza.", "carrer",
    "ctra.", "ronda", "travesía", "camino", "glorieta", "rambla", "via", "v.le", "piazza",
    "corso", "largo", "vicolo", "strada", "lungomare", "rua", "praça", "travessa", "alameda",
)  # fmt: skip
_STREET_WORDS_COMPOUND: Final = (*_COMPOUND_SUFFIXES.split("|"), "str.")
# Each pattern, and the words (lower case) of which a match contains one: a pattern runs only
# on text with one of its words. None: no such word list (the pattern starts with a digit).
_ADDRESS_PATTERNS: Final[tuple[tuple[re.Pattern[str], tuple[str, ...] | None], ...]] = (
    (_ADDRESS_EN, None),
    (_ADDRESS_FR, _STREET_WORDS_FR),
    (_ADDRESS_TYPE_FIRST, _STREET_WORDS_TYPE_FIRST),
    (_ADDRESS_COMPOUND, _STREET_WORDS_COMPOUND),
    (_ADDRESS_SEPARATE_TYPE, _STREET_WORDS_COMPOUND),
)


def _find_addresses(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    work = text
    lowered = text.lower()
    for pattern, words in _ADDRESS_PATTERNS:
        if words is not None and not any(map(lowered.__contains__, words)):
            continue
        found = [m.span() for m in pattern.finditer(work)]
        if found:
            spans.extend(found)
            work = _mask(work, found)
    spans.sort()
    return spans


# --------------------------------------------------------------------------------------------
# Redaction
# --------------------------------------------------------------------------------------------

_PIPELINE: Final[tuple[tuple[PiiKind, Callable[[str], list[tuple[int, int]]]], ...]] = (
    (PiiKind.EMAIL, _find_emails),
    (PiiKind.IBAN, _find_ibans),
    (PiiKind.CARD, _find_cards),
    (PiiKind.IP, _find_ips),
    (PiiKind.PHONE, _find_phones),
    (PiiKind.ADDRESS, _find_addresses),
)


# Rounds of the pipeline at most; the last finds nothing new on all realistic text.
_MAX_ROUNDS: Final = 4


def detect(text: str) -> list[PiiSpan]:
    """Every PII item in ``text``, most specific kind first, without overlaps, in text order.

    The pipeline runs again on the masked text while it finds something new: an item can hide
    another one next to it that a later detector claims ("Hauptstraße 5 (555) 123-4567": the
    house number makes "5 (555) 123-4567" one digit run, which is no phone number). The second
    round sees what redacting the text and redacting it again would see, which keeps ``redact``
    idempotent. Text without PII takes one round, text with PII usually two.
    """
    if not text or _TRIGGER.search(text) is None:
        return []
    found: list[PiiSpan] = []
    work = text
    for _ in range(_MAX_ROUNDS):
        before = len(found)
        for kind, find in _PIPELINE:
            spans = find(work)
            if spans:
                found.extend(PiiSpan(kind, start, end) for start, end in spans)
                work = _mask(work, spans)
        if len(found) == before:
            break
    found.sort(key=lambda span: span.start)
    return found


def redact(text: str, *, kinds: frozenset[PiiKind] = ALL) -> Redaction:
    """``text`` with the PII of ``kinds`` replaced by placeholders such as ``[EMAIL]``.

    All kinds are always detected, so that a kind left out of ``kinds`` still keeps the others
    from claiming its text (a card number is not redacted as a phone number when only phone
    numbers are asked for); only the items of ``kinds`` are replaced.
    """
    spans = [span for span in detect(text) if span.kind in kinds]
    if not spans:
        return Redaction(text=text, counts=_NO_COUNTS, redacted=False)
    parts: list[str] = []
    counts: dict[PiiKind, int] = {}
    last = 0
    for span in spans:
        parts.append(text[last : span.start])
        parts.append(span.kind.placeholder)
        counts[span.kind] = counts.get(span.kind, 0) + 1
        last = span.end
    parts.append(text[last:])
    return Redaction(
        text="".join(parts),
        counts=MappingProxyType(counts),
        redacted=True,
        spans=tuple(spans),
    )


# --------------------------------------------------------------------------------------------
# Pseudonymization
# --------------------------------------------------------------------------------------------

PSEUDONYM_PREFIX: Final = "p_"
_PSEUDONYM_DOMAIN: Final = b"rapport/customer-id/v1\x00"
MIN_KEY_BYTES: Final = 16


def pseudonymize(customer_id: str, key: bytes) -> str:
    """A stable keyed pseudonym of ``customer_id``: ``p_`` + 26 base32 characters (128 bits).

    HMAC-SHA256 under a secret key, not a plain hash: customer ids come from small, guessable
    spaces (sequential numbers, e-mail addresses), so anyone could hash every candidate and look
    the pseudonym up. Without the key that is impossible; with it, the mapping is stable across
    services and runs. The id is used as given (no case folding or trimming).
    """
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the pseudonymization key must have at least {MIN_KEY_BYTES} bytes")
    digest = hmac.new(key, _PSEUDONYM_DOMAIN + customer_id.encode("utf-8"), hashlib.sha256)
    encoded = base64.b32encode(digest.digest()[:16]).decode("ascii").rstrip("=").lower()
    return PSEUDONYM_PREFIX + encoded


EVENT_PSEUDONYM_PREFIX: Final = "e_"
_EVENT_DOMAIN: Final = b"rapport/event-id/v1\x00"
_EVENT_PSEUDONYM_LENGTH: Final = len(EVENT_PSEUDONYM_PREFIX) + 26


def event_pseudonym(identity: str, key: bytes) -> str:
    """A keyed hash of an event identity for the duplicate window's changelog: ``e_`` + 26
    base32 characters. Its own domain, so it never equals a customer pseudonym of the same text.
    """
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the changelog key must have at least {MIN_KEY_BYTES} bytes")
    digest = hmac.new(key, _EVENT_DOMAIN + identity.encode("utf-8"), hashlib.sha256)
    encoded = base64.b32encode(digest.digest()[:16]).decode("ascii").rstrip("=").lower()
    return EVENT_PSEUDONYM_PREFIX + encoded


def is_event_pseudonym(stored: str) -> bool:
    return (
        len(stored) == _EVENT_PSEUDONYM_LENGTH
        and stored.startswith(EVENT_PSEUDONYM_PREFIX)
        and stored[2:].isalnum()
    )
