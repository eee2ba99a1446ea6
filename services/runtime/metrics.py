"""Prometheus metrics of one service. Each service owns a registry so that several services can
run in one process (tests, the demo) without colliding on metric names."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.runtime.records import TopicPartition


class ServiceMetrics:
    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.records_in = Counter(
            "rapport_records_in", "Records consumed", ["service", "topic"], registry=r
        )
        self.records_out = Counter(
            "rapport_records_out",
            "Records produced (outputs, not dead letters)",
            ["service", "topic"],
            registry=r,
        )
        self.records_failed = Counter(
            "rapport_records_failed",
            "Processing failures: permanent ones are dead-lettered, transient ones retried",
            ["service", "kind"],
            registry=r,
        )
        self.dead_letters = Counter(
            "rapport_dead_letters",
            "Records sent to the dead-letter topic",
            ["service", "reason"],
            registry=r,
        )
        self.processing_seconds = Histogram(
            "rapport_batch_processing_seconds",
            "Time to process one partition batch",
            ["service"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.commits = Counter(
            "rapport_checkpoints",
            "Checkpoint commits by outcome",
            ["service", "outcome"],
            registry=r,
        )
        self.consumer_lag = Gauge(
            "rapport_consumer_lag",
            "Records behind the partition end, as of the last fetch",
            ["service", "topic", "partition"],
            registry=r,
        )
        self.assigned_partitions = Gauge(
            "rapport_assigned_partitions",
            "Partitions assigned to this instance",
            ["service"],
            registry=r,
        )
        self.paused_partitions = Gauge(
            "rapport_paused_partitions",
            "Partitions paused while a transient failure backs off",
            ["service"],
            registry=r,
        )

    def set_lag(self, lags: dict[TopicPartition, int]) -> None:
        for tp, lag in lags.items():
            self.consumer_lag.labels(self.service, tp.topic, str(tp.partition)).set(lag)

    def forget_partitions(self, partitions: list[TopicPartition]) -> None:
        # A revoked partition's lag belongs to its new owner now; a stale gauge here would
        # double-count it in any sum across instances.
        for tp in partitions:
            with contextlib.suppress(KeyError):
                self.consumer_lag.remove(self.service, tp.topic, str(tp.partition))
