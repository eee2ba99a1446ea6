"""Hypothesis strategies built from the contract's JSON Schemas, not from the pydantic models.

Generating from the published schemas tests what upstream teams rely on: everything the JSON
Schema allows, the models accept. The generator covers the subset of JSON Schema pydantic emits
(``$ref``/``$defs``, ``anyOf``/``oneOf``, ``const``, ``enum``, ``if``/``then``/``else``,
bounds, patterns, ``date-time``, maps through ``additionalProperties``/``propertyNames``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from schemas.validation import RejectReason
from tests.unit.schemas.jsonschema_support import validator_of

Schema = Mapping[str, Any]
Json = Any

LATEST_GENERATED_TIME = datetime(2030, 12, 31, 23, 59)
"""Generated timestamps are before this; validate them with a clock after it."""
_OFFSETS = [
    UTC,
    timezone(timedelta(hours=1)),
    timezone(timedelta(hours=-5, minutes=-30)),
    timezone(timedelta(hours=14)),
]
_MAX_TEXT = 40
_MAX_ITEMS = 3


def resolve(schema: Schema, root: Schema) -> Schema:
    while "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def from_schema(schema: Schema, root: Schema) -> st.SearchStrategy[Json]:
    schema = resolve(schema, root)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        return st.one_of([from_schema(branch, root) for branch in branches])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum", -(10**6)), schema.get("maximum", 10**6))
    if kind == "number":
        # Hundredths: enough variety, and every value has an exact short decimal form.
        low = int(schema.get("minimum", -(10**6)) * 100)
        high = int(min(schema.get("maximum", 10**6), 10**9) * 100)
        return st.integers(low, high).map(lambda hundredths: hundredths / 100)
    if kind == "string":
        return _strings(schema)
    if kind == "array":
        return st.lists(
            from_schema(schema.get("items", {}), root),
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", _MAX_ITEMS), _MAX_ITEMS),
        )
    if kind == "object":
        return _objects(schema, root)
    raise NotImplementedError(f"no strategy for {schema}")


def _strings(schema: Schema) -> st.SearchStrategy[str]:
    if schema.get("format") == "date-time":
        return st.datetimes(
            min_value=datetime(2000, 1, 1),
            max_value=LATEST_GENERATED_TIME,
            timezones=st.sampled_from(_OFFSETS),
        ).map(datetime.isoformat)
    low = schema.get("minLength", 0)
    high = schema.get("maxLength", _MAX_TEXT)
    if "pattern" in schema:
        return st.from_regex(str(schema["pattern"]), fullmatch=True).filter(
            lambda text: low <= len(text) <= high
        )
    return st.text(min_size=low, max_size=min(high, _MAX_TEXT))


def _objects(schema: Schema, root: Schema) -> st.SearchStrategy[dict[str, Json]]:
    properties: Mapping[str, Schema] = schema.get("properties", {})
    if not properties and isinstance(schema.get("additionalProperties"), Mapping):
        keys = _strings(schema.get("propertyNames", {"type": "string"}))
        return st.dictionaries(
            keys, from_schema(schema["additionalProperties"], root), max_size=_MAX_ITEMS
        )
    required = set(schema.get("required", ()))
    documents = st.fixed_dictionaries(
        {name: from_schema(properties[name], root) for name in properties if name in required},
        optional={
            name: from_schema(properties[name], root) for name in properties if name not in required
        },
    )
    if "if" in schema:
        # Conditions between fields: keep the documents that satisfy them, as judged by the
        # independent validator, so the generator needs no logic of its own for them.
        conditional = validator_of(
            {key: schema[key] for key in ("if", "then", "else") if key in schema}
        )
        documents = documents.filter(conditional.is_valid)
    return documents


# --- cross-field rules a JSON Schema states only in words -------------------------------------


def _alert_resolved_exactly_when_resolved(document: dict[str, Json]) -> dict[str, Json]:
    fixed = {key: value for key, value in document.items() if key != "resolved_at"}
    if document.get("state") == "resolved":
        fixed["resolved_at"] = document["raised_at"]
    return fixed


FIXUPS: dict[str, Callable[[dict[str, Json]], dict[str, Json]]] = {
    "alert": _alert_resolved_exactly_when_resolved,
}


_BUILT: dict[str, st.SearchStrategy[dict[str, Json]]] = {}


def documents_of(name: str, schema: Schema) -> st.SearchStrategy[dict[str, Json]]:
    """Documents valid under ``schema`` (the schema named ``name``); built once per name, as
    building the strategy of a large schema costs more than drawing from it."""
    if name not in _BUILT:
        documents: st.SearchStrategy[dict[str, Json]] = from_schema(schema, schema)
        fixup = FIXUPS.get(name)
        _BUILT[name] = documents.map(fixup) if fixup is not None else documents
    return _BUILT[name]


# --- mutations ----------------------------------------------------------------------------------


_DELETE = object()
"""Stands for "remove the field" as a mutation's new value."""


@dataclass(frozen=True)
class Mutation:
    """One change that makes a valid document invalid, and what the rejection must say."""

    description: str
    location: tuple[str | int, ...]
    value: Json
    path: str
    """Field path the error must name, in the contract's notation (``messages[0].text``)."""
    reason: RejectReason

    def apply(self, document: dict[str, Json]) -> dict[str, Json]:
        """A mutated copy of ``document`` (copied only now: most mutations are never drawn)."""
        copy: dict[str, Json] = _copy(document)
        parent = _parent(copy, self.location)
        if self.value is _DELETE:
            del parent[self.location[-1]]
        else:
            parent[self.location[-1]] = self.value
        return copy


def mutations(document: dict[str, Json], schema: Schema) -> list[Mutation]:
    """Every single-field mutation of ``document`` this module knows how to make."""
    found: list[Mutation] = []
    for location, node, is_required in _fields(document, schema, schema, ()):
        path = _format(location)

        def add(description: str, value: Json, reason: RejectReason) -> None:
            found.append(Mutation(description, location, value, path, reason))  # noqa: B023

        if is_required:
            add(f"delete {path}", _DELETE, RejectReason.MISSING_FIELD)
        add(
            f"wrong JSON type at {path}",
            _wrong_value(node, schema),
            RejectReason.UNKNOWN_TYPE if location == ("type",) else RejectReason.SCHEMA_VIOLATION,
        )
        single = resolve(node, schema)
        if single.get("type") == "integer" and "maximum" in single:
            add(f"{path} above maximum", single["maximum"] + 1, RejectReason.SCHEMA_VIOLATION)
        if single.get("type") == "integer" and "minimum" in single:
            add(f"{path} below minimum", single["minimum"] - 1, RejectReason.SCHEMA_VIOLATION)
        if single.get("type") == "string" and "pattern" in single:
            add(f"{path} breaks its pattern", "not valid!", RejectReason.SCHEMA_VIOLATION)
    return found


Location = tuple[str | int, ...]


def _fields(
    document: Json, schema: Schema, root: Schema, location: Location
) -> Iterator[tuple[Location, Schema, bool]]:
    """(location, schema, required) of every field present in ``document``, nested included."""
    schema = resolve(schema, root)
    properties: Mapping[str, Schema] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    if not isinstance(document, dict):
        return
    for name, value in document.items():
        if name not in properties:
            continue
        child = (*location, name)
        node = properties[name]
        yield child, node, name in required
        resolved = resolve(node, root)
        if resolved.get("type") == "array" and isinstance(value, list):
            for index, item in enumerate(value):
                yield from _fields(item, resolved.get("items", {}), root, (*child, index))
        elif resolved.get("type") == "object":
            yield from _fields(value, resolved, root, child)


def _wrong_value(node: Schema, root: Schema) -> Json:
    """A value of a JSON type the field does not accept, chosen so that the error is reported
    at the field itself (an object given to a nested model would fail deeper down)."""

    def accepts_objects(schema: Schema) -> bool:
        schema = resolve(schema, root)
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches:
            return any(accepts_objects(branch) for branch in branches)
        return schema.get("type") == "object"

    return "not an object" if accepts_objects(node) else {"unexpected": "object"}


def _format(location: Location) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _copy(document: Json) -> Json:
    if isinstance(document, dict):
        return {key: _copy(value) for key, value in document.items()}
    if isinstance(document, list):
        return [_copy(item) for item in document]
    return document


def _parent(document: Json, location: Location) -> Json:
    for part in location[:-1]:
        document = document[part]
    return document
