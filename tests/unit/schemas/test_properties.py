"""Property-based tests: events of every type, generated from the committed JSON Schemas, are
accepted and survive a JSON round trip; the same events with one field broken are rejected,
naming that field."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from schemas.base import ValidationPolicy
from schemas.export import DOWNSTREAM_MODELS, committed_schemas, upstream_models
from schemas.upstream import UPSTREAM_ADAPTER, type_name
from schemas.validation import ContractError, parse_raw_event
from tests.unit.schemas.jsonschema_support import committed_validator
from tests.unit.schemas.strategies import (
    LATEST_GENERATED_TIME,
    documents_of,
    mutations,
)

# A clock after every generated timestamp, so that none is "in the future".
POLICY = ValidationPolicy(now=LATEST_GENERATED_TIME.replace(year=2031, tzinfo=UTC))
assert POLICY.now is not None
assert POLICY.now > LATEST_GENERATED_TIME.replace(tzinfo=UTC)
UPSTREAM_NAMES = sorted(type_name(model) for model in upstream_models())
DOWNSTREAM_NAMES = sorted(DOWNSTREAM_MODELS)
# Enough examples to draw every type several times; the whole module stays within seconds.
PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
DOWNSTREAM_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=150)


COMMITTED = committed_schemas()


def _schema_documents(names: list[str]) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    return st.sampled_from(names).flatmap(
        lambda name: st.tuples(st.just(name), documents_of(name, COMMITTED[name]))
    )


def _dumped(model: BaseModel) -> str:
    return model.model_dump_json(by_alias=True)


@PROPERTY_SETTINGS
@given(_schema_documents(UPSTREAM_NAMES))
def test_generated_upstream_events_are_accepted_and_round_trip_through_json(
    named_document: tuple[str, dict[str, Any]],
) -> None:
    name, document = named_document
    assert committed_validator(name).is_valid(document), "the generator must follow the schema"

    parsed = parse_raw_event(json.dumps(document).encode(), policy=POLICY)

    assert parsed.event.type == name
    assert parsed.unknown_fields == ()
    serialized = _dumped(parsed.event)
    again = UPSTREAM_ADAPTER.validate_json(serialized, context=POLICY.context())
    assert again == parsed.event
    assert _dumped(again) == serialized  # serialization is stable, not only equivalent
    # What Rapport writes is valid under the schema it publishes (e.g. amounts as plain decimals).
    committed_validator(name).validate(json.loads(serialized))


@DOWNSTREAM_SETTINGS
@given(_schema_documents(DOWNSTREAM_NAMES))
def test_generated_downstream_events_are_accepted_and_round_trip_through_json(
    named_document: tuple[str, dict[str, Any]],
) -> None:
    name, document = named_document
    model = DOWNSTREAM_MODELS[name]

    event = model.model_validate(document, context=POLICY.context())

    serialized = _dumped(event)
    again = model.model_validate_json(serialized, context=POLICY.context())
    assert again == event
    assert _dumped(again) == serialized
    committed_validator(name).validate(json.loads(serialized))


@PROPERTY_SETTINGS
@given(data=st.data(), named_document=_schema_documents(UPSTREAM_NAMES))
def test_an_event_with_one_broken_field_is_rejected_naming_that_field(
    data: st.DataObject, named_document: tuple[str, dict[str, Any]]
) -> None:
    name, document = named_document
    mutation = data.draw(st.sampled_from(mutations(document, COMMITTED[name])))
    mutated = mutation.apply(document)

    with pytest.raises(ContractError) as rejected:
        parse_raw_event(json.dumps(mutated).encode(), policy=POLICY)

    paths = [problem.path for problem in rejected.value.problems]
    assert mutation.path in paths, f"{mutation.description}: {rejected.value.message}"
    assert rejected.value.reason == mutation.reason, mutation.description
    # The independent validator agrees that the mutated event breaks the published schema.
    assert not committed_validator(name).is_valid(mutated), mutation.description
