"""Deterministic evaluation sets for ``services.ingest.pii``.

* ``labelled.jsonl``: customer messages with personal data of every kind embedded, each item
  labelled: ``{"id", "text", "spans": [{"kind", "start", "end", "value"}]}``. The messages also
  carry the look-alikes customers write next to it (order numbers, dates, prices, times).
* ``control.jsonl``: customer messages without personal data but full of look-alikes, for the
  false-positive rate: ``{"id", "text"}``.

Every card number passes Luhn, every IBAN has its country's length and passes mod 97, every IP
address parses; phone numbers come in the national and international formats of ten countries.
All data is random and fictional.

Regenerate the files, or check that they are up to date, from the repository root::

    .venv/bin/python -m evaluation.pii.generate
    .venv/bin/python -m evaluation.pii.generate --check
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import string
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent
LABELLED_PATH = DATA_DIR / "labelled.jsonl"
CONTROL_PATH = DATA_DIR / "control.jsonl"
SEED = 20_240_611
LABELLED_SIZE = 900
CONTROL_SIZE = 400
KINDS = ("email", "phone", "card", "iban", "ip", "address")

Generator = Callable[[random.Random], str]


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _split(text: str, separator: str = " ") -> list[str]:
    return text.split(separator)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _nonzero(rng: random.Random, n: int) -> str:
    return rng.choice("123456789") + _digits(rng, n - 1)


def _luhn_complete(partial: str) -> str:
    """``partial`` with the Luhn check digit appended."""
    total = 0
    for position, char in enumerate(reversed(partial)):
        digit = int(char)
        if position % 2 == 0:  # doubled once the check digit is appended
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return partial + str(-total % 10)


def _luhn_ok(number: str) -> bool:
    return _luhn_complete(number[:-1]) == number


# --------------------------------------------------------------------------------------------
# PII generators
# --------------------------------------------------------------------------------------------

_FIRST = _split(
    "anna james maria li mohammed sofia lucas emma noah olivia jan pierre giulia carlos "
    "fatima yuki lars ingrid tom aisha david sara mateo chloe"
)
_LAST = _split(
    "smith mueller garcia rossi dubois jansen kowalski novak oconnor nguyen schmidt martin "
    "bianchi lopez de-vries andersen murphy khan fischer moreau"
)
_MAIL_DOMAINS = _split(
    "gmail.com outlook.com yahoo.co.uk web.de gmx.de orange.fr free.fr libero.it ziggo.nl "
    "hotmail.es protonmail.com icloud.com example.org mail.example.com eu.bigcorp.example.com "
    "uni-muenchen.de students.uva.nl company.co.uk posteo.de t-online.de"
)


def email(rng: random.Random) -> str:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    local = rng.choice(
        [
            f"{first}.{last}",
            f"{first}{last}",
            f"{first[0]}{last}",
            f"{first}_{last}{rng.randint(1, 99)}",
            f"{first}.{last}+{rng.choice(['orders', 'shop', 'news', 'spam', 'x'])}",
            f"{last}.{first}{rng.randint(1960, 2005)}",
            f"{first}{rng.randint(1, 9999)}",
            f"{first}-{last}",
        ]
    )
    domain = rng.choice(_MAIL_DOMAINS)
    form = rng.random()
    if form < 0.1:  # obfuscated by the customer
        name, _, tld = domain.rpartition(".")
        name = name.replace(".", " dot ")
        return rng.choice(
            [
                f"{local.replace('.', ' dot ')} at {name} dot {tld}",
                f"{local} [at] {name.replace(' dot ', ' [dot] ')} [dot] {tld}",
                f"{local}(at){domain}",
                f"{local} AT {name.replace(' dot ', ' DOT ')} DOT {tld}",
            ]
        )
    if form < 0.2:
        return f"{local.title()}@{domain.capitalize()}"
    return f"{local}@{domain}"


def _us_number(rng: random.Random) -> tuple[str, str, str]:
    return rng.choice("23456789") + _digits(rng, 2), _nonzero(rng, 3), _digits(rng, 4)


def _phone_formats() -> dict[str, list[Generator]]:
    d = _digits

    def two(rng: random.Random, n: int) -> str:
        return " ".join(d(rng, 2) for _ in range(n))

    return {
        "uk": [
            lambda r: f"+44 20 {d(r, 4)} {d(r, 4)}",
            lambda r: f"020 {d(r, 4)} {d(r, 4)}",
            lambda r: f"07{d(r, 3)} {d(r, 6)}",
            lambda r: f"+44 7{d(r, 3)} {d(r, 6)}",
            lambda r: f"(020) {d(r, 4)} {d(r, 4)}",
            lambda r: f"+44 (0)20 {d(r, 4)} {d(r, 4)}",
            lambda r: f"+447{d(r, 9)}",
            lambda r: f"(+44) 20 {d(r, 4)} {d(r, 4)}",
        ],
        "us": [
            lambda r: "({}) {}-{}".format(*_us_number(r)),
            lambda r: "{}-{}-{}".format(*_us_number(r)),
            lambda r: "{}.{}.{}".format(*_us_number(r)),
            lambda r: "{} {} {}".format(*_us_number(r)),
            lambda r: "+1-{}-{}-{}".format(*_us_number(r)),
            lambda r: "+1 ({}) {}-{}".format(*_us_number(r)),
            lambda r: f"1-800-{_nonzero(r, 3)}-{d(r, 4)}",
            lambda r: "+1{}{}{}".format(*_us_number(r)),
        ],
        "de": [
            lambda r: f"01{r.choice('567')}{d(r, 1)} {d(r, 4)} {d(r, 4)}",
            lambda r: f"+49 1{r.choice('567')}{d(r, 1)} {d(r, 8)}",
            lambda r: f"030 {d(r, 8)}",
            lambda r: f"030/{d(r, 7)}",
            lambda r: f"+49 30 {d(r, 7)}",
            lambda r: f"+49 (0)30 {d(r, 7)}",
            lambda r: f"0049 89 {d(r, 7)}",
            lambda r: f"0176-{d(r, 8)}",
            lambda r: f"+4917{d(r, 9)}",
            lambda r: f"(+49) 1{r.choice('567')}{d(r, 1)} {d(r, 8)}",
            lambda r: f"0176 / {d(r, 4)} {d(r, 4)}",
        ],
        "fr": [
            lambda r: f"0{r.choice('67')} {two(r, 4)}",
            lambda r: f"01.{d(r, 2)}.{d(r, 2)}.{d(r, 2)}.{d(r, 2)}",
            lambda r: f"+33 {r.choice('67')} {two(r, 4)}",
            lambda r: f"+33 (0)1 {two(r, 4)}",
            lambda r: f"0{r.choice('67')}{d(r, 8)}",
        ],
        "es": [
            lambda r: f"+34 6{d(r, 2)} {two(r, 3)}",
            lambda r: f"6{d(r, 2)} {two(r, 3)}",
            lambda r: f"+34 91{d(r, 1)} {d(r, 3)} {d(r, 3)}",
            lambda r: f"9{d(r, 2)} {d(r, 3)} {d(r, 3)}",
            lambda r: f"6{d(r, 8)}",
        ],
        "nl": [
            lambda r: f"+31 6 {d(r, 8)}",
            lambda r: f"06-{d(r, 8)}",
            lambda r: f"020-{d(r, 7)}",
            lambda r: f"+31 (0)20 {d(r, 3)} {d(r, 4)}",
            lambda r: f"06 {d(r, 4)} {d(r, 4)}",
        ],
        "it": [
            lambda r: f"+39 06 {d(r, 4)} {d(r, 4)}",
            lambda r: f"3{d(r, 2)} {d(r, 3)} {d(r, 4)}",
            lambda r: f"+39 3{d(r, 2)} {d(r, 7)}",
            lambda r: f"06 {d(r, 4)} {d(r, 4)}",
            lambda r: f"3{d(r, 9)}",
        ],
        "ch": [
            lambda r: f"+41 44 {d(r, 3)} {two(r, 2)}",
            lambda r: f"044 {d(r, 3)} {two(r, 2)}",
            lambda r: f"079 {d(r, 3)} {two(r, 2)}",
        ],
        "at": [
            lambda r: f"+43 1 {d(r, 3)} {d(r, 4)}",
            lambda r: f"0664 {d(r, 7)}",
            lambda r: f"+43 664 {d(r, 7)}",
        ],
        "be": [
            lambda r: f"+32 2 {d(r, 3)} {two(r, 2)}",
            lambda r: f"0470 {two(r, 3)}",
        ],
    }


_PHONES = _phone_formats()


def phone(rng: random.Random, country: str | None = None) -> str:
    formats = _PHONES[country] if country else rng.choice(list(_PHONES.values()))
    return rng.choice(formats)(rng)


# (issuer prefix, length, grouping) of card brands.
_CARDS: tuple[tuple[Callable[[random.Random], str], int, tuple[int, ...]], ...] = (
    (lambda r: "4", 16, (4, 4, 4, 4)),  # Visa
    (lambda r: "4", 13, (4, 4, 4, 1)),  # Visa, old 13 digits
    (lambda r: f"5{r.randint(1, 5)}", 16, (4, 4, 4, 4)),  # Mastercard
    (lambda r: str(r.randint(2221, 2720)), 16, (4, 4, 4, 4)),  # Mastercard 2-series
    (lambda r: r.choice(["34", "37"]), 15, (4, 6, 5)),  # American Express
    (lambda r: r.choice(["6011", "65"]), 16, (4, 4, 4, 4)),  # Discover
    (lambda r: f"35{r.randint(28, 89)}", 16, (4, 4, 4, 4)),  # JCB
    (lambda r: "36", 14, (4, 6, 4)),  # Diners Club
    (lambda r: "62", 19, (4, 4, 4, 4, 3)),  # UnionPay
)


def card(rng: random.Random) -> str:
    prefix, length, grouping = rng.choice(_CARDS)
    start = prefix(rng)
    number = _luhn_complete(start + _digits(rng, length - len(start) - 1))
    separator = rng.choices([" ", "-", ""], weights=[55, 20, 25])[0]
    if not separator:
        return number
    groups, position = [], 0
    for size in grouping:
        groups.append(number[position : position + size])
        position += size
    return separator.join(groups)


# BBAN structure: n digits, a upper-case letters, c letters or digits.
_IBAN_FORMATS: dict[str, tuple[tuple[str, int], ...]] = {
    "DE": (("n", 18),),
    "GB": (("a", 4), ("n", 14)),
    "FR": (("n", 10), ("c", 11), ("n", 2)),
    "ES": (("n", 20),),
    "NL": (("a", 4), ("n", 10)),
    "IT": (("a", 1), ("n", 10), ("c", 12)),
    "BE": (("n", 12),),
    "CH": (("n", 5), ("c", 12)),
    "AT": (("n", 16),),
    "PL": (("n", 24),),
    "PT": (("n", 21),),
    "IE": (("a", 4), ("n", 14)),
    "LU": (("n", 3), ("c", 13)),
    "SE": (("n", 20),),
    "DK": (("n", 14),),
    "NO": (("n", 11),),
}
_ALPHABETS = {
    "n": string.digits,
    "a": string.ascii_uppercase,
    "c": string.digits * 3 + string.ascii_uppercase,
}


def _iban_check_digits(country: str, bban: str) -> str:
    numeric = "".join(str(int(char, 36)) for char in bban + country + "00")
    return f"{98 - int(numeric) % 97:02d}"


def iban(rng: random.Random) -> str:
    country = rng.choice(list(_IBAN_FORMATS))
    bban = "".join(
        "".join(rng.choice(_ALPHABETS[kind]) for _ in range(count))
        for kind, count in _IBAN_FORMATS[country]
    )
    compact = country + _iban_check_digits(country, bban) + bban
    printed = " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return rng.choices(
        [printed, compact, compact.lower(), printed.lower()], weights=[55, 30, 8, 7]
    )[0]


def ip(rng: random.Random) -> str:
    form = rng.random()
    if form < 0.55:
        return str(ipaddress.IPv4Address(rng.randint(0x01000000, 0xDFFFFFFF)))
    if form < 0.7:
        return ipaddress.IPv6Address(rng.getrandbits(128)).exploded
    if form < 0.82:
        groups = [f"{rng.getrandbits(16):x}" for _ in range(rng.randint(1, 4))]
        return str(ipaddress.IPv6Address("2001:db8::" + ":".join(groups)))
    if form < 0.92:
        groups = [f"{rng.getrandbits(16):x}" for _ in range(4)]
        address = "fe80::" + ":".join(groups)
        return address.upper() if rng.random() < 0.3 else address
    return f"::ffff:{ipaddress.IPv4Address(rng.randint(0x01000000, 0xDFFFFFFF))}"


_EN_STREETS = _split(
    "Baker|High|Church|Station|Victoria|Mill|Oak|Elm|Maple|Pennsylvania|Sunset|Park|Queen's|"
    "King's|Albert|Chester|Evergreen|Cedar|Willow|Market|Bridge|London|Manor|Grange|Springfield|"
    "Old Kent|St John's Wood|Martin Luther King|Lake Shore|5th|42nd|Washington|Abbey|Orchard",
    "|",
)
_EN_TYPES = _split(
    "Street|St|Road|Rd|Avenue|Ave|Lane|Drive|Close|Crescent|Way|Boulevard|Blvd|Place|Terrace|"
    "Court|Grove|Gardens|Hill|Row|Mews|Parkway",
    "|",
)
_DE_STEMS = _split(
    "Haupt|Bahnhof|Goethe|Schiller|Linden|Kirch|Garten|Berg|Wald|Mühlen|Rosen|Buchen|Eichen|"
    "Schul|Post|Markt|Sonnen|Feld|Dorf",
    "|",
)
_DE_SUFFIXES = _split("straße|strasse|str.|weg|allee|platz|gasse|damm|graben", "|")
_DE_SPECIAL = _split(
    "Friedrich-Ebert-Straße|Konrad-Adenauer-Allee|Kaiser-Wilhelm-Platz|Berliner Straße|"
    "Hamburger Allee|Am Kupfergraben|Alte Landstraße|Karl-Marx-Straße|Münchner Straße|"
    "Bahnhofstrasse|Am Lindenplatz",
    "|",
)
_FR_STREETS = _split(
    "rue de la Paix|rue du Faubourg Saint-Honoré|avenue des Champs-Élysées|boulevard "
    "Saint-Germain|place de l'Opéra|rue Victor-Hugo|impasse des Lilas|allée des Cerisiers|"
    "quai de la Tournelle|chemin du Moulin|rue Lafayette|avenue Jean-Jaurès|boulevard "
    "Haussmann|rue de Rivoli|cours Mirabeau|route de Lyon|rue des Écoles|place Bellecour",
    "|",
)
_ES_STREETS = _split(
    "Calle Mayor|Calle de Alcalá|Avenida de la Constitución|C/ Serrano|Paseo de Gracia|"
    "Plaza Mayor|Carrer de Balmes|Calle Gran Vía|Avenida Diagonal|Calle del Pez|"
    "Paseo de la Castellana|Calle de Toledo|Rua Augusta|Avenida da Liberdade",
    "|",
)
_NL_STREETS = _split(
    "Kalverstraat|Prinsengracht|Herengracht|Keizersgracht|Coolsingel|Stationsplein|Vondellaan|"
    "Damstraat|Ferdinand Bolstraat|Van Baerlestraat|Nieuwe Binnenweg|Leidsekade|Westerdijk",
    "|",
)
_IT_STREETS = _split(
    "Via Roma|Via del Corso|Via Giuseppe Garibaldi|Piazza Navona|Corso Buenos Aires|"
    "Viale Monza|Largo Argentina|Via dei Mille|Via Torino|Piazza di Spagna|Via della Spiga|"
    "Corso Italia|Via Nazionale",
    "|",
)


def _address_en(rng: random.Random) -> str:
    number = str(rng.randint(1, 2500))
    if rng.random() < 0.15:
        number += rng.choice("ABCab")
    street_type = rng.choice(_EN_TYPES)
    text = f"{number} {rng.choice(_EN_STREETS)} {street_type}"
    if street_type in {"St", "Ave", "Blvd", "Street", "Avenue"} and rng.random() < 0.25:
        text += " " + rng.choice(["NW", "NE", "SE", "SW", "N", "S", "E", "W"])
    if rng.random() < 0.12:
        text += rng.choice([", Apt 4B", ", Suite 200", ", Flat 3", " Apt 12", ", Unit 7"])
    return text


def _address_de(rng: random.Random) -> str:
    if rng.random() < 0.3:
        street = rng.choice(_DE_SPECIAL)
    else:
        street = rng.choice(_DE_STEMS) + rng.choice(_DE_SUFFIXES)
    number = str(rng.randint(1, 199))
    if rng.random() < 0.2:
        number += rng.choice("ab")
    return f"{street} {number}"


def _address_fr(rng: random.Random) -> str:
    number = str(rng.randint(1, 180))
    if rng.random() < 0.1:
        number += rng.choice([" bis", " ter"])
    street = rng.choice(_FR_STREETS)
    if rng.random() < 0.2:
        street = street[0].upper() + street[1:]
    return f"{number}{',' if rng.random() < 0.2 else ''} {street}"


def _address_es(rng: random.Random) -> str:
    return f"{rng.choice(_ES_STREETS)}{',' if rng.random() < 0.4 else ''} {rng.randint(1, 250)}"


def _address_nl(rng: random.Random) -> str:
    number = str(rng.randint(1, 400))
    if rng.random() < 0.15:
        number += rng.choice(["A", "-2", "-1"])
    return f"{rng.choice(_NL_STREETS)} {number}"


def _address_it(rng: random.Random) -> str:
    return f"{rng.choice(_IT_STREETS)}{',' if rng.random() < 0.3 else ''} {rng.randint(1, 200)}"


_ADDRESSES: dict[str, Generator] = {
    "en": _address_en,
    "de": _address_de,
    "fr": _address_fr,
    "es": _address_es,
    "nl": _address_nl,
    "it": _address_it,
}


def address(rng: random.Random, country: str | None = None) -> str:
    if country is None:
        country = rng.choices(list(_ADDRESSES), weights=[35, 20, 15, 10, 10, 10])[0]
    return _ADDRESSES[country](rng)


# --------------------------------------------------------------------------------------------
# Look-alikes: what customers write next to (or instead of) personal data
# --------------------------------------------------------------------------------------------


def _order(rng: random.Random) -> str:
    return rng.choice(
        [
            f"#{_nonzero(rng, 5)}",
            f"A{_digits(rng, 5)}",
            f"{_digits(rng, 2)}-{_digits(rng, 5)}",
            f"{_digits(rng, 4)}-{rng.choice(['BB', 'AX', 'KT', 'PL', 'XZ'])}",
            f"R-{_digits(rng, 6)}",
            f"FD-{_digits(rng, 6)}",
            f"{_nonzero(rng, 3)}-{_digits(rng, 7)}-{_digits(rng, 7)}",
            f"{_nonzero(rng, 8)}",
            f"INV-{rng.randint(2019, 2025)}-{_digits(rng, 4)}",
            f"{rng.randint(2019, 2025)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}-"
            f"{_digits(rng, 4)}",
        ]
    )


_MONTHS = "January February March April May June July August September October November December"


def _date(rng: random.Random) -> str:
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(2019, 2025)
    return rng.choice(
        [
            f"{day} {_MONTHS.split()[month - 1]}",
            f"{day:02d}.{month:02d}.{year}",
            f"{year}-{month:02d}-{day:02d}",
            f"{day:02d}/{month:02d}/{year}",
            f"{_MONTHS.split()[month - 1]} {day}, {year}",
            f"{day}/{month}",
        ]
    )


def _time(rng: random.Random) -> str:
    hour, minute = rng.randint(0, 23), rng.choice([0, 10, 15, 30, 40, 45, 55])
    return rng.choice(
        [
            f"{hour:02d}:{minute:02d}",
            f"{hour % 12 + 1}{rng.choice(['am', 'pm'])}",
            f"{hour}.{minute:02d}",
            f"{hour % 12 + 1}:{minute:02d} {rng.choice(['am', 'pm'])}",
        ]
    )


def _price(rng: random.Random) -> str:
    whole, cents = rng.randint(1, 4999), rng.randint(0, 99)
    return rng.choice(
        [
            f"£{whole}",
            f"€{whole:,}.{cents:02d}",
            f"${whole:,}.{cents:02d}",
            f"{whole} EUR",
            f"{whole:,}.{cents:02d}".replace(",", "X").replace(".", ",").replace("X", ".") + " €",
            f"USD {whole}",
            f"{whole:,}.{cents:02d}",
        ]
    )


def _flight(rng: random.Random) -> str:
    airline = rng.choice(["BA", "LH", "AF", "KL", "IB", "AZ", "SA", "AL", "U2", "FR"])
    return f"{airline}{rng.choice(['', ' '])}{rng.randint(1, 9999)}"


def _failing_card_like(rng: random.Random) -> str:
    """Sixteen digits in card groups that fail Luhn: a gift-card or voucher number."""
    number = rng.choice("3456") + _digits(rng, 15)
    if _luhn_ok(number):
        number = number[:-1] + str((int(number[-1]) + 1) % 10)
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


_CITIES = {
    "en": [("London", "SW1A 1AA"), ("Manchester", "M1 1AE"), ("Boston", "MA 02108")],
    "de": [("Berlin", "10115"), ("München", "80331"), ("Hamburg", "20095")],
    "fr": [("Paris", "75002"), ("Lyon", "69002"), ("Marseille", "13001")],
    "es": [("Madrid", "28013"), ("Barcelona", "08007"), ("Lisboa", "1100-053")],
    "nl": [("Amsterdam", "1012 NX"), ("Rotterdam", "3011 AD"), ("Utrecht", "3511 LX")],
    "it": [("Roma", "00186"), ("Milano", "20121"), ("Torino", "10123")],
}


def _city(rng: random.Random) -> str:
    return rng.choice([city for cities in _CITIES.values() for city, _ in cities])


def _postcode_city(rng: random.Random) -> str:
    city, postcode = rng.choice([c for cities in _CITIES.values() for c in cities])
    return f"{postcode} {city}"


def _version(rng: random.Random) -> str:
    return rng.choice(
        [
            f"{rng.randint(1, 9)}.{rng.randint(0, 30)}",
            f"v{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
            f"{rng.randint(100, 130)}.0.{rng.randint(4000, 6999)}.{rng.randint(100, 300)}",
            f"10.0.{rng.randint(19000, 22999)}.{rng.randint(1000, 3999)}",
        ]
    )


def _tracking(rng: random.Random) -> str:
    return rng.choice(
        [
            f"1Z{_digits(rng, 3)}AA1{_digits(rng, 10)}",
            f"JJD{_digits(rng, 15)}",
            f"{_digits(rng, 20)}",
            f"{_nonzero(rng, 10)}",
            f"LX{_digits(rng, 9)}DE",
        ]
    )


_FILLERS: dict[str, Generator] = {
    "order": _order,
    "date": _date,
    "time": _time,
    "price": _price,
    "flight": _flight,
    "city": _city,
    "postcode_city": _postcode_city,
    "expiry": lambda r: f"{r.randint(1, 12):02d}/{r.randint(25, 31)}",
    "n": lambda r: str(r.randint(2, 60)),
    "year": lambda r: str(r.randint(1995, 2025)),
    "percent": lambda r: f"{r.randint(5, 70)}%",
    "version": _version,
    "voucher": _failing_card_like,
    "long_id": lambda r: _nonzero(r, r.randint(9, 12)),
    "zero_id": lambda r: "0" + _digits(r, r.randint(9, 10)),
    "zero_grouped": lambda r: (
        r.choice(["00", "0"]) + f"{_digits(r, 2)} {_digits(r, 4)} {_digits(r, 4)}"
    ),
    "tracking": _tracking,
    "seat": lambda r: f"{r.randint(1, 40)}{r.choice('ABCDEF')}",
    "bic": lambda r: r.choice(["DEUTDEFF", "NWBKGB2L", "BNPAFRPP", "INGBNL2A", "UNCRITMM"]),
    "imei": lambda r: _luhn_complete(r.choice(["35", "86", "01"]) + _digits(r, 12)),
    "ean": lambda r: r.choice("4567") + _digits(r, 12),
    "firmware": lambda r: (
        f"{r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(1, 99)}"
    ),
}


# --------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------

# A field is PII ({email}, {phone:de}, {address:fr}: the spec is the country) or a look-alike.
LABELLED_TEMPLATES: dict[str, tuple[str, ...]] = {
    "email": (
        "Please send the invoice to {email} instead of my old address.",
        "My new email is {email}, can you update my account? Order {order}.",
        "hi, pls reply to {email} not the one on file",
        "I never got the confirmation for order {order} at {email}.",
        "Contact: {email}",
        "You can reach me at {email} or on my mobile {phone}.",
        "Bitte senden Sie die Rechnung an {email}.",
        "Merci de m'écrire à {email}, je n'ai rien reçu depuis le {date}.",
        "email me: {email}!!",
        "({email}) is my work address, use that one for the refund of {price}",
        "Your newsletter keeps going to {email} although I unsubscribed on {date}.",
        "Login fails for {email} since the {version} update, error at {time}.",
        "Two accounts: {email} and {email}. Please merge them.",
        "@QuickCart DM me or write to {email} thx",
        'Reply to "{email}" please, the other inbox is full.',
        "From: Maria <{email}>\nSubject: refund for {order}",
        "Kind regards,\nLars\n{address}\n{postcode_city}\nTel: {phone}\n{email}",
        "my details: {address}; {phone}; {email}",
        "E-Mail:{email}",
    ),
    "phone": (
        "Please call me back on {phone}, I'm free after {time}.",
        "my number is {phone}",
        "Can someone ring me on {phone} about order {order}?",
        "Tel. {phone}",
        "I tried calling {phone} five times on {date} and nobody picked up.",
        "Rufen Sie mich bitte unter {phone:de} zurück, Bestellung {order}.",
        "Vous pouvez me joindre au {phone:fr} après {time}.",
        "Mi teléfono es {phone:es}, llamadme por favor.",
        "Bel me op {phone:nl} a.u.b., het gaat om {order}.",
        "Il mio numero è {phone:it}, grazie.",
        "Call me: {phone} (mobile), reference {order}",
        "{phone} is my mobile, text if easier",
        "The driver had my number ({phone}) but still didn't call. Paid {price}.",
        "Flight {flight} on {date} was cancelled, please call {phone} to rebook.",
        "Whatsapp: {phone}",
        "New contact details: phone {phone}, email {email}.",
        "Please update my landline to {phone} and my mobile to {phone}.",
        "Our office line {phone:ch} is down since {date}.",
        "Ich bin unter {phone:at} erreichbar.",
        "U kunt mij bellen op {phone:be}.",
        "Mobile:{phone}",
        "Call me at {phone} or {phone}, whichever works.",
        "Reach me on {phone} ext. {n} during office hours.",
        "pls ring me back asap!!! {phone}",
    ),
    "card": (
        "I was charged twice on my card {card}, please refund {price}.",
        "card number {card} exp {expiry}",
        "My Visa {card} was declined at checkout for order {order}.",
        "Meine Kreditkarte {card} wurde am {date} doppelt belastet.",
        "Refund to {card}, not to the voucher.",
        "Ma carte {card} a été débitée de {price} deux fois.",
        "The payment from card {card} on {date} at {time} was not authorised by me.",
        "pls cancel the subscription on {card} asap",
        "Charged {price} on {card} for {n} items I never received.",
        "Mi tarjeta {card} fue rechazada.",
        "card: {card}.",
        "Used {card} (exp {expiry}) for booking {order}, charged {price}.",
    ),
    "iban": (
        "Please refund {price} to my account {iban}.",
        "IBAN: {iban}",
        "Bitte überweisen Sie den Betrag auf {iban} (Bestellung {order}).",
        "Mon IBAN est {iban}, merci de procéder au remboursement.",
        "Mi IBAN es {iban}.",
        "transfer the refund to iban {iban} pls",
        "Please use {iban} for the direct debit from {date}.",
        "The direct debit from {iban} on {date} was {price} instead of {price}.",
        "Graag terugbetalen op {iban}, bedankt.",
        "Rimborso sul conto {iban}, grazie.",
        "IBAN:{iban} BIC: {bic}",
        "Account holder: me. IBAN {iban}. Amount: {price}.",
    ),
    "ip": (
        "The login page blocked my IP {ip} after three attempts.",
        "Your app keeps failing from {ip}, error 503 since {time}.",
        "Connection from {ip} was refused, my router is at {ip}.",
        "Ich bekomme Fehler 403 von der Adresse {ip}.",
        "traceroute stops at {ip}",
        "Server {ip} is unreachable since the {version} update.",
        "Whitelisted {ip} as asked in ticket {order}, still blocked.",
        "my ip is {ip} if that helps",
        "Sync works on wifi but not from {ip} (office VPN).",
        "Blocked again: {ip}. Whitelist it please.",
        "The API rejects requests from {ip} with 429 since {date}, firmware {version}.",
    ),
    "address": (
        "Please send the replacement to {address}, {city}.",
        "I moved to {address} last month, please update my delivery address.",
        "Delivery address: {address}, {postcode_city}",
        "The courier left my parcel at {address} instead of my house.",
        "Lieferadresse: {address:de}, {postcode_city}",
        "Mon adresse : {address:fr}, {postcode_city}.",
        "Mi dirección es {address:es}, {postcode_city}.",
        "Il mio indirizzo è {address:it}, {city}.",
        "Graag leveren op {address:nl} in {city}.",
        "Order {order} went to {address} although I changed it to {address}.",
        "Bitte holen Sie das Paket in der {address:de} ab, ich bin ab {time} zu Hause.",
        "Ship to: {address}",
        "We are at {address:en}, second floor, please deliver before {time}.",
        "Returning the item from {address}, tracking {tracking}.",
        "pls send to {address} thx",
        "New address ({date}): {address}.",
        "Address: {address}\n{postcode_city}",
    ),
}

CONTROL_TEMPLATES: tuple[str, ...] = (
    "Order {order} arrived on {date} but the box was crushed.",
    "I paid {price} on {date} and was charged {price} again on {date}.",
    "Flight {flight} on {date} was delayed {n} hours, landed at {time}.",
    "My flight {flight} from gate B{n} left at {time} instead of {time}.",
    "Ticket {order}: still no answer after {n} days.",
    "Ref {order} - refund of {price} pending since {date}.",
    "Account {long_id}: please send a copy of my last {n} bills.",
    "Order number {zero_id} was never delivered.",
    "Tracking number {tracking} has not moved since {date}.",
    "The gift card {voucher} shows a balance of {price}, it should be {price}.",
    "Voucher code {voucher} is rejected at checkout.",
    "After the {version} update the app crashes at startup.",
    "Chrome {version} on Windows, the page freezes every {n} minutes.",
    "Prices went up {percent} in {year}, I have been a customer since {year}.",
    "Rated {n}/10, delivery between {time} and {time} as promised.",
    "Booking {order}, seat {seat}, {n} bags, total {price}.",
    "The {n} items cost {price} each, so {price} in total, not {price}.",
    "Invoice {order} dated {date} lists {n} seats at {price}.",
    "Opening hours are {time}-{time}, I came at {time} and it was closed.",
    "I have been waiting since {date}, {n} weeks now, order {order}.",
    "Room {n}{n} was not cleaned on {date}; check-in was at {time}.",
    "Bestellung {order} vom {date} über {price} ist nicht angekommen.",
    "Commande {order} du {date} : {price} débités, colis jamais reçu.",
    "Pedido {order} del {date}, {price}, todavía no llegó.",
    "Bestelling {order} van {date} is nog steeds niet bezorgd.",
    "Ordine {order} del {date}: pagato {price}, mai arrivato.",
    "Delivery window {time} to {time} on {date}, nobody came. {n} calls to support.",
    "Case {order}: the {price} credit from {date} is missing on my {year} statement.",
    "Between {year} and {year} I ordered about {n} times, never a problem.",
    "Warranty claim {order}, model {order}, bought {date} for {price}.",
    "Customer number {long_id} - the direct debit of {price} failed on {date}.",
    "Serial {tracking}, firmware {version}, error code {n}.",
    "Parcel {tracking} stuck in customs since {date}, fee {price}.",
    "{n} stars. Arrived on {date} at {time}, {percent} off with the code.",
    "Updated the router to {version} at {time}, speed dropped to {n} Mbps.",
    "PO {order} for {n} licences at {price}, renewal on {date}.",
    "I looked at the offer on {date} and it was {price}, now it is {price}.",
    "Checked out at {time}, paid {price} for {n} nights.",
    "Your hotline was busy from {time} until {time} on {date}.",
    "Please cancel booking {order}; I will travel on {date} with {flight} instead.",
    "Call me back please, I'm available {time}-{time}.",
    "I called {n} times between {time} and {time} on {date}, nobody answered.",
    "Call centre ref {long_id}, agent promised a callback.",
    "Text me when order {order} ships.",
    "My mobile plan costs {price} per month for {n} GB.",
    "The phone I bought (IMEI {imei}) stopped charging after {n} days.",
    "EAN {ean}, bought {n} of them on {date}.",
    "Updated to firmware {firmware} on {date}, the router reboots every {n} minutes.",
    "The number of items was {long_id}? That cannot be right, I ordered {n}.",
    "Scored {n} out of 10, delivered {date} between {time} and {time}.",
    "Phone model SM-G991B, bought in {year}, screen cracked after {n} weeks.",
    "+{n}% price increase since {year}, I was paying {price}.",
    "rated 4.5/5, would order again. Paid {price} on {date}.",
    "Reference: {zero_grouped}, please quote it on the transfer.",
    "Customer ID {zero_grouped} - still no refund.",
)


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------

_PII: dict[str, Callable[[random.Random, str | None], str]] = {
    "email": lambda r, _: email(r),
    "phone": phone,
    "card": lambda r, _: card(r),
    "iban": lambda r, _: iban(r),
    "ip": lambda r, _: ip(r),
    "address": address,
}


def _fill(template: str, rng: random.Random) -> tuple[str, list[dict[str, Any]]]:
    """The template filled in, and the spans of the personal data in it."""
    parts: list[str] = []
    spans: list[dict[str, Any]] = []
    length = 0
    for literal, name, spec, _ in string.Formatter().parse(template):
        parts.append(literal)
        length += len(literal)
        if name is None:
            continue
        if name in _PII:
            value = _PII[name](rng, spec or None)
            spans.append(
                {"kind": name, "start": length, "end": length + len(value), "value": value}
            )
        else:
            value = _FILLERS[name](rng)
        parts.append(value)
        length += len(value)
    return "".join(parts), spans


def generate_labelled(size: int = LABELLED_SIZE, seed: int = SEED) -> list[dict[str, Any]]:
    """``size`` labelled texts; the kinds take turns as the main kind of a text."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for index in range(size):
        kind = KINDS[index % len(KINDS)]
        text, spans = _fill(rng.choice(LABELLED_TEMPLATES[kind]), rng)
        rows.append({"id": f"pii-{index + 1:04d}", "text": text, "spans": spans})
    return rows


def generate_control(size: int = CONTROL_SIZE, seed: int = SEED) -> list[dict[str, Any]]:
    """``size`` texts without personal data, full of numbers that are not personal data."""
    rng = random.Random(seed + 1)
    rows: list[dict[str, Any]] = []
    for index in range(size):
        text, spans = _fill(rng.choice(CONTROL_TEMPLATES), rng)
        assert not spans
        rows.append({"id": f"ctl-{index + 1:04d}", "text": text})
    return rows


def _jsonl(rows: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    args = parser.parse_args(argv)
    outputs = {
        LABELLED_PATH: _jsonl(generate_labelled()),
        CONTROL_PATH: _jsonl(generate_control()),
    }
    stale = [p for p, text in outputs.items() if not p.exists() or p.read_text("utf-8") != text]
    if args.check:
        for path in stale:
            print(f"stale: {path}", file=sys.stderr)
        return 1 if stale else 0
    for path, text in outputs.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
