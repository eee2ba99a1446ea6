"""Building blocks shared by every event of the contract: constrained types, the base model,
the envelope of upstream events and the validation policy.

Policies decided here (docs/sending-events.md explains them to upstream teams):

* Unknown fields are ignored, never rejected: upstreams evolve on their own schedule and a new
  field they add must not dead-letter their traffic. Ingest reports the ignored field paths in
  ``CanonicalEvent.unknown_fields`` (names only: values may hold personal data) so they can be
  counted and chased. Keeping the values in an ``extensions`` dict was rejected: undocumented
  data would flow downstream unredacted and quietly become a contract nobody reviewed.
* Free text has a hard cap (``DEFAULT_MAX_TEXT_CHARS``); longer text is rejected with reason
  ``text_too_long`` rather than truncated, because a truncated review or complaint can flip its
  meaning and the sender would never learn that it happened.
* ``occurred_at`` must carry a timezone and may be at most ``DEFAULT_MAX_FUTURE_SKEW`` ahead of
  the validating clock: event time drives scores and alerts, and one event dated next year
  would freeze a customer's "as of" time in the future.

Both limits live in a ``ValidationPolicy`` passed as pydantic validation context, so tests can
inject ``now`` and deployments can change the limits without touching the models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

# --- versioning -----------------------------------------------------------------------------------

CONTRACT_VERSION: Final = "1.2"
"""Version of the whole contract, carried by every event as ``schema_version``.

Within a major version only additive changes are allowed (see ``schemas.compatibility``): a new
optional field or a new enum value bumps the minor version, anything else the major version.
"""
CONTRACT_MAJOR: Final = int(CONTRACT_VERSION.split(".")[0])
SCHEMA_VERSION_PATTERN: Final = rf"^{CONTRACT_MAJOR}\.[0-9]{{1,4}}$"


def _check_schema_version(value: str) -> str:
    major, dot, minor = value.partition(".")
    if not (dot and major.isdigit() and minor.isdigit() and len(minor) <= 4):
        raise PydanticCustomError(
            "schema_version_format",
            "must look like '{expected}' (major.minor)",
            {"expected": CONTRACT_VERSION},
        )
    if int(major) != CONTRACT_MAJOR:
        # A newer minor version is fine (its extra fields are ignored); a different major
        # version means the meaning of fields may have changed, which we cannot guess.
        raise PydanticCustomError(
            "unsupported_schema_version",
            "version {version} is not supported: this Rapport accepts {major}.x",
            {"version": value, "major": CONTRACT_MAJOR},
        )
    return value


SchemaVersion = Annotated[
    str,
    AfterValidator(_check_schema_version),
    WithJsonSchema({"type": "string", "pattern": SCHEMA_VERSION_PATTERN}),
]

# --- identifiers and short strings ----------------------------------------------------------------

ID_PATTERN: Final = r"^[A-Za-z0-9._:@/-]+$"
ID_MAX_LENGTH: Final = 128
Id = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN
    ),
]
"""Event, customer, order... ids: 1-128 characters, safe in URLs, keys and log lines."""

SOURCE_MAX_LENGTH: Final = 64
SourceSystem = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=SOURCE_MAX_LENGTH, pattern=ID_PATTERN
    ),
]

LABEL_PATTERN: Final = r"^[a-z][a-z0-9_]*$"
Label = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=LABEL_PATTERN)]
"""A lower_snake_case name chosen from an open vocabulary (aspects, emotions, PII kinds)."""


class HumanText:
    """Marks a string type as written by a person: ingest normalises its Unicode and redacts
    personal data in every field of such a type, wherever it is nested."""


HUMAN_TEXT: Final = HumanText()

SHORT_TEXT_MAX_LENGTH: Final = 200
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=SHORT_TEXT_MAX_LENGTH), HUMAN_TEXT
]
"""A title, a plan name, a reason: never analysed for sentiment, so a small fixed cap."""

CURRENCY_PATTERN: Final = r"^[A-Z]{3}$"


def _upper_case_if_text(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


CurrencyCode = Annotated[
    str,
    BeforeValidator(_upper_case_if_text),
    StringConstraints(pattern=CURRENCY_PATTERN),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[A-Za-z]{3}$",
            "description": "ISO 4217 code such as EUR; lower case is accepted and upper-cased.",
        }
    ),
]


def _plain_decimal(value: Decimal) -> Decimal:
    # "1e2" is valid input, but we always write plain notation ("100") so that consumers can
    # validate our output with the same pattern producers use.
    return Decimal(format(value, "f"))


AMOUNT_MAX_DIGITS: Final = 18
AMOUNT_DECIMAL_PLACES: Final = 4  # ISO 4217 has currencies with up to four minor units.
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES),
    AfterValidator(_plain_decimal),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 99_999_999_999_999},
                {"type": "string", "pattern": r"^[0-9]{1,14}(\.[0-9]{1,4})?$"},
            ],
            "description": (
                "Non-negative amount in the currency's major unit, at most 4 decimal places; "
                'a JSON number or a decimal string ("19.99"). Rapport writes it as a string.'
            ),
        }
    ),
]

LANGUAGE_PATTERN: Final = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"


def _canonical_language_case(tag: str) -> str:
    """``EN-gb`` -> ``en-GB``: the case conventions of BCP 47, so equal tags compare equal."""
    first, *rest = tag.split("-")
    subtags = [first.lower()]
    for subtag in rest:
        if len(subtag) == 2 and subtag.isalpha():
            subtags.append(subtag.upper())  # region
        elif len(subtag) == 4 and subtag.isalpha():
            subtags.append(subtag.title())  # script
        else:
            subtags.append(subtag.lower())
    return "-".join(subtags)


LanguageTag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=35, pattern=LANGUAGE_PATTERN),
    AfterValidator(_canonical_language_case),
]


class Channel(StrEnum):
    """How the company and the customer were in touch."""

    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    MESSAGING = "messaging"
    SMS = "sms"
    PUSH = "push"
    IN_APP = "in_app"
    WEB_FORM = "web_form"
    SOCIAL = "social"
    LETTER = "letter"
    IN_PERSON = "in_person"
    OTHER = "other"


def _timestamp_text_only(value: object) -> object:
    # pydantic would read a bare number as Unix time; the published JSON Schema says an ISO 8601
    # string, and the two must accept the same events.
    if isinstance(value, int | float):
        raise PydanticCustomError(
            "datetime_type",
            "expected an ISO 8601 date-time string with a timezone, got a number",
        )
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_text_only)]
"""A point in time: an ISO 8601 string with a timezone offset or Z."""

# --- the validation policy ------------------------------------------------------------------------

DEFAULT_MAX_TEXT_CHARS: Final = 20_000
DEFAULT_MAX_FUTURE_SKEW: Final = timedelta(minutes=5)
_POLICY_CONTEXT_KEY: Final = "rapport.validation_policy"


@dataclass(frozen=True)
class ValidationPolicy:
    """The limits that depend on the deployment or the clock rather than on the contract.

    Pass it as validation context: ``Model.model_validate(data, context=policy.context())``.
    Without a context the defaults apply, with the wall clock as ``now``.
    """

    max_text_chars: int | None = DEFAULT_MAX_TEXT_CHARS
    """Longest accepted free text, in characters; None disables the check."""
    max_future_skew: timedelta | None = DEFAULT_MAX_FUTURE_SKEW
    """How far ``occurred_at`` may be ahead of ``now``; None disables the check."""
    now: datetime | None = None
    """The validating clock (timezone-aware); None reads the wall clock."""
    require_tenant: bool = False
    """Multi-tenant deployments: an event without ``tenant_id`` is rejected (``missing_tenant``)
    rather than filed under a tenant nobody named."""

    def __post_init__(self) -> None:
        if self.now is not None and self.now.tzinfo is None:
            raise ValueError("ValidationPolicy.now must be timezone-aware")

    def current_time(self) -> datetime:
        return self.now if self.now is not None else datetime.now(UTC)

    def context(self) -> dict[str, Any]:
        return {_POLICY_CONTEXT_KEY: self}


DEFAULT_POLICY: Final = ValidationPolicy()
ACCEPTED_EVENTS_POLICY: Final = ValidationPolicy(max_text_chars=None, max_future_skew=None)
"""For services reading events that ingest already accepted: the ingest-time limits are not
re-applied, so a deployment that raised the text cap at ingest, or a consumer whose clock lags,
does not reject events that are already in the pipeline."""


def policy_from(info: ValidationInfo) -> ValidationPolicy:
    context = info.context
    if isinstance(context, dict):
        policy = context.get(_POLICY_CONTEXT_KEY)
        if isinstance(policy, ValidationPolicy):
            return policy
    return DEFAULT_POLICY


def _enforce_text_cap(value: str, info: ValidationInfo) -> str:
    limit = policy_from(info).max_text_chars
    if limit is not None and len(value) > limit:
        raise PydanticCustomError(
            "text_too_long",
            "text is {length} characters long; the limit is {limit}",
            {"length": len(value), "limit": limit},
        )
    return value


FreeText = Annotated[
    str,
    StringConstraints(min_length=1),
    AfterValidator(_enforce_text_cap),
    HUMAN_TEXT,
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": DEFAULT_MAX_TEXT_CHARS,
            "description": (
                f"Free text written by a person, at most {DEFAULT_MAX_TEXT_CHARS} characters "
                "(the default cap; longer text is rejected with reason text_too_long)."
            ),
        }
    ),
]
"""Text a person wrote, the input of sentiment analysis; capped by the validation policy."""

# --- models ---------------------------------------------------------------------------------------


class ContractModel(BaseModel):
    """Base of every model of the contract: immutable, tolerant of unknown fields, and with the
    attribute docstrings as field descriptions so that the JSON Schemas and the docs say what
    the code says."""

    model_config = ConfigDict(extra="ignore", frozen=True, use_attribute_docstrings=True)


class EventKind(StrEnum):
    """Which raw topic an upstream event travels on."""

    INTERACTION = "interaction"
    FEEDBACK = "feedback"


def require_type_in_schema(schema: dict[str, Any]) -> None:
    # ``type`` has a default so that Python code can build events without repeating it, but
    # on the wire it is the discriminator and must be sent: say so in the JSON Schema.
    required = schema.setdefault("required", [])
    if "type" not in required:
        required.insert(0, "type")


class UpstreamEvent(ContractModel):
    """The envelope every upstream event shares; ``type`` selects the rest."""

    model_config = ConfigDict(json_schema_extra=require_type_in_schema)

    type: str
    """What happened; selects the fields below the envelope."""
    event_id: Id
    """Unique id of this event within its tenant, chosen by the sender. Rapport processes an
    event id at most once per tenant, so a re-sent event with the same id is a no-op: reuse the
    id when retrying."""
    schema_version: SchemaVersion = CONTRACT_VERSION
    """Contract version the sender wrote against (major.minor); any 1.x is accepted."""
    # Validated when absent too, so that a multi-tenant deployment's policy can require it.
    tenant_id: Id | None = Field(default=None, validate_default=True)
    """The tenant (business unit, country organisation) the customer belongs to, if several
    share one Rapport. Required by multi-tenant deployments (else reason `missing_tenant`),
    where a customer is (tenant, customer id) and an event is (tenant, event id)."""
    brand_id: Id | None = None
    """The brand the interaction happened under, if the tenant has several."""
    customer_id: Id
    """The customer this event is about, within its tenant; with the tenant in multi-tenant
    deployments, also the Kafka message key."""
    occurred_at: Timestamp
    """When it happened (event time), ISO 8601 with a timezone offset or Z."""
    source: SourceSystem
    """The upstream system that emitted the event, e.g. ``shop`` or ``zendesk``."""

    @field_validator("tenant_id")
    @classmethod
    def _tenant_if_required(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and policy_from(info).require_tenant:
            raise PydanticCustomError("missing_tenant", "required in this multi-tenant deployment")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _not_in_the_future(cls, value: datetime, info: ValidationInfo) -> datetime:
        policy = policy_from(info)
        if policy.max_future_skew is None:
            return value
        now = policy.current_time()
        if value - now > policy.max_future_skew:
            raise PydanticCustomError(
                "timestamp_in_future",
                "{value} is {ahead} ahead of the receiving clock ({now}); "
                "at most {skew} of clock skew is tolerated",
                {
                    "value": value.isoformat(),
                    "ahead": human_duration(value - now),
                    "now": now.isoformat(timespec="seconds"),
                    "skew": human_duration(policy.max_future_skew),
                },
            )
        return value


def human_duration(delta: timedelta) -> str:
    """``4 years 2 days``, ``5 minutes``, ``1 second``: the two largest units a person needs
    (not ``1456 days, 22:27:36``)."""
    seconds = int(delta.total_seconds())
    units = (("year", 365 * 86_400), ("day", 86_400), ("hour", 3600), ("minute", 60))
    parts: list[str] = []
    for name, size in (*units, ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
    return " ".join(parts[:2]) or "0 seconds"


class InteractionBase(UpstreamEvent):
    """Something that happened between the company and the customer (raw interactions topic)."""

    KIND: ClassVar[EventKind] = EventKind.INTERACTION


class FeedbackBase(UpstreamEvent):
    """Something the customer said (raw feedback topic)."""

    KIND: ClassVar[EventKind] = EventKind.FEEDBACK

    language: LanguageTag | None = None
    """Language of the text as a BCP 47 tag (``en``, ``de-CH``), if the sender knows it."""


__all__ = [
    "ACCEPTED_EVENTS_POLICY",
    "CONTRACT_VERSION",
    "DEFAULT_MAX_FUTURE_SKEW",
    "DEFAULT_MAX_TEXT_CHARS",
    "DEFAULT_POLICY",
    "Amount",
    "Channel",
    "ContractModel",
    "CurrencyCode",
    "EventKind",
    "FeedbackBase",
    "FreeText",
    "Id",
    "InteractionBase",
    "Label",
    "LanguageTag",
    "SchemaVersion",
    "ShortText",
    "SourceSystem",
    "UpstreamEvent",
    "ValidationPolicy",
]
