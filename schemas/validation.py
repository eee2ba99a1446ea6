"""Turning the bytes of a raw record into a validated upstream event, or into an error that says
what is wrong in terms the sender can act on. Pure: no Kafka, no clock unless the policy lacks
one.

Every rejection carries a stable ``RejectReason`` (operators filter and replay dead letters by
it) and one ``Problem`` per field, with the field's path (``messages[2].text``).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from schemas.base import (
    CURRENCY_PATTERN,
    DEFAULT_POLICY,
    ID_MAX_LENGTH,
    ID_PATTERN,
    LABEL_PATTERN,
    LANGUAGE_PATTERN,
    EventKind,
    ValidationPolicy,
)
from schemas.feedback import URL_PATTERN
from schemas.upstream import (
    ADAPTERS_BY_KIND,
    FEEDBACK_TYPES_BY_NAME,
    INTERACTION_TYPES_BY_NAME,
    TYPES_BY_KIND,
    FeedbackEvent,
    InteractionEvent,
    kind_of_type,
)

ROOT_PATH: Final = "<root>"
_ARTICLE: Final = {EventKind.INTERACTION: "an", EventKind.FEEDBACK: "a"}
_TOPIC_OF_KIND: Final = {
    EventKind.INTERACTION: "the raw interactions topic",
    EventKind.FEEDBACK: "the raw feedback topic",
}


class RejectReason(StrEnum):
    """Why an upstream record was rejected; the ``rapport.dlq.reason`` header of its dead letter.

    When several problems of different kinds occur together the reason is
    ``schema_violation``; the message lists every problem.
    """

    EMPTY_RECORD = "empty_record"
    INVALID_UTF8 = "invalid_utf8"
    INVALID_JSON = "invalid_json"
    MISSING_FIELD = "missing_field"
    UNKNOWN_TYPE = "unknown_type"
    TEXT_TOO_LONG = "text_too_long"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    MISSING_TENANT = "missing_tenant"
    SCHEMA_VIOLATION = "schema_violation"


REASON_DESCRIPTIONS: Final[dict[RejectReason, str]] = {
    RejectReason.EMPTY_RECORD: "The record has no value (a tombstone): raw topics carry events.",
    RejectReason.INVALID_UTF8: "The value is not UTF-8 text.",
    RejectReason.INVALID_JSON: "The value is not one JSON document (NaN and Infinity included).",
    RejectReason.MISSING_FIELD: "Required fields are absent, and nothing else is wrong.",
    RejectReason.UNKNOWN_TYPE: (
        "`type` names no event type of the topic; the message lists the known ones and says "
        "if the type belongs on the other raw topic."
    ),
    RejectReason.TEXT_TOO_LONG: "A free text is longer than the text cap.",
    RejectReason.TIMESTAMP_IN_FUTURE: (
        "`occurred_at` is ahead of the receiving clock by more than the allowed skew."
    ),
    RejectReason.UNSUPPORTED_SCHEMA_VERSION: (
        "`schema_version` has a major version this Rapport does not accept."
    ),
    RejectReason.MISSING_TENANT: (
        "Multi-tenant deployments only: `tenant_id` is absent, so the customer's tenant is unknown."
    ),
    RejectReason.SCHEMA_VIOLATION: (
        "Anything else the contract does not allow (wrong JSON type, value out of range, bad "
        "format, not an object), or several problems of different kinds at once."
    ),
}


_REASON_OF_ERROR_TYPE: Final = {
    "missing": RejectReason.MISSING_FIELD,
    "union_tag_not_found": RejectReason.MISSING_FIELD,
    "union_tag_invalid": RejectReason.UNKNOWN_TYPE,
    "text_too_long": RejectReason.TEXT_TOO_LONG,
    "timestamp_in_future": RejectReason.TIMESTAMP_IN_FUTURE,
    "unsupported_schema_version": RejectReason.UNSUPPORTED_SCHEMA_VERSION,
    "missing_tenant": RejectReason.MISSING_TENANT,
}

_PATTERN_EXPLANATIONS: Final = {
    ID_PATTERN: f"must be 1-{ID_MAX_LENGTH} characters of letters, digits and . _ : @ / -",
    CURRENCY_PATTERN: "must be a three-letter ISO 4217 currency code such as EUR",
    LANGUAGE_PATTERN: "must be a BCP 47 language tag such as en or de-CH",
    LABEL_PATTERN: "must be lower_snake_case (a-z, 0-9, _)",
    URL_PATTERN: "must be an http:// or https:// URL without spaces",
}

# Errors raised by the contract's own validators, whose messages need no rewording.
_OWN_ERROR_TYPES: Final = frozenset(
    {
        "text_too_long",
        "timestamp_in_future",
        "unsupported_schema_version",
        "missing_tenant",
        "schema_version_format",
        "resolved_at_while_raised",
    }
)

_ALL_TYPE_NAMES: Final = frozenset(INTERACTION_TYPES_BY_NAME) | frozenset(FEEDBACK_TYPES_BY_NAME)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an event."""

    path: str
    """Where, e.g. ``customer_id`` or ``messages[2].sent_at``; ``<root>`` for the whole event."""
    message: str
    """What is wrong, for a person."""
    reason: RejectReason

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def overall_reason(problems: Sequence[Problem]) -> RejectReason:
    reasons = {problem.reason for problem in problems}
    return reasons.pop() if len(reasons) == 1 else RejectReason.SCHEMA_VIOLATION


class ContractError(ValueError):
    """An upstream record that breaks the contract."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("a ContractError needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.reason: RejectReason = overall_reason(self.problems)
        self.message: str = "; ".join(str(problem) for problem in self.problems)
        super().__init__(self.message)

    @classmethod
    def single(cls, reason: RejectReason, message: str, path: str = ROOT_PATH) -> ContractError:
        return cls([Problem(path, message, reason)])


@dataclass(frozen=True)
class ParsedEvent:
    """A valid upstream event and what the validation noticed without rejecting it."""

    event: InteractionEvent | FeedbackEvent
    kind: EventKind
    unknown_fields: tuple[str, ...] = ()
    """Paths of fields the contract does not know; they are not in ``event``."""


# --- entry points ---------------------------------------------------------------------------------


def parse_raw_event(
    value: bytes, kind: EventKind | None = None, policy: ValidationPolicy | None = None
) -> ParsedEvent:
    """Decode and validate the value of a raw record.

    ``kind`` is the raw topic's kind; None picks it from the event's ``type`` (for tools that
    check files mixing both). Raises ``ContractError``.
    """
    try:
        text = value.decode("utf-8-sig")  # tolerate a byte order mark, a harmless sender quirk
    except UnicodeDecodeError as exc:
        raise ContractError.single(
            RejectReason.INVALID_UTF8,
            f"not UTF-8 text: byte 0x{value[exc.start]:02x} at position {exc.start}",
        ) from exc
    try:
        document = json.loads(text, parse_constant=_reject_non_finite)
    except (json.JSONDecodeError, _NonFiniteNumberError) as exc:
        raise ContractError.single(RejectReason.INVALID_JSON, f"not valid JSON: {exc}") from exc
    except RecursionError as exc:  # thousands of nested brackets: hostile or broken, never an event
        raise ContractError.single(
            RejectReason.INVALID_JSON, "not valid JSON: nested too deeply"
        ) from exc
    except ValueError as exc:
        # An integer of thousands of digits: CPython refuses to convert it (a guard against
        # quadratic-time parsing). No field of any event is such a number.
        raise ContractError.single(RejectReason.INVALID_JSON, f"not valid JSON: {exc}") from exc
    return validate_event(document, kind, policy)


def validate_event(
    document: object, kind: EventKind | None = None, policy: ValidationPolicy | None = None
) -> ParsedEvent:
    """Validate an already decoded JSON document as an upstream event. Raises ``ContractError``."""
    if not isinstance(document, dict):
        raise ContractError.single(
            RejectReason.SCHEMA_VIOLATION,
            f"an event must be a JSON object, not {_json_type_name(document)}",
        )
    kind = _check_type(document.get("type"), kind)
    adapter = ADAPTERS_BY_KIND[kind]
    try:
        event = adapter.validate_python(document, context=(policy or DEFAULT_POLICY).context())
    except ValidationError as exc:
        model = TYPES_BY_KIND[kind][str(document["type"])]
        raise ContractError(_with_typo_hints(problems_of(exc), model, document)) from exc
    return ParsedEvent(event, kind, unknown_field_paths(event, document))


def describe_validation_error(exc: ValidationError) -> str:
    """One ``path: message`` per problem, joined by "; ", as a person fixing the sender needs it."""
    return "; ".join(str(problem) for problem in problems_of(exc))


def problems_of(exc: ValidationError) -> tuple[Problem, ...]:
    errors = exc.errors(include_url=False)
    return tuple(_problem(error) for error in errors if not _is_echo_of_item_error(error, errors))


def _is_echo_of_item_error(error: ErrorDetails, errors: Sequence[ErrorDetails]) -> bool:
    """pydantic reports "should have at least 1 item ... not 0" for a list whose only item is
    invalid, as it counts valid items; the item's own error is the one to show."""
    if error["type"] != "too_short":
        return False
    loc = error["loc"]
    return any(len(other["loc"]) > len(loc) and other["loc"][: len(loc)] == loc for other in errors)


def unknown_field_paths(model: BaseModel, document: object) -> tuple[str, ...]:
    """Paths of the fields in ``document`` that ``model`` (validated from it) does not have."""
    return tuple(_unknown_paths(model, document, ""))


# --- helpers --------------------------------------------------------------------------------------


class _NonFiniteNumberError(ValueError):
    pass


def _reject_non_finite(constant: str) -> None:
    # Python's json module accepts NaN and Infinity, which are not JSON and which no other
    # consumer of the topic could read.
    raise _NonFiniteNumberError(f"{constant} is not a JSON number")


def _with_typo_hints(
    problems: Sequence[Problem], model: type[BaseModel], document: dict[str, Any]
) -> list[Problem]:
    """A missing top-level field next to an unknown one of a similar name is most likely a
    typo: say so, since the unknown one is otherwise silently ignored."""
    unknown = [key for key in document if key not in model.model_fields]
    hinted = []
    for problem in problems:
        close = []
        if problem.reason is RejectReason.MISSING_FIELD and problem.path in model.model_fields:
            close = difflib.get_close_matches(problem.path, unknown, n=1, cutoff=0.75)
        hint = f" (is {close[0]!r} a misspelling?)" if close else ""
        hinted.append(replace(problem, message=problem.message + hint))
    return hinted


def _json_type_name(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def _check_type(type_tag: object, kind: EventKind | None) -> EventKind:
    """The kind the event's ``type`` belongs to, or a ContractError that lists the known types."""
    if type_tag is None:
        examples = {EventKind.INTERACTION: "purchase", EventKind.FEEDBACK: "survey_nps"}
        example = examples[kind] if kind is not None else "purchase or survey_nps"
        raise ContractError.single(
            RejectReason.MISSING_FIELD,
            f"required field is missing: the event type, e.g. {example}",
            "type",
        )
    kind_of_tag = kind_of_type(type_tag) if isinstance(type_tag, str) else None
    if kind_of_tag is not None and (kind is None or kind_of_tag == kind):
        return kind_of_tag
    kinds = [kind] if kind is not None else list(EventKind)
    known = "; ".join(f"{k} types: {', '.join(sorted(TYPES_BY_KIND[k]))}" for k in kinds)
    message = f"unknown type {type_tag!r}. Known {known}"
    if kind_of_tag is not None and kind is not None:
        message = (
            f"{type_tag!r} is {_ARTICLE[kind_of_tag]} {kind_of_tag} event: send it to "
            f"{_TOPIC_OF_KIND[kind_of_tag]}, "
            f"not {_TOPIC_OF_KIND[kind]}. Known {known}"
        )
    raise ContractError.single(RejectReason.UNKNOWN_TYPE, message, "type")


def _problem(error: ErrorDetails) -> Problem:
    error_type = error["type"]
    reason = _REASON_OF_ERROR_TYPE.get(error_type, RejectReason.SCHEMA_VIOLATION)
    path = format_path(error["loc"])
    if error_type in ("union_tag_not_found", "union_tag_invalid"):
        path = format_path((*error["loc"], "type"))
    return Problem(path, _message(error), reason)


def format_path(loc: Sequence[int | str]) -> str:
    """``("review", "messages", 2, "text")`` -> ``messages[2].text``.

    The tag pydantic inserts for the branch of a discriminated union (``review``) is left out:
    the sender wrote ``messages``, not ``review.messages``.
    """
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _ALL_TYPE_NAMES:
            continue
        else:
            path = f"{path}.{part}" if path else part
    return path or ROOT_PATH


def _message(error: ErrorDetails) -> str:
    error_type = error["type"]
    context: dict[str, Any] = dict(error.get("ctx") or {})
    if error_type == "missing" and error["msg"] == "Field required":
        return "required field is missing"
    if error_type == "timezone_aware":
        return (
            "must include a timezone, e.g. 2026-11-01T10:00:00+01:00 or 2026-11-01T09:00:00Z"
            + _got(error)
        )
    if error_type == "string_pattern_mismatch":
        explanation = _PATTERN_EXPLANATIONS.get(str(context.get("pattern")))
        if explanation:
            return explanation + _got(error)
    if error_type == "union_tag_invalid":
        return f"unknown type {context.get('tag')!r}; known types: {context.get('expected_tags')}"
    if error_type == "union_tag_not_found":
        return "required field is missing: the event type"
    message = error["msg"]
    if error_type in _OWN_ERROR_TYPES or error_type == "missing":
        return message  # written for people already; the input may be huge
    return message[0].lower() + message[1:] + _got(error) if message else error_type


def _got(error: ErrorDetails) -> str:
    """The offending value, when it is short enough to help rather than flood the message."""
    value = error.get("input")
    if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 64):
        return f" (got {json.dumps(value)})"
    return ""


_FIELD_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}\Z")
WITHHELD_NAME: Final = "<withheld>"
"""Stands for an unknown field whose name does not look like a field name (it may be personal
data): ``unknown_fields`` then lists ``<withheld>`` or ``parent.<withheld>``."""


def _unknown_paths(model: object, document: object, path: str) -> Iterator[str]:
    if isinstance(model, BaseModel) and isinstance(document, dict):
        name_by_key = {
            (field.alias or name): name for name, field in type(model).model_fields.items()
        }
        for key, child in document.items():
            child_path = f"{path}.{key}" if path else str(key)
            name = name_by_key.get(key)
            if name is None:
                # The names travel to every topic: one that does not look like a field name
                # (an e-mail address, a phone number used as a key) is reported, not repeated.
                withheld = f"{path}.{WITHHELD_NAME}" if path else WITHHELD_NAME
                yield child_path if _FIELD_NAME.match(str(key)) else withheld
            else:
                yield from _unknown_paths(getattr(model, name), child, child_path)
    elif isinstance(model, list | tuple) and isinstance(document, list):
        for index, (item, child) in enumerate(zip(model, document, strict=False)):
            yield from _unknown_paths(item, child, f"{path}[{index}]")
