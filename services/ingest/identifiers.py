"""Identifiers free of personal data: ids travel to every topic and table, texts are redacted.

Free texts are redacted before anything leaves ingest, but identifiers cannot be redacted in
place: a customer id or an order id is a join key, copied into every topic, every scoring table
and every downstream system. An upstream system that uses an e-mail address as its customer id,
or a card number as an order id, would spread that personal data everywhere Rapport writes. So
ingest looks at every identifier field (by the contract's naming rule, the fields whose name ends
in ``_id``) with the detectors it already runs on texts, and applies the deployment's policy
(``RAPPORT_INGEST__IDENTIFIER_PERSONAL_DATA``):

* ``reject`` (default): the event is a dead letter, reason ``personal_data_in_identifier``; the
  message names the field and the kind of data, never the value;
* ``pseudonymise``: the value is replaced by its keyed hash (``RAPPORT_INGEST__PSEUDONYMIZE_KEY``),
  stable across services and runs, so joins on it still work;
* ``allow``: ids are forwarded as they are (a deployment whose ids are known to be safe, or that
  accepts the risk).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from schemas.upstream import AnyUpstreamEvent
from services.ingest.pii import ALL, PiiKind, detect, pseudonymize
from services.runtime.exceptions import PermanentError

PERSONAL_DATA_IN_IDENTIFIER: Final = "personal_data_in_identifier"

_SEPARATORS: Final = re.compile(r"[-_/:]")

# The shortest digit run any detector accepts as a phone number, card or IBAN.
_MIN_DIGITS: Final = 7


class IdentifierPolicy(StrEnum):
    REJECT = "reject"
    PSEUDONYMISE = "pseudonymise"
    ALLOW = "allow"


_ID_FIELDS: dict[type, tuple[str, ...]] = {}


def identifier_fields(event_type: type[AnyUpstreamEvent]) -> tuple[str, ...]:
    """The event type's identifier fields: the contract names every id ``…_id``."""
    fields = _ID_FIELDS.get(event_type)
    if fields is None:
        fields = tuple(name for name in event_type.model_fields if name.endswith("_id"))
        _ID_FIELDS[event_type] = fields
    return fields


def _may_hold_personal_data(value: str) -> bool:
    # Ids have no spaces (the contract's pattern), so only an e-mail address (an "@"), an IPv4
    # address (dots) or a run of digits (phone, card, IBAN) can hide in one. Checked first:
    # nearly every id passes it, and the detectors cost far more than this.
    if "@" in value or value.count(".") >= 3:  # an e-mail or an IPv4 address
        return True
    return sum(character.isdigit() for character in value) >= _MIN_DIGITS


def personal_data_in_identifiers(
    event: AnyUpstreamEvent, kinds: frozenset[PiiKind] = ALL, skip: tuple[str, ...] = ()
) -> dict[str, list[PiiKind]]:
    """Identifier fields holding personal data of ``kinds``, with what was found in each."""
    found: dict[str, list[PiiKind]] = {}
    for name in identifier_fields(type(event)):
        if name in skip:
            continue
        value = getattr(event, name)
        if not isinstance(value, str) or not _may_hold_personal_data(value):
            continue
        # The separators ids use are spaces to the detectors, which look for words: a card
        # number inside "ord-4111-1111-1111-1111" is found. Dots stay (e-mail, IP addresses).
        spans = detect(_SEPARATORS.sub(" ", value))
        hits = sorted({span.kind for span in spans if span.kind in kinds})
        if value.isdigit():
            hits = _plain_number_hits(value, hits)
        if hits:
            found[name] = hits
    return found


def _plain_number_hits(value: str, hits: list[PiiKind]) -> list[PiiKind]:
    """A bare number is what most numeric ids look like: not a phone number (any 7 to 15
    digits would be one), and a card only at the usual card lengths (15 or 16 digits, still
    issuer range and Luhn-checked): a 13-digit order number passes Luhn one time in ten and must
    not be dead-lettered for it."""
    card_length = len(value) in (15, 16)
    return [k for k in hits if k is not PiiKind.PHONE and (k is not PiiKind.CARD or card_length)]


def apply_identifier_policy(
    event: AnyUpstreamEvent,
    policy: IdentifierPolicy,
    kinds: frozenset[PiiKind] = ALL,
    key: bytes | None = None,
    skip: tuple[str, ...] = (),
) -> tuple[AnyUpstreamEvent, tuple[str, ...]]:
    """The event as the policy lets it through, and the fields it pseudonymised.

    Raises ``PermanentError`` (``personal_data_in_identifier``) under ``reject``.
    """
    if policy is IdentifierPolicy.ALLOW:
        return event, ()
    found = personal_data_in_identifiers(event, kinds, skip)
    if not found:
        return event, ()
    if policy is IdentifierPolicy.REJECT:
        what = "; ".join(f"{name} holds {', '.join(kinds_)}" for name, kinds_ in found.items())
        raise PermanentError(
            PERSONAL_DATA_IN_IDENTIFIER,
            f"{what}: identifiers are copied to every topic and table, so they must not carry "
            "personal data (RAPPORT_INGEST__IDENTIFIER_PERSONAL_DATA=pseudonymise replaces them "
            "by a keyed hash)",
        )
    if key is None:  # settings refuse this combination at start-up; a guard for direct callers
        raise ValueError("pseudonymising identifiers needs RAPPORT_INGEST__PSEUDONYMIZE_KEY")
    update = {name: pseudonymize(getattr(event, name), key) for name in found}
    return event.model_copy(update=update), tuple(found)
