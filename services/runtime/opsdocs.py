"""The generated parts of docs/operations.md: the metrics table and the configuration reference.

Both come from the code (the services' metric registries; ``Settings`` and the comments above
its fields), so they cannot drift: ``python -m services.runtime.opsdocs`` rewrites them between
their markers, and a test fails when the committed document differs.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from services.runtime.metrics import ServiceMetrics
from services.runtime.policy import ErrorPolicy
from services.runtime.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
# Metrics of prometheus_client's own process and platform collectors: one row in the table.
STANDARD_PREFIXES = ("process_", "python_")


@dataclass(frozen=True)
class MetricDoc:
    name: str  # as exposed, e.g. rapport_records_in_total
    kind: str
    labels: tuple[str, ...]
    help: str
    services: tuple[str, ...]


def _families(registry: CollectorRegistry) -> Iterator[tuple[Metric, tuple[str, ...]]]:
    # Each collector describes itself: labelled metrics without children have no samples yet,
    # so their label names come from the metric objects.
    for collector in list(registry._collector_to_names):
        describe = getattr(collector, "describe", None)
        families = describe() if describe is not None else collector.collect()
        labels = tuple(getattr(collector, "_labelnames", ()))
        for family in families:
            # Custom collectors' families (GaugeMetricFamily(labels=…)) know their labels.
            yield family, labels or tuple(getattr(family, "_labelnames", ()))


def _exposed_name(family: Metric) -> str:
    return f"{family.name}_total" if family.type == "counter" else family.name


def service_registries() -> dict[str, CollectorRegistry]:
    """Each service's registry as ``build_runner`` assembles it, without Kafka or a database."""
    from sqlalchemy import create_engine

    from services.ingest.service import IngestHandler
    from services.runtime.dedup import PartitionedDedup
    from services.scoring import metrics as scoring_metrics

    registries: dict[str, CollectorRegistry] = {}
    for service in ("ingest", "sentiment", "scoring"):
        metrics = ServiceMetrics(service)
        metrics.watch_producer(dict)
        metrics.watch_readiness({"partitions_assigned": lambda: True})
        registries[service] = metrics.registry
    settings = Settings(kafka_bootstrap_servers="unused:9092")
    dedup = PartitionedDedup("changelog", 1, 1000, 10, restore=lambda _: [])
    policy = ErrorPolicy("ingest", settings.topics.dead_letter)
    IngestHandler(settings, dedup, policy).register_metrics(registries["ingest"])
    scoring_metrics.register(create_engine("sqlite://"), registries["scoring"], "scoring")
    return registries


def metric_catalogue() -> list[MetricDoc]:
    found: dict[str, MetricDoc] = {}
    for service, registry in service_registries().items():
        for family, labels in _families(registry):
            name = _exposed_name(family)
            if name.startswith(STANDARD_PREFIXES):
                continue
            known = found.get(name)
            services = (*known.services, service) if known else (service,)
            found[name] = MetricDoc(name, family.type, labels, family.documentation, services)
    return sorted(found.values(), key=lambda m: m.name)


def metrics_table() -> str:
    rows = [
        "| metric | type | labels | meaning | services |",
        "| --- | --- | --- | --- | --- |",
    ]
    every = ("ingest", "sentiment", "scoring")
    for metric in metric_catalogue():
        services = "all" if metric.services == every else ", ".join(metric.services)
        labels = ", ".join(f"`{label}`" for label in metric.labels) or "—"
        rows.append(f"| `{metric.name}` | {metric.kind} | {labels} | {metric.help} | {services} |")
    rows.append(
        "| `process_*`, `python_info` | | | CPU, memory, open files, start time, GC "
        "(prometheus_client's process and platform collectors) | all |"
    )
    return "\n".join(rows)


# -- configuration reference ------------------------------------------------------------------


def _field_comments(model: type[BaseModel]) -> dict[str, str]:
    """The comment lines right above each field of ``model``'s class body."""
    source = inspect.getsource(model)
    lines = source.splitlines()
    comments: dict[str, str] = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            above: list[str] = []
            index = node.lineno - 2
            while index >= 0 and lines[index].strip().startswith("#"):
                above.insert(0, lines[index].strip().lstrip("#").strip())
                index -= 1
            comments[node.target.id] = " ".join(above)
    return comments


# Meanings of the settings that carry no comment in settings.py (their names nearly say it).
MEANINGS = {
    "kafka_bootstrap_servers": "The Kafka cluster, `host:port[,host:port…]`",
    "topic_partitions": "Partitions of the topics Rapport creates (the most instances per "
    "service that can share the work)",
    "group_prefix": "Prefix of consumer group ids and client ids",
    "delivery": "`exactly_once` (Kafka transactions) or `at_least_once`",
    "max_poll_records": "Most records one poll hands to a service",
    "poll_timeout_ms": "How long one poll waits for records",
    "retry_initial_seconds": "First back-off of a partition after a transient failure "
    "(doubles per attempt)",
    "retry_max_seconds": "Longest back-off after transient failures",
    "shutdown_timeout_seconds": "How long a stopping service may take to finish its batch and "
    "commit before it exits anyway (status 75; uncommitted work is redone by the next owner)",
    "database_url": "Scoring's database (SQLAlchemy URL); `postgresql+psycopg://…` in production",
    "http_host": "Address of the `/metrics`, `/healthz`, `/readyz` endpoint (the image sets "
    "`0.0.0.0`)",
    "log_format": "`text` or `json` (one object per line)",
    "log_level": "Python log level",
    "kafka_cache_dir": "Where `rapport kafka fetch` keeps the local broker's jars",
    "topics": "Topic names",
    "ingest": "Ingest's settings",
    "kafka_security": "Kafka TLS and SASL",
    "redact_pii": "Redact personal data in human-written fields",
    "max_record_bytes": "Larger raw records are dead-lettered (`oversized_record`)",
    "dedup_key": "Secret: the duplicate window's changelog keeps keyed hashes of event ids, "
    "not the ids",
    "identifier_personal_data": "Personal data in an id (`customer_id`, `order_id`…): `reject` "
    "(`personal_data_in_identifier`), `pseudonymise` (keyed hash, needs `pseudonymize_key`) or "
    "`allow`",
    "max_text_chars": "Longer texts are dead-lettered (`text_too_long`)",
    "max_future_skew_seconds": "Events further in the future are dead-lettered "
    "(`timestamp_in_future`)",
    "protocol": "`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`",
    "sasl_mechanism": "`PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`",
    "sasl_username": "SASL user",
    "sasl_password": "SASL password",
    "ssl_cafile": "PEM file of the CAs that sign the brokers' certificates (default: the "
    "system's trust store)",
    "ssl_certfile": "Client certificate (PEM) for mutual TLS",
    "ssl_keyfile": "The client certificate's key (PEM), unless it is in `ssl_certfile`",
    "transaction_timeout_ms": "How long the broker keeps a transaction of a silent producer "
    "open before aborting it",
    "sasl_password_file": "File holding the SASL password (instead of `sasl_password`)",
    "ssl_key_password": "Password of the client key",
    "ssl_key_password_file": "File holding the client key's password",
    "raw_interactions": "Upstream interaction events",
    "raw_feedback": "Upstream feedback events",
    "canonical": "Validated, normalised, redacted events (ingest's output)",
    "annotated": "Events with sentiment (sentiment's output)",
    "score_updates": "Every score change (scoring's output)",
    "alerts": "Customer alerts raised and resolved",
    "erasure_completed": "Confirmations of erasure requests",
    "dead_letter": "Records that cannot be processed, with a reason",
}


@dataclass(frozen=True)
class SettingDoc:
    variable: str
    type: str
    default: str
    meaning: str


def _type_name(annotation: Any) -> str:
    text = re.sub(r"<(?:class|enum) '([^']+)'>", r"\1", str(annotation))
    text = re.sub(r"\b[\w.]+\.(\w+)", r"\1", text)
    text = text.replace("typing.", "")
    text = text.replace("Annotated[Path, PathType(path_type='file')]", "file")
    text = re.sub(r"^Optional\[(.*)\]$", r"\1 | None", text)
    # A pipe would split the Markdown table cell, even inside backticks.
    return text.replace(" | None", ", optional")


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "host name" if "gethostname" in repr(field.default_factory) else "computed"
    value = field.default
    if value is PydanticUndefined or value is None:
        return "—"
    if isinstance(value, frozenset):
        return ", ".join(sorted(value))
    if hasattr(value, "value"):
        value = value.value
    text = str(value)
    return text.replace(str(Path.home()), "~")


def _walk(model: type[BaseModel], prefix: str) -> Iterator[SettingDoc]:
    comments = _field_comments(model)
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _walk(annotation, f"{prefix}{name.upper()}__")
            continue
        variable = f"{prefix}{name.upper()}"
        if name == "kafka_bootstrap_servers":
            variable = "`KAFKA_BOOTSTRAP_SERVERS` or `RAPPORT_KAFKA_BOOTSTRAP_SERVERS`"
        else:
            variable = f"`{variable}`"
        meaning = MEANINGS.get(name) or comments.get(name, "")
        yield SettingDoc(variable, _type_name(annotation), _default(field), meaning)


def settings_catalogue() -> list[SettingDoc]:
    return list(_walk(Settings, "RAPPORT_"))


def settings_table() -> str:
    rows = ["| variable | type | default | meaning |", "| --- | --- | --- | --- |"]
    for s in settings_catalogue():
        rows.append(f"| {s.variable} | `{s.type}` | `{s.default}` | {s.meaning} |")
    return "\n".join(rows)


# -- the document -----------------------------------------------------------------------------

SECTIONS = {"metrics": metrics_table, "settings": settings_table}


def _marker(name: str, end: bool = False) -> str:
    return f"<!-- {'end ' if end else ''}generated: {name} (python -m services.runtime.opsdocs) -->"


def _literal(text: str, _match: re.Match[str]) -> str:
    return text


def render(document: str) -> str:
    for name, generate in SECTIONS.items():
        start, end = _marker(name), _marker(name, end=True)
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
        if not pattern.search(document):
            raise ValueError(f"docs/operations.md lacks the markers of {name}")
        replacement = f"{start}\n{generate()}\n{end}"
        # A function, not the string: generated text may hold backslashes re would expand.
        document = pattern.sub(partial(_literal, replacement), document)
    return document


def main(argv: Iterable[str] = ()) -> int:
    current = DOC.read_text()
    fresh = render(current)
    if "--check" in list(argv):
        return 0 if fresh == current else 1
    DOC.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
