"""Generating the contract's artifacts from the models, and checking the committed ones.

Artifacts (all committed; ``rapport schemas export`` rewrites them, a test fails when they drift):

* ``schemas/json/<name>.schema.json``: one JSON Schema (draft 2020-12) per event type, per raw
  topic (``interaction_event``, ``feedback_event``) and per downstream event;
* ``schemas/examples/{upstream,downstream,erasure}/<name>.json``: one realistic example of each
  (``schemas.samples``); ``rapport send schemas/examples/upstream`` sends the upstream ones, the
  erasure request is apart so that it is sent on purpose only;
* ``schemas/asyncapi.yaml``: an AsyncAPI 3.0 document of every topic;
* the field tables of ``docs/sending-events.md`` and ``docs/subscribing-to-scores.md``, between
  ``<!-- BEGIN GENERATED name -->`` and ``<!-- END GENERATED name -->`` markers.

Writing refuses a non-additive schema change within a major version (``BreakingChangeError``),
so regenerating cannot quietly launder a breaking change into the committed schemas.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, TypeAdapter

from schemas.base import (
    CONTRACT_VERSION,
    CURRENCY_PATTERN,
    DEFAULT_MAX_FUTURE_SKEW,
    DEFAULT_MAX_TEXT_CHARS,
    ID_MAX_LENGTH,
    ID_PATTERN,
    LABEL_PATTERN,
    LANGUAGE_PATTERN,
    SCHEMA_VERSION_PATTERN,
    ContractModel,
    FeedbackBase,
    UpstreamEvent,
)
from schemas.compatibility import VERSION_KEY, contract_breaks
from schemas.downstream import (
    Alert,
    AnnotatedEvent,
    CanonicalEvent,
    DeadLetterHeaders,
    ErasureCompleted,
    ScoreUpdate,
)
from schemas.feedback import FEEDBACK_TYPES, URL_PATTERN
from schemas.interactions import INTERACTION_TYPES
from schemas.samples import downstream_examples, upstream_examples
from schemas.topics import Topics
from schemas.upstream import FEEDBACK_ADAPTER, INTERACTION_ADAPTER, type_name
from schemas.validation import REASON_DESCRIPTIONS

SCHEMAS_DIR: Final = Path(__file__).resolve().parent
REPO_ROOT: Final = SCHEMAS_DIR.parent
JSON_DIR: Final = SCHEMAS_DIR / "json"
EXAMPLES_DIR: Final = SCHEMAS_DIR / "examples"
ASYNCAPI_PATH: Final = SCHEMAS_DIR / "asyncapi.yaml"
SENDING_DOC: Final = REPO_ROOT / "docs" / "sending-events.md"
SUBSCRIBING_DOC: Final = REPO_ROOT / "docs" / "subscribing-to-scores.md"

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_SUFFIX: Final = ".schema.json"

DOWNSTREAM_MODELS: Final[dict[str, type[ContractModel]]] = {
    "canonical_event": CanonicalEvent,
    "annotated_event": AnnotatedEvent,
    "score_update": ScoreUpdate,
    "alert": Alert,
    "erasure_completed": ErasureCompleted,
    "dead_letter_headers": DeadLetterHeaders,
}
TOPIC_UNIONS: Final[dict[str, tuple[TypeAdapter[Any], str, str]]] = {
    "interaction_event": (
        INTERACTION_ADAPTER,
        "InteractionEvent",
        "Any event of the raw interactions topic; `type` selects the event type.",
    ),
    "feedback_event": (
        FEEDBACK_ADAPTER,
        "FeedbackEvent",
        "Any event of the raw feedback topic; `type` selects the event type.",
    ),
}

# Topics the design has but ``Settings.Topics`` does not have yet. Once a field of that name is
# added there, its default wins and the channel loses its "planned" mark.
PLANNED_TOPICS: Final = {
    "scores_latest": "rapport.scores.latest",
    "alerts": "rapport.alerts",
    "erasure_completed": "rapport.erasure-completed",
}


class BreakingChangeError(Exception):
    """The fresh schemas are not an additive change of the committed ones."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "non-additive schema changes within major version "
            f"{CONTRACT_VERSION.split('.')[0]}:\n  " + "\n  ".join(problems)
        )
        self.problems = problems


# --- JSON Schemas ---------------------------------------------------------------------------------


def upstream_models() -> tuple[type[UpstreamEvent], ...]:
    return (*INTERACTION_TYPES, *FEEDBACK_TYPES)


def json_schemas() -> dict[str, dict[str, Any]]:
    """Every schema of the contract, by name (the file name without ``.schema.json``)."""
    schemas: dict[str, dict[str, Any]] = {}
    for model in upstream_models():
        schemas[type_name(model)] = _finish(model.model_json_schema())
    for name, (adapter, title, description) in TOPIC_UNIONS.items():
        schemas[name] = _finish(adapter.json_schema(), title=title, description=description)
    for name, downstream_model in DOWNSTREAM_MODELS.items():
        schemas[name] = _finish(downstream_model.model_json_schema(by_alias=True))
    return schemas


def _finish(
    schema: dict[str, Any], title: str | None = None, description: str | None = None
) -> dict[str, Any]:
    body = _tidy(schema)
    header: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": title or body.pop("title", None),
        "description": description or body.pop("description", None),
        VERSION_KEY: CONTRACT_VERSION,
    }
    body.pop("title", None)
    body.pop("description", None)
    return {**{k: v for k, v in header.items() if v is not None}, **body}


def _tidy(node: Any) -> Any:
    """Descriptions come from docstrings: no line breaks from their wrapping, and Markdown's
    single backticks instead of reStructuredText's double ones."""
    if isinstance(node, dict):
        return {
            key: _tidy_text(value)
            if key == "description" and isinstance(value, str)
            else _tidy(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    return node


def _tidy_text(text: str) -> str:
    return " ".join(text.split()).replace("``", "`")


def committed_schemas(directory: Path = JSON_DIR) -> dict[str, dict[str, Any]]:
    return {
        path.name.removesuffix(SCHEMA_SUFFIX): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob(f"*{SCHEMA_SUFFIX}"))
    }


# --- examples -------------------------------------------------------------------------------------


def example_path(name: str) -> Path:
    """Where the example of schema ``name`` lives: upstream events (what ``rapport send`` sends),
    the erasure request apart, and what Rapport publishes."""
    if name == "erasure_request":
        return EXAMPLES_DIR / "erasure" / f"{name}.json"
    folder = "downstream" if name in downstream_examples() else "upstream"
    return EXAMPLES_DIR / folder / f"{name}.json"


def examples() -> dict[str, dict[str, Any]]:
    """One example per schema except the topic unions, by schema name."""
    documents = {type_name(type(event)): _as_json(event) for event in upstream_examples()}
    documents.update({name: _as_json(model) for name, model in downstream_examples().items()})
    return documents


def _as_json(model: BaseModel) -> dict[str, Any]:
    # Absent optional fields are left out, as a real sender would.
    document: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return document


# --- AsyncAPI -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Channel:
    channel_id: str
    topics_field: str
    summary: str
    message_ids: tuple[str, ...]
    action: str  # what Rapport does on the topic: "receive" (from upstream) or "send"
    compacted: bool = False


_CHANNELS: Final = (
    _Channel(
        "rawInteractions",
        "raw_interactions",
        "Upstream systems send what happened between the company and a customer.",
        ("InteractionEvent",),
        "receive",
    ),
    _Channel(
        "rawFeedback",
        "raw_feedback",
        "Upstream systems send what customers said.",
        ("FeedbackEvent",),
        "receive",
    ),
    _Channel(
        "canonical",
        "canonical",
        "Ingest publishes every accepted upstream event, validated and normalised.",
        ("CanonicalEvent",),
        "send",
    ),
    _Channel(
        "annotated",
        "annotated",
        "The sentiment service publishes canonical events with sentiment, emotions and aspects.",
        ("AnnotatedEvent",),
        "send",
    ),
    _Channel(
        "scoreUpdates",
        "score_updates",
        "Scoring publishes a customer's scores after every event (a change log).",
        ("ScoreUpdate",),
        "send",
    ),
    _Channel(
        "scoresLatest",
        "scores_latest",
        "The latest score update per customer, log-compacted; a tombstone (null value) per "
        "erased customer.",
        ("ScoreUpdate", "ScoreTombstone"),
        "send",
        compacted=True,
    ),
    _Channel(
        "alerts",
        "alerts",
        "Alerts about customers, raised and resolved.",
        ("Alert",),
        "send",
    ),
    _Channel(
        "erasureCompleted",
        "erasure_completed",
        "One event per completed customer erasure.",
        ("ErasureCompleted",),
        "send",
    ),
    _Channel(
        "deadLetter",
        "dead_letter",
        "Records a service could not process: original key and value, plus headers saying why.",
        ("DeadLetter",),
        "send",
    ),
)

# Services' own state (changelogs): nobody outside Rapport reads or writes them.
INTERNAL_TOPICS: Final = frozenset({"ingest_dedup", "privacy_keys", "scoring_ticks"})

_KEY_SCHEMA: Final = {
    "type": "string",
    "description": "The customer_id, UTF-8: all of a customer's events share a partition and "
    "stay in order.",
}
# Issue 16: topics keyed by the customer in schemas.identity's format (every one but the dead
# letters, which keep the original key).
TENANT_KEYED_TOPICS: Final = frozenset(
    {
        "raw_interactions",
        "raw_feedback",
        "canonical",
        "annotated",
        "score_updates",
        "scores_latest",
        "alerts",
        "erasure_completed",
    }
)
_CUSTOMER_KEY_SCHEMA: Final = {
    "type": "string",
    "description": "The customer, UTF-8 (schemas/identity.py): the customer_id in single-tenant "
    "deployments (the default); `<tenant_id>|<customer_id>` in multi-tenant deployments "
    "(RAPPORT_TENANCY__MODE=multi). `|` never occurs in an id. All of a (tenant, customer)'s "
    "events share a partition and stay in order.",
    "examples": ["cust-48213", "acme-de|cust-48213"],
}
_TENANT_KEYED_MESSAGES: Final = frozenset(
    {
        "InteractionEvent",
        "FeedbackEvent",
        "CanonicalEvent",
        "AnnotatedEvent",
        "ScoreUpdate",
        "ScoreTombstone",
        "Alert",
        "ErasureCompleted",
    }
)


def topic_addresses() -> dict[str, tuple[str, bool]]:
    """Topic address per ``Topics`` field name, and whether it is only planned so far."""
    defaults = Topics().model_dump()
    addresses = {name: (address, False) for name, address in defaults.items()}
    for name, address in PLANNED_TOPICS.items():
        addresses.setdefault(name, (address, True))
    return addresses


def asyncapi_document() -> dict[str, Any]:
    addresses = topic_addresses()
    described = {c.topics_field for c in _CHANNELS} | INTERNAL_TOPICS
    missing = {field for field in addresses if field not in described}
    if missing:
        raise ValueError(f"topics without an AsyncAPI channel description: {sorted(missing)}")
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for channel in _CHANNELS:
        address, planned = addresses[channel.topics_field]
        description = channel.summary + (
            " Planned: not yet created by Rapport (not in Settings.Topics)." if planned else ""
        )
        entry: dict[str, Any] = {
            "address": address,
            "description": description,
            "messages": {
                _lower_first(message): {"$ref": f"#/components/messages/{message}"}
                for message in channel.message_ids
            },
        }
        if channel.compacted:
            entry["bindings"] = {
                "kafka": {
                    "topicConfiguration": {"cleanup.policy": ["compact"]},
                    "bindingVersion": "0.5.0",
                }
            }
        if planned:
            entry["x-rapport-planned"] = True
        channels[channel.channel_id] = entry
        operations[f"{channel.action}{channel.channel_id[0].upper()}{channel.channel_id[1:]}"] = {
            "action": channel.action,
            "channel": {"$ref": f"#/channels/{channel.channel_id}"},
            "messages": [
                {"$ref": f"#/channels/{channel.channel_id}/messages/{_lower_first(message)}"}
                for message in channel.message_ids
            ],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Rapport events",
            "version": CONTRACT_VERSION,
            "description": (
                "Every Kafka topic of Rapport: what upstream systems send, what Rapport "
                "publishes. Generated from the pydantic models in schemas/ by `rapport schemas "
                "export`; see docs/sending-events.md and docs/subscribing-to-scores.md."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "`rapport kafka start` prints the actual address.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": _asyncapi_messages()},
    }


def _lower_first(name: str) -> str:
    return name[0].lower() + name[1:]


def _payload(schema_name: str) -> dict[str, Any]:
    return {
        "schemaFormat": "application/schema+json;version=draft-2020-12",
        "schema": {"$ref": f"./json/{schema_name}{SCHEMA_SUFFIX}"},
    }


def _asyncapi_messages() -> dict[str, Any]:
    def key_binding(title: str = "") -> dict[str, Any]:
        # A fresh dict each time: YAML would write a shared one as an anchor and aliases.
        key = _CUSTOMER_KEY_SCHEMA if title in _TENANT_KEYED_MESSAGES else _KEY_SCHEMA
        return {"kafka": {"key": copy.deepcopy(dict(key)), "bindingVersion": "0.5.0"}}

    def message(schema_name: str, title: str, summary: str) -> dict[str, Any]:
        return {
            "name": title,
            "title": title,
            "summary": summary,
            "contentType": "application/json",
            "payload": _payload(schema_name),
            "bindings": key_binding(title),
        }

    return {
        "InteractionEvent": message(
            "interaction_event", "InteractionEvent", "Something that happened to a customer."
        ),
        "FeedbackEvent": message("feedback_event", "FeedbackEvent", "Something a customer said."),
        "CanonicalEvent": message(
            "canonical_event", "CanonicalEvent", "An accepted upstream event, normalised."
        ),
        "AnnotatedEvent": message(
            "annotated_event", "AnnotatedEvent", "A canonical event with sentiment annotations."
        ),
        "ScoreUpdate": message(
            "score_update", "ScoreUpdate", "A customer's trust and loyalty after an event."
        ),
        "ScoreTombstone": {
            "name": "ScoreTombstone",
            "title": "ScoreTombstone",
            "summary": "Null value: the customer was erased; compaction removes their scores.",
            "payload": {"type": "null"},
            "bindings": key_binding("ScoreTombstone"),
        },
        "Alert": message("alert", "Alert", "An alert about a customer, raised or resolved."),
        "ErasureCompleted": message(
            "erasure_completed", "ErasureCompleted", "Rapport erased a customer's data."
        ),
        "DeadLetter": {
            "name": "DeadLetter",
            "title": "DeadLetter",
            "summary": "A record a service gave up on: the original key and value, byte for "
            "byte, with headers saying where it came from and why.",
            "contentType": "application/octet-stream",
            "headers": _payload("dead_letter_headers"),
            "payload": {"description": "The original record's value, unchanged (any bytes)."},
            "bindings": {
                "kafka": {
                    "key": {"description": "The original record's key, unchanged."},
                    "bindingVersion": "0.5.0",
                }
            },
        },
    }


# --- docs -----------------------------------------------------------------------------------------

_MARKER: Final = re.compile(
    r"(<!-- BEGIN GENERATED (?P<name>[a-z0-9-]+)[^>]*-->\n)(?P<body>.*?)"
    r"(<!-- END GENERATED (?P=name) -->)",
    re.DOTALL,
)
_PATTERN_NAMES: Final = {
    ID_PATTERN: "id",
    CURRENCY_PATTERN: "currency code",
    r"^[A-Za-z]{3}$": "currency code (ISO 4217)",
    LANGUAGE_PATTERN: "language tag (BCP 47)",
    LABEL_PATTERN: "label (lower_snake_case)",
    URL_PATTERN: "http(s) URL",
    SCHEMA_VERSION_PATTERN: "version (major.minor)",
    r"^[0-9]+$": "decimal digits",
}


def doc_sections() -> dict[Path, dict[str, str]]:
    """The generated sections of each doc, by marker name."""
    schemas = json_schemas()
    example_documents = examples()
    envelope_fields = set(UpstreamEvent.model_fields) | set(FeedbackBase.model_fields)

    def type_sections(models: Iterable[type[UpstreamEvent]]) -> str:
        blocks = []
        for model in models:
            name = type_name(model)
            blocks.append(
                _type_section(
                    name,
                    schemas[name],
                    example_documents[name],
                    hide=envelope_fields,
                    heading="####",
                )
            )
        return "\n".join(blocks)

    def model_section(name: str, with_example: bool = True) -> str:
        return _fields_table(schemas[name], schemas[name]) + (
            "\n" + _json_block(example_documents[name]) if with_example else ""
        )

    envelope_schema = _tidy(UpstreamEvent.model_json_schema())
    language = _tidy(FeedbackBase.model_json_schema()["properties"]["language"])
    language["description"] = "Feedback events only. " + language["description"]
    envelope_schema["properties"]["language"] = language
    conversation_schema = schemas["support_ticket"]["$defs"]["ConversationMessage"]
    return {
        SENDING_DOC: {
            "raw-topics": _topics_table(["raw_interactions", "raw_feedback"]),
            "envelope": _fields_table(envelope_schema, envelope_schema),
            "limits": _limits(),
            "interaction-types": type_sections(INTERACTION_TYPES),
            "feedback-types": type_sections(FEEDBACK_TYPES),
            "conversation-message": _fields_table(conversation_schema, schemas["support_ticket"]),
            "reason-codes": _reason_codes_table(),
        },
        SUBSCRIBING_DOC: {
            "downstream-topics": _topics_table(
                [
                    "score_updates",
                    "scores_latest",
                    "alerts",
                    "erasure_completed",
                    "dead_letter",
                    "canonical",
                    "annotated",
                ]
            ),
            "score-update": model_section("score_update"),
            "score-driver": _fields_table(
                schemas["score_update"]["$defs"]["ScoreDriver"], schemas["score_update"]
            ),
            "score-deltas": _fields_table(
                schemas["score_update"]["$defs"]["ScoreDeltas"], schemas["score_update"]
            ),
            "alert": model_section("alert"),
            "erasure-completed": model_section("erasure_completed"),
            "dead-letter-headers": model_section("dead_letter_headers"),
            "canonical-event": model_section("canonical_event", with_example=False),
            "annotated-event": model_section("annotated_event", with_example=False),
        },
    }


def fill_sections(text: str, sections: Mapping[str, str], document: str = "document") -> str:
    """``text`` with the body of every generated section replaced; every section must have
    its markers in the text, and every marker its section."""
    found: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in sections:
            raise ValueError(f"{document}: no generator for the section {name!r}")
        found.add(name)
        return f"{match[1]}{sections[name].rstrip()}\n{match[4]}"

    result = _MARKER.sub(replace, text)
    missing = set(sections) - found
    if missing:
        raise ValueError(
            f"{document}: add markers for {sorted(missing)}: "
            "<!-- BEGIN GENERATED name --> ... <!-- END GENERATED name -->"
        )
    return result


def _topics_table(fields: list[str]) -> str:
    addresses = topic_addresses()
    summaries = {channel.topics_field: channel for channel in _CHANNELS}
    rows = ["| Topic (default name) | Contents | Key |", "| --- | --- | --- |"]
    for name in fields:
        address, planned = addresses[name]
        channel = summaries[name]
        note = " *(planned)*" if planned else ""
        if name == "dead_letter":
            key = "original key"
        elif name in TENANT_KEYED_TOPICS:
            key = _cell("`customer_id`, multi-tenant: `tenant_id|customer_id`")
        else:
            key = "`customer_id`"
        rows.append(f"| `{address}`{note} | {_cell(channel.summary)} | {key} |")
    return "\n".join(rows)


def _limits() -> str:
    skew_minutes = int(DEFAULT_MAX_FUTURE_SKEW.total_seconds() // 60)
    return "\n".join(
        [
            f"- **Ids** (`event_id`, `customer_id`, every `*_id`): 1-{ID_MAX_LENGTH} characters "
            "of letters, digits and `. _ : @ / -`; surrounding spaces are trimmed.",
            f"- **Free text** (`text`, message texts): at most {DEFAULT_MAX_TEXT_CHARS:,} "
            "characters by default (deployments may change the cap); longer is rejected with "
            "`text_too_long`. Short texts (titles, reasons, names) at most 200 characters.",
            "- **Timestamps**: ISO 8601 with a timezone (`+01:00` or `Z`); a timestamp without "
            "one is rejected.",
            f"- **`occurred_at`** at most {skew_minutes} minutes ahead of Rapport's clock "
            "(clock skew); later is rejected with `timestamp_in_future`. Events from the past "
            "are always accepted: replays and backfills are normal.",
            "- **Amounts**: non-negative, at most 4 decimal places, as a JSON number or a "
            'decimal string (`"19.99"`); every amount needs a `currency`.',
            "- **Currencies**: ISO 4217 three-letter codes; lower case is accepted and "
            "upper-cased.",
            "- **Language**: a BCP 47 tag (`en`, `de-CH`); its case is normalised (`en-gb` -> "
            "`en-GB`).",
            f"- **`schema_version`**: `major.minor`; defaults to `{CONTRACT_VERSION}`; any "
            f"`{CONTRACT_VERSION.split('.')[0]}.x` is accepted.",
        ]
    )


def _reason_codes_table() -> str:
    rows = ["| Reason | Meaning |", "| --- | --- |"]
    rows += [f"| `{reason}` | {_cell(text)} |" for reason, text in REASON_DESCRIPTIONS.items()]
    return "\n".join(rows)


def _type_section(
    name: str,
    schema: dict[str, Any],
    example: dict[str, Any],
    hide: set[str],
    heading: str,
) -> str:
    description = schema.get("description", "")
    return (
        f"{heading} `{name}`\n\n{description}\n\n"
        + _fields_table(schema, schema, hide=hide)
        + "\n"
        + _json_block(example)
    )


def _json_block(document: Mapping[str, Any]) -> str:
    return "```json\n" + json.dumps(document, indent=2, ensure_ascii=False) + "\n```\n"


def _fields_table(
    schema: Mapping[str, Any], root: Mapping[str, Any], hide: Iterable[str] = ()
) -> str:
    hidden = set(hide)
    required = set(schema.get("required", ()))
    rows = ["| Field | Type | Required | Description |", "| --- | --- | --- | --- |"]
    shown = 0
    for field, node in schema.get("properties", {}).items():
        if field in hidden:
            continue
        shown += 1
        field_type = _cell(_render_type(node, root))
        requirement = _requirement(field, node, required)
        description = _cell(node.get("description", ""))
        rows.append(f"| `{field}` | {field_type} | {requirement} | {description} |")
    if shown == 0:
        return "No fields besides the envelope.\n"
    return "\n".join(rows) + "\n"


def _requirement(field: str, node: Mapping[str, Any], required: set[str]) -> str:
    if field in required:
        return "yes"
    default = node.get("default")
    if default in (None, [], {}, ()):
        return "no"
    return f"no (default `{json.dumps(default)}`)"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _render_type(node: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        target = root["$defs"][name]
        if "enum" in target:
            return "one of " + ", ".join(f"`{value}`" for value in target["enum"])
        return f"object `{name}`"
    branches = node.get("anyOf") or node.get("oneOf")
    if branches:
        kinds = [branch for branch in branches if branch.get("type") != "null"]
        if len(kinds) == 1:
            return _render_type(kinds[0], root)
        if {branch.get("type") for branch in kinds} == {"number", "string"}:
            return "decimal (number or string)"
        return " or ".join(_render_type(branch, root) for branch in kinds)
    if "const" in node:
        return f"`{node['const']}`"
    kind = node.get("type")
    if kind == "string":
        return _render_string(node)
    if kind in ("integer", "number"):
        return _render_number(str(kind), node)
    if kind == "array":
        rendered = f"list of {_render_type(node.get('items', {}), root)}"
        limits = _limits_text(node.get("minItems"), node.get("maxItems"), "items")
        return rendered + (f" ({limits})" if limits else "")
    if kind == "object" and isinstance(node.get("additionalProperties"), Mapping):
        keys = _render_type(node.get("propertyNames", {"type": "string"}), root)
        values = _render_type(node["additionalProperties"], root)
        return f"map of {keys} to {values}"
    return str(kind or "any")


def _render_string(node: Mapping[str, Any]) -> str:
    if node.get("format") == "date-time":
        return "date-time"
    named = _PATTERN_NAMES.get(node.get("pattern", ""))
    if named is not None:
        return named
    limits = _limits_text(node.get("minLength"), node.get("maxLength"), "characters")
    return "string" + (f" ({limits})" if limits else "")


def _render_number(kind: str, node: Mapping[str, Any]) -> str:
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None and high is not None:
        return f"{kind}, {_number(low)} to {_number(high)}"
    if low is not None:
        return f"{kind}, >= {_number(low)}"
    if high is not None:
        return f"{kind}, <= {_number(high)}"
    return kind


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _limits_text(low: int | None, high: int | None, unit: str) -> str:
    if low is not None and high is not None:
        return f"{low} to {high:,} {unit}"
    if high is not None:
        return f"at most {high:,} {unit}"
    if low is not None and low > 1:
        return f"at least {low} {unit}"
    return ""


# --- files ----------------------------------------------------------------------------------------


def _dump_json(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _dump_yaml(document: Any) -> str:
    header = "# Generated by `rapport schemas export` from schemas/*.py: do not edit.\n"
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def artifacts() -> dict[Path, str]:
    """The content every generated file should have, by path."""
    files: dict[Path, str] = {}
    for name, schema in json_schemas().items():
        files[JSON_DIR / f"{name}{SCHEMA_SUFFIX}"] = _dump_json(schema)
    for name, document in examples().items():
        files[example_path(name)] = _dump_json(document)
    files[ASYNCAPI_PATH] = _dump_yaml(asyncapi_document())
    for path, sections in doc_sections().items():
        current = path.read_text(encoding="utf-8")
        files[path] = fill_sections(current, sections, str(path.relative_to(REPO_ROOT)))
    return files


def _strays(expected: Iterable[Path]) -> list[Path]:
    """Files in the generated directories that no generator writes (a renamed type's)."""
    wanted = set(expected)
    return sorted(
        path
        for directory, pattern in ((JSON_DIR, f"*{SCHEMA_SUFFIX}"), (EXAMPLES_DIR, "**/*.json"))
        for path in directory.glob(pattern)
        if path not in wanted
    )


def stale_artifacts() -> list[Path]:
    """Generated files that are missing, differ from a fresh generation, or should not exist."""
    expected = artifacts()
    stale = [
        path
        for path, content in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != content
    ]
    return sorted(stale + _strays(expected))


@dataclass(frozen=True)
class ExportResult:
    written: list[Path]
    removed: list[Path]


def write_artifacts(
    allow_breaking: bool = False, on_write: Callable[[Path], None] | None = None
) -> ExportResult:
    """Regenerate every artifact; raises ``BreakingChangeError`` (writing nothing) if a schema
    changed in a non-additive way within the major version, unless ``allow_breaking``."""
    breaks = contract_breaks(committed_schemas(), json_schemas())
    if breaks and not allow_breaking:
        raise BreakingChangeError(breaks)
    expected = artifacts()
    written: list[Path] = []
    for path, content in expected.items():
        if path.exists() and path.read_text(encoding="utf-8") == content:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
        if on_write is not None:
            on_write(path)
    removed = _strays(expected)
    for path in removed:
        path.unlink()
    return ExportResult(written, removed)
