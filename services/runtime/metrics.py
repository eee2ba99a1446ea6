"""Prometheus metrics of one service. Each service owns a registry so that several services can
run in one process (tests, the demo) without colliding on metric names; each registry carries
its own process and platform collectors, so every service's ``/metrics`` has them.

docs/operations.md lists every metric in a table generated from these definitions
(``python -m services.runtime.opsdocs``); a test keeps the two in step.
"""

from __future__ import annotations

import contextlib
import platform
import time
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from services.runtime.records import InRecord, TopicPartition

# kafka-python's client metrics: {group: {name: value}}.
ClientMetrics = Mapping[str, Mapping[str, float]]
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


class ServiceMetrics:
    def __init__(
        self,
        service: str,
        registry: CollectorRegistry | None = None,
        wall_clock: Callable[[], float] = time.time,
        instance_id: str = "",
    ) -> None:
        self.service = service
        self.registry = registry or CollectorRegistry()
        self._wall_clock = wall_clock
        self._progressing: set[tuple[str, str, str]] = set()
        r = self.registry
        # The default registry's process collector is registered there only; ours are per
        # registry (in one process they report the same process, which is what it is).
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.build_info = Gauge(
            "rapport_build_info",
            "Always 1; the labels say which build runs",
            ["service", "instance_id", "version", "python", "kafka_python"],
            registry=r,
        )
        # instance_id: two processes with the same one fence each other (see the runbook).
        self.build_info.labels(
            service,
            instance_id,
            _version("rapport"),
            platform.python_version(),
            _version("kafka-python"),
        ).set(1)
        self.records_in = Counter(
            "rapport_records_in", "Records consumed", ["service", "topic"], registry=r
        )
        self.records_out = Counter(
            "rapport_records_out",
            "Records produced (outputs, not dead letters)",
            ["service", "topic"],
            registry=r,
        )
        # Permanent failures are the dead letters below; a second series for them would only
        # ever repeat their sum.
        self.records_retried = Counter(
            "rapport_records_retried",
            "Records of batches that failed transiently and will be read again",
            ["service"],
            registry=r,
        )
        self.dead_letters = Counter(
            "rapport_dead_letters",
            "Records sent to the dead-letter topic (permanent failures), by reason",
            ["service", "reason"],
            registry=r,
        )
        self.processing_seconds = Histogram(
            "rapport_batch_processing_seconds",
            "Time to process one partition batch",
            ["service"],
            registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.commits = Counter(
            "rapport_checkpoints",
            "Checkpoint commits by outcome (committed, failed)",
            ["service", "outcome"],
            registry=r,
        )
        self.consumer_lag = Gauge(
            "rapport_consumer_lag_records",
            "Records behind the partition end, as of the last fetch",
            ["service", "topic", "partition"],
            registry=r,
        )
        self.event_time_lag = Gauge(
            "rapport_event_time_lag_seconds",
            "Age (now minus Kafka timestamp) of the newest record processed per partition, "
            "when it was processed",
            ["service", "topic", "partition"],
            registry=r,
        )
        self.last_progress = Gauge(
            "rapport_last_progress_timestamp_seconds",
            "Unix time a batch of the partition was last committed (or, before the first, "
            "the partition was first seen)",
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

    # -- updates the loop makes --------------------------------------------------------------

    def count_retried(self, records: int) -> None:
        self.records_retried.labels(self.service).inc(records)

    def count_dead_letter(self, reason: str) -> None:
        self.dead_letters.labels(self.service, reason).inc()

    def set_lag(self, lags: dict[TopicPartition, int]) -> None:
        for tp, lag in lags.items():
            labels = (self.service, tp.topic, str(tp.partition))
            self.consumer_lag.labels(*labels).set(lag)
            if labels not in self._progressing:
                # A partition that never commits must still show how long it has not.
                self._progressing.add(labels)
                self.last_progress.labels(*labels).set(self._wall_clock())

    def processed(self, tp: TopicPartition, records: Iterable[InRecord]) -> None:
        """A batch of ``tp`` is committed: its newest record's age is the event-time lag."""
        now = self._wall_clock()
        labels = (self.service, tp.topic, str(tp.partition))
        self._progressing.add(labels)
        self.last_progress.labels(*labels).set(now)
        newest = max((r.timestamp_ms for r in records if r.timestamp_ms >= 0), default=None)
        if newest is not None:
            self.event_time_lag.labels(*labels).set(max(0.0, now - newest / 1000))

    def forget_partitions(self, partitions: list[TopicPartition]) -> None:
        # A revoked partition belongs to its new owner now; a stale gauge here would
        # double-count it in any sum across instances.
        for tp in partitions:
            labels = (self.service, tp.topic, str(tp.partition))
            self._progressing.discard(labels)
            for gauge in (self.consumer_lag, self.event_time_lag, self.last_progress):
                with contextlib.suppress(KeyError):
                    gauge.remove(*labels)

    # -- values read when Prometheus scrapes -------------------------------------------------

    def watch_producer(
        self, client_metrics: Callable[[], Mapping[str, Mapping[str, float]]]
    ) -> None:
        """Export the producer's own error and retry totals (kafka-python's
        ``producer-metrics``): sends that failed after all retries, and retried sends."""
        self.registry.register(_ProducerCollector(self.service, client_metrics))

    def watch_readiness(self, checks: Mapping[str, Callable[[], object]]) -> None:
        """``rapport_readiness_check``: each readiness check as 1/0, so alerts can say which
        check fails (a database that cannot be reached, a broker, no partitions)."""
        self.registry.register(_ReadinessCollector(self.service, checks))


class _ProducerCollector(Collector):
    def __init__(self, service: str, client_metrics: Callable[[], ClientMetrics]) -> None:
        self._service = service
        self._client_metrics = client_metrics

    def describe(self) -> Iterable[Metric]:
        return self._families({})

    def collect(self) -> Iterable[Metric]:
        try:
            producer = self._client_metrics().get("producer-metrics", {})
        except Exception:  # a closed producer: nothing to report
            producer = {}
        return self._families(producer)

    def _families(self, producer: Mapping[str, float]) -> list[Metric]:
        errors = CounterMetricFamily(
            "rapport_producer_errors",
            "Records the producer failed to send after its retries",
            labels=["service"],
        )
        retries = CounterMetricFamily(
            "rapport_producer_retries", "Sends the producer retried", labels=["service"]
        )
        errors.add_metric([self._service], float(producer.get("record-error-total", 0.0)))
        retries.add_metric([self._service], float(producer.get("record-retry-total", 0.0)))
        return [errors, retries]


class _ReadinessCollector(Collector):
    def __init__(self, service: str, checks: Mapping[str, Callable[[], object]]) -> None:
        self._service = service
        self._checks = checks

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        for name, check in self._checks.items():
            try:
                ok = check() is True  # a string is a reason for not being ready
            except Exception:
                ok = False
            family.add_metric([self._service, name], 1.0 if ok else 0.0)
        return [family]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "rapport_readiness_check",
            "1 when the readiness check passes, 0 when it fails (/readyz answers 503)",
            labels=["service", "check"],
        )
