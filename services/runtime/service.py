"""Assembling a service from its spec: clients, runner, HTTP endpoint, signals."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

from services.runtime.exceptions import FatalError
from services.runtime.health import HealthServer, ReadinessCheck
from services.runtime.kafka_io import (
    KafkaConsumerAdapter,
    KafkaProducerAdapter,
    broker_reachable,
    ensure_topics,
)
from services.runtime.kafka_security import client_security, verify_access
from services.runtime.loop import ServiceRunner
from services.runtime.metrics import ServiceMetrics
from services.runtime.records import BatchHandler, MetricsAware
from services.runtime.settings import Delivery, Settings

log = logging.getLogger(__name__)


@dataclass
class ServiceSpec:
    """What makes one service different from another; everything else is the runtime's."""

    name: str
    default_port: int
    input_topics: Callable[[Settings], Sequence[str]]
    output_topics: Callable[[Settings], Sequence[str]]
    build_handler: Callable[[Settings], BatchHandler]
    readiness: Callable[[Settings], dict[str, ReadinessCheck]] = field(default=lambda _: {})
    # Per-topic configs for topics this service creates, e.g. {"t": {"cleanup.policy": "compact"}}.
    topic_configs: Callable[[Settings], dict[str, dict[str, str]]] = field(default=lambda _: {})


def bootstrap_servers(settings: Settings) -> str:
    if not settings.kafka_bootstrap_servers:
        raise FatalError(
            "no Kafka broker configured: set KAFKA_BOOTSTRAP_SERVERS "
            "(or start one with `rapport kafka start`)"
        )
    return settings.kafka_bootstrap_servers


def build_runner(spec: ServiceSpec, settings: Settings) -> ServiceRunner:
    servers = bootstrap_servers(settings)
    topics = [
        *spec.input_topics(settings),
        *spec.output_topics(settings),
        settings.topics.dead_letter,
    ]
    security = client_security(settings)
    # Wrong credentials or an untrusted certificate never heal: one clear line and stop.
    verify_access(servers, settings.kafka_security)
    ensure_topics(
        servers,
        sorted(set(topics)),
        settings.topic_partitions,
        spec.topic_configs(settings),
        **security,
    )
    client_id = f"{settings.group_prefix}-{spec.name}-{settings.instance_id}"
    consumer = KafkaConsumerAdapter(
        servers,
        group_id=f"{settings.group_prefix}-{spec.name}",
        client_id=client_id,
        max_poll_records=settings.max_poll_records,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.session_timeout_ms // 5,
        group_instance_id=client_id if settings.static_membership else None,
        **security,
    )
    transactional = settings.delivery is Delivery.EXACTLY_ONCE
    producer = KafkaProducerAdapter(
        servers,
        client_id=client_id,
        transactional_id=client_id if transactional else None,
        **({"transaction_timeout_ms": settings.transaction_timeout_ms} if transactional else {}),
        **security,
    )
    handler = spec.build_handler(settings)
    metrics = ServiceMetrics(spec.name, instance_id=settings.instance_id)
    metrics.watch_producer(producer.client_metrics)
    if isinstance(handler, MetricsAware):
        handler.register_metrics(metrics.registry)
    return ServiceRunner(
        spec.name,
        handler,
        consumer=consumer,
        producer=producer,
        settings=settings,
        input_topics=spec.input_topics(settings),
        metrics=metrics,
    )


def run_service(spec: ServiceSpec, settings: Settings) -> None:
    runner = build_runner(spec, settings)
    servers = bootstrap_servers(settings)
    checks: dict[str, ReadinessCheck] = {
        "partitions_assigned": lambda: bool(runner.assigned),
        "broker_reachable": lambda: broker_reachable(servers),
        **spec.readiness(settings),
    }
    runner.metrics.watch_readiness(checks)
    port = settings.http_port if settings.http_port is not None else spec.default_port
    server = HealthServer(
        settings.http_host, port, runner.metrics.registry, runner.liveness, checks
    )
    server.start()
    log.info(
        "%s serving /metrics /healthz /readyz on %s:%d", spec.name, settings.http_host, server.port
    )

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info(
            "%s received %s: finishing the batch in hand", spec.name, signal.Signals(signum).name
        )
        runner.stop()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        runner.run()
    finally:
        server.stop()
        log.info("%s stopped", spec.name)
