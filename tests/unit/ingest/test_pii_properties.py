"""Properties of ``redact`` on generated text, and its running time on adversarial input."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.pii import ALL, PiiKind, redact

# Pieces that make the detectors work: PII, near misses, context words, placeholders and the
# punctuation the patterns care about.
_FRAGMENTS = [
    "jane.doe+tag@mail.example.co.uk",
    "a@b.co",
    "john dot smith at gmail dot com",
    "jane [at] example [dot] org",
    "x(at)y.de",
    "@",
    " at ",
    " dot ",
    "+44 20 7946 0958",
    "(555) 123-4567",
    "0176 1234 5678",
    "+1-202-555-0143",
    "06 12 34 56 78",
    "612 34 56 78",
    "07700900123",
    "0049 89 1234567",
    "+49 (0)30 1234567",
    "(+44)",
    "4111 1111 1111 1111",
    "4111111111111111",
    "3782 822463 10005",
    "4111 1111 1111 1112",
    "DE89 3704 0044 0532 0130 00",
    "GB29NWBK60161331926819",
    "nl91abna0417164300",
    "192.168.0.1",
    "2001:db8::1",
    "::ffff:192.0.2.128",
    "fe80::1ff:fe23:4567:890a",
    "221B Baker Street",
    "1600 Pennsylvania Ave NW",
    "Hauptstraße 5",
    "12 rue de la Paix",
    "Via Roma 12",
    "Calle de Alcalá, 45",
    "Kalverstraat 92",
    "Street",
    "rue",
    "Via",
    "Platz",
    "call",
    "phone",
    "my number is",
    "order",
    "Ref",
    "account",
    "IMEI",
    "firmware",
    "£",
    "EUR",
    "%",
    "12.03.2024",
    "14:30",
    "1,299.00",
    "BA 123",
    "[EMAIL]",
    "[PHONE]",
    "[CARD]",
    "[IBAN]",
    "[IP]",
    "[ADDRESS]",
    "[",
    "]",
    "(",
    ")",
    "#",
    ":",
    "::",
    "/",
    "0",
    "00",
]
_SEPARATORS = ["", " ", "  ", ", ", ". ", "\n", "-", "/", ".", ":", "\u00a0"]

_pieces = st.one_of(
    st.sampled_from(_FRAGMENTS),
    st.from_regex(r"[0-9]{1,6}", fullmatch=True),
    st.text(alphabet="0123456789 +-.()/@:[]abcdefABCDEFxyz", max_size=12),
)
_texts = st.one_of(
    st.lists(st.tuples(_pieces, st.sampled_from(_SEPARATORS)), max_size=10).map(
        lambda parts: "".join(piece + sep for piece, sep in parts)
    ),
    st.text(max_size=80),
)
_kinds = st.frozensets(st.sampled_from(list(PiiKind)), min_size=1)
_PLACEHOLDERS = [kind.placeholder for kind in PiiKind]
_SETTINGS = settings(
    max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def _digits(text: str) -> int:
    return sum(char.isdigit() for char in text)


@_SETTINGS
@given(_texts, _kinds)
def test_redaction_is_idempotent(text: str, kinds: frozenset[PiiKind]) -> None:
    once = redact(text, kinds=kinds)
    twice = redact(once.text, kinds=kinds)
    assert twice.text == once.text
    assert not twice.redacted


@_SETTINGS
@given(_texts)
def test_redaction_never_adds_digits(text: str) -> None:
    assert _digits(redact(text).text) <= _digits(text)


@_SETTINGS
@given(_texts, _kinds)
def test_placeholders_are_kept_and_counted(text: str, kinds: frozenset[PiiKind]) -> None:
    result = redact(text, kinds=kinds)
    for kind in PiiKind:
        before = text.count(kind.placeholder)
        after = result.text.count(kind.placeholder)
        assert after == before + result.counts.get(kind, 0)
    assert set(result.counts) <= kinds
    assert result.redacted == bool(result.counts)


@_SETTINGS
@given(_texts)
def test_spans_describe_the_replacement(text: str) -> None:
    result = redact(text)
    rebuilt, last = [], 0
    for span in result.spans:
        assert last <= span.start < span.end <= len(text)
        rebuilt.append(text[last : span.start] + span.kind.placeholder)
        last = span.end
    assert "".join(rebuilt) + text[last:] == result.text
    assert sum(result.counts.values()) == len(result.spans)


@pytest.mark.parametrize("placeholder", _PLACEHOLDERS)
def test_a_placeholder_alone_is_left_alone(placeholder: str) -> None:
    text = f"{placeholder} {placeholder}, ({placeholder}) {placeholder}{placeholder}"
    assert redact(text).text == text
    assert not redact(text).redacted


# Adversarial input: 100,000 characters of what the patterns look for, none of it a match
# that could make a backtracking engine try every split. Each must finish; the bound is far
# above the measured worst case (see bench/bench_pii.py) so the test does not flake.
_N = 100_000
_ADVERSARIAL = {
    "digits": "1" * _N,
    "digits and spaces": "1 " * (_N // 2),
    "digit groups": "4111 " * (_N // 5),
    "phone-like groups": "0176 1234 5678 " * (_N // 15),
    "at signs": "@" * _N,
    "local parts": "a@" * (_N // 2),
    "long local part": "a" * _N + "@",
    "long domain": "a@" + "b." * (_N // 2),
    "dots": "a." * (_N // 2),
    "digit dots": "1." * (_N // 2),
    "colons": ":" * _N,
    "hex colons": "a:" * (_N // 2),
    "digit colons": "1:" * (_N // 2),
    "dashes": "1-" * (_N // 2),
    "plus": "+1 " * (_N // 3),
    "parentheses": "(1)" * (_N // 3),
    "iban starts": "DE89" * (_N // 4),
    "spelled dots": "a dot " * (_N // 6),
    "bracketed at": "a [at] b [dot] " * (_N // 15),
    "capitalised words": "Ab Cd Ef Street 1 " * (_N // 18),
    "street types": "12 rue de la " * (_N // 13),
    "compound streets": "Hauptstraße" * (_N // 11),
    "brackets": "[x]" * (_N // 3),
    "mixed separators": "1 2-3.4/5 " * (_N // 10),
}


@pytest.mark.parametrize("name", list(_ADVERSARIAL))
def test_adversarial_input_finishes_quickly(name: str) -> None:
    text = _ADVERSARIAL[name]
    started = time.perf_counter()
    result = redact(text, kinds=ALL)
    elapsed = time.perf_counter() - started
    assert result.text  # completed
    assert elapsed < 5.0, f"{name}: {elapsed:.2f} s for {len(text)} characters"
