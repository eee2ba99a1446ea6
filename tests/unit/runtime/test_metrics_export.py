"""What /metrics tells an SRE: process and build info, event-time lag, last progress, retried
records next to (not overlapping) dead letters, producer errors, readiness checks."""

from __future__ import annotations

import json

from prometheus_client import generate_latest

from services.runtime.exceptions import TransientError
from services.runtime.metrics import ServiceMetrics
from services.runtime.records import InRecord, TopicPartition
from tests.unit.runtime.conftest import MakeHarness

TP = TopicPartition("in", 0)


def exposition(metrics: ServiceMetrics) -> str:
    return generate_latest(metrics.registry).decode()


def value(metrics: ServiceMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_every_registry_has_process_metrics_and_build_info() -> None:
    metrics = ServiceMetrics("svc", instance_id="svc-0")
    text = exposition(metrics)
    assert "process_resident_memory_bytes" in text
    assert "process_start_time_seconds" in text
    assert "python_info" in text
    [build] = [line for line in text.splitlines() if line.startswith("rapport_build_info{")]
    assert 'service="svc"' in build
    assert 'instance_id="svc-0"' in build
    assert build.endswith(" 1.0")


def test_event_time_lag_is_the_age_of_the_newest_processed_record() -> None:
    now = 10_000.0
    metrics = ServiceMetrics("svc", wall_clock=lambda: now)
    records = [InRecord("in", 0, i, b"k", b"v", [], timestamp_ms=ms) for i, ms in enumerate(
        (9_000_000, 9_940_000, 9_930_000)
    )]  # fmt: skip
    metrics.processed(TP, records)
    labels = {"service": "svc", "topic": "in", "partition": "0"}
    assert value(metrics, "rapport_event_time_lag_seconds", **labels) == 60.0
    assert value(metrics, "rapport_last_progress_timestamp_seconds", **labels) == now
    metrics.forget_partitions([TP])
    assert value(metrics, "rapport_event_time_lag_seconds", **labels) is None
    assert value(metrics, "rapport_last_progress_timestamp_seconds", **labels) is None


def test_last_progress_starts_when_a_partition_is_first_seen_and_stays_until_a_commit() -> None:
    now = [100.0]
    metrics = ServiceMetrics("svc", wall_clock=lambda: now[0])
    labels = {"service": "svc", "topic": "in", "partition": "0"}
    metrics.set_lag({TP: 5})
    now[0] = 400.0
    metrics.set_lag({TP: 9})  # still stuck: progress stays at first sight
    assert value(metrics, "rapport_last_progress_timestamp_seconds", **labels) == 100.0
    assert value(metrics, "rapport_consumer_lag_records", **labels) == 9


def test_dead_letters_and_retried_records_are_separate_series(make_harness: MakeHarness) -> None:
    failures = {"transient": 1}

    def process(record: InRecord) -> list[object]:
        payload = json.loads(record.value or b"")
        if payload == "flaky" and failures["transient"]:
            failures["transient"] -= 1
            raise TransientError("database busy")
        if payload == "bad":
            raise KeyError("missing")
        return []

    h = make_harness(process)
    h.send(b'"bad"')
    h.send(b'"flaky"')
    h.runner.run_once()
    m = h.runner.metrics
    assert value(m, "rapport_records_retried_total", service="svc") == 2
    h.clock.advance(10)
    h.runner.run_once()
    h.runner.run_once()
    text = exposition(m)
    assert "rapport_records_failed" not in text
    assert value(m, "rapport_dead_letters_total", service="svc", reason="unexpected_error") == 1
    assert value(m, "rapport_records_retried_total", service="svc") == 2
    labels = {"service": "svc", "topic": "in", "partition": "0"}
    assert value(m, "rapport_last_progress_timestamp_seconds", **labels) is not None


def test_producer_errors_and_readiness_are_read_when_scraped() -> None:
    metrics = ServiceMetrics("svc")
    client = {"producer-metrics": {"record-error-total": 3.0, "record-retry-total": 7.0}}
    ready = {"database_reachable": True}
    metrics.watch_producer(lambda: client)
    metrics.watch_readiness({"database_reachable": lambda: ready["database_reachable"]})
    assert value(metrics, "rapport_producer_errors_total", service="svc") == 3.0
    assert value(metrics, "rapport_producer_retries_total", service="svc") == 7.0
    check = {"service": "svc", "check": "database_reachable"}
    assert value(metrics, "rapport_readiness_check", **check) == 1.0
    ready["database_reachable"] = False
    assert value(metrics, "rapport_readiness_check", **check) == 0.0
