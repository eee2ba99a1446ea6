"""The committed artifacts: up to date with the models, examples valid under an independent
validator, the AsyncAPI document complete, and the registries consistent."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas import export
from schemas.base import CONTRACT_VERSION, UpstreamEvent
from schemas.downstream import DeadLetterHeaders
from schemas.feedback import FEEDBACK_TYPES
from schemas.interactions import INTERACTION_TYPES
from schemas.samples import upstream_examples
from schemas.upstream import (
    FEEDBACK_TYPES_BY_NAME,
    INTERACTION_TYPES_BY_NAME,
    FeedbackEvent,
    InteractionEvent,
    kind_of_type,
    type_name,
)
from services.runtime import deadletter
from services.runtime.settings import Topics
from tests.unit.schemas.jsonschema_support import (
    check_schema,
    committed_validator,
    format_conforms,
)

EXAMPLE_FILES = sorted(export.EXAMPLES_DIR.glob("**/*.json"))


def test_committed_artifacts_match_the_models() -> None:
    stale = [str(path.relative_to(export.REPO_ROOT)) for path in export.stale_artifacts()]
    assert stale == [], "run `rapport schemas export` and commit the result"


def test_every_schema_is_a_valid_draft_2020_12_schema(committed: dict[str, Any]) -> None:
    for name, schema in committed.items():
        assert schema["$schema"] == export.JSON_SCHEMA_DIALECT, name
        check_schema(schema)


def test_there_is_an_example_for_every_schema_but_the_topic_unions(
    committed: dict[str, Any],
) -> None:
    examples = {path.name.removesuffix(".json") for path in EXAMPLE_FILES}
    assert examples == set(committed) - set(export.TOPIC_UNIONS)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.stem)
def test_examples_are_valid_under_the_committed_schemas(path: Path) -> None:
    example = json.loads(path.read_text(encoding="utf-8"))
    committed_validator(path.stem).validate(example)
    kind = kind_of_type(path.stem)
    if kind is not None:  # an upstream event: also valid as a message of its raw topic
        committed_validator(f"{kind}_event").validate(example)


def test_the_independent_validator_checks_formats() -> None:
    example = json.loads(export.example_path("purchase").read_text(encoding="utf-8"))
    for broken in ("2026-03-02T19:42:00", "yesterday"):
        assert not committed_validator("purchase").is_valid({**example, "occurred_at": broken})
    assert format_conforms("2026-03-02T19:42:00Z", "date-time")


def test_the_unions_list_exactly_the_registered_types() -> None:
    def members(union: object) -> set[type[UpstreamEvent]]:
        (inner, *_) = typing.get_args(union)
        return set(typing.get_args(inner))

    assert members(InteractionEvent) == set(INTERACTION_TYPES)
    assert members(FeedbackEvent) == set(FEEDBACK_TYPES)
    assert not set(INTERACTION_TYPES_BY_NAME) & set(FEEDBACK_TYPES_BY_NAME)


def test_no_field_is_named_like_an_event_type() -> None:
    # Error paths leave out union tags by name; a field with a type's name would vanish.
    tags = set(INTERACTION_TYPES_BY_NAME) | set(FEEDBACK_TYPES_BY_NAME)
    for model in export.upstream_models():
        assert not set(model.model_fields) & tags, model.__name__


def test_the_samples_cover_every_upstream_type_once() -> None:
    names = [type_name(type(event)) for event in upstream_examples()]
    assert sorted(names) == sorted(type_name(model) for model in export.upstream_models())


def test_the_dead_letter_headers_model_matches_the_runtime() -> None:
    runtime_headers = {
        value
        for name, value in vars(deadletter).items()
        if name.isupper()
        and isinstance(value, str)
        and value.startswith(deadletter.HEADER_PREFIX)
        and value != deadletter.HEADER_PREFIX
    }
    aliases = {field.alias for field in DeadLetterHeaders.model_fields.values()}
    assert aliases == runtime_headers


def test_dead_letter_headers_parse_from_kafka_headers() -> None:
    headers = [("trace-id", b"abc"), (deadletter.REASON, b"invalid_json")] + [
        (alias, b"1")
        for alias in (f.alias for f in DeadLetterHeaders.model_fields.values())
        if alias and alias != deadletter.REASON
    ]
    assert DeadLetterHeaders.from_kafka_headers(headers).reason == "invalid_json"


class TestAsyncApi:
    document: dict[str, Any] = yaml.safe_load(export.ASYNCAPI_PATH.read_text(encoding="utf-8"))

    def test_is_asyncapi_3(self) -> None:
        assert self.document["asyncapi"] == "3.0.0"
        assert self.document["info"]["version"] == CONTRACT_VERSION

    def test_has_a_channel_for_every_topic_at_its_default_address(self) -> None:
        addresses = {channel["address"] for channel in self.document["channels"].values()}
        public = {
            address
            for name, address in Topics().model_dump().items()
            if name not in export.INTERNAL_TOPICS
        }
        assert public <= addresses
        assert "rapport.scores.latest" in addresses

    def test_every_reference_resolves(self) -> None:
        def references(node: object) -> list[str]:
            if isinstance(node, dict):
                own = [node["$ref"]] if "$ref" in node else []
                return own + [ref for value in node.values() for ref in references(value)]
            if isinstance(node, list):
                return [ref for item in node for ref in references(item)]
            return []

        for reference in references(self.document):
            if reference.startswith("#/"):
                target: Any = self.document
                for part in reference[2:].split("/"):
                    target = target[part]
            else:
                assert (export.SCHEMAS_DIR / reference).is_file(), reference

    def test_messages_are_keyed_by_customer_and_dead_letters_have_headers(self) -> None:
        messages = self.document["components"]["messages"]
        for name, message in messages.items():
            assert "key" in message["bindings"]["kafka"], name
        assert messages["DeadLetter"]["headers"]["schema"]["$ref"].endswith(
            "dead_letter_headers.schema.json"
        )
