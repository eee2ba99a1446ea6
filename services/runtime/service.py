"""Assembling a service from its spec: clients, runner, HTTP endpoint, signals, start-up.

Start-up order matters to a supervisor: the HTTP endpoint comes first, so that ``/healthz``
says the process is alive and ``/readyz`` says why it is not ready yet while the broker or the
database is still unreachable. Those are waited for with capped backoff, one log line per
attempt; only configuration errors end the process (``FatalError.exit_code``).
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

from services.runtime import shredding
from services.runtime.exceptions import ConfigurationError, TransientError
from services.runtime.gc_tuning import tune_garbage_collector
from services.runtime.health import HealthServer, Liveness, ReadinessCheck
from services.runtime.kafka_io import (
    KafkaConsumerAdapter,
    KafkaProducerAdapter,
    TopicCatalog,
    broker_reachable,
    ensure_topics,
    topic_max_message_bytes,
)
from services.runtime.kafka_security import client_security, verify_access
from services.runtime.loop import ServiceRunner
from services.runtime.metrics import ServiceMetrics
from services.runtime.policy import ErrorPolicy, RecordLimits
from services.runtime.records import BatchHandler, MetricsAware
from services.runtime.settings import Delivery, Settings
from services.runtime.topic_configs import merged_configs

log = logging.getLogger(__name__)

HandlerFactory = Callable[[Settings, ErrorPolicy], BatchHandler]
EXIT_STOP_TIMEOUT = 75
"""A stop that overran the shutdown timeout (EX_TEMPFAIL: nothing is lost, restart at will)."""


@dataclass
class ServiceSpec:
    """What makes one service different from another; everything else is the runtime's."""

    name: str
    default_port: int
    input_topics: Callable[[Settings], Sequence[str]]
    output_topics: Callable[[Settings], Sequence[str]]
    build_handler: HandlerFactory
    readiness: Callable[[Settings], dict[str, ReadinessCheck]] = field(default=lambda _: {})
    # Per-topic configs for topics this service creates, on top of the retention every topic
    # gets (services/runtime/topic_configs.py), e.g. {"t": {"cleanup.policy": "compact"}}.
    topic_configs: Callable[[Settings], dict[str, dict[str, str]]] = field(default=lambda _: {})
    # The processing-error policy; the default dead-letters every record that fails for good.
    error_policy: Callable[[str, Settings, RecordLimits], ErrorPolicy] = field(
        default=lambda name, settings, limits: ErrorPolicy(
            name, settings.topics.dead_letter, limits
        )
    )


def bootstrap_servers(settings: Settings) -> str:
    if not settings.kafka_bootstrap_servers:
        raise ConfigurationError(
            "no Kafka broker configured: set KAFKA_BOOTSTRAP_SERVERS "
            "(or start one with `rapport kafka start`)"
        )
    return settings.kafka_bootstrap_servers


def record_limits(settings: Settings, topics: Sequence[str]) -> RecordLimits:
    """The producer's request limit and each output topic's ``max.message.bytes``, read once."""
    per_topic = topic_max_message_bytes(
        bootstrap_servers(settings), topics, **client_security(settings)
    )
    return RecordLimits(default_bytes=settings.max_request_bytes, per_topic=per_topic)


def build_runner(
    spec: ServiceSpec, settings: Settings, metrics: ServiceMetrics | None = None
) -> ServiceRunner:
    """Connect, create missing topics, build the handler. ``TransientError`` while the broker or
    the database cannot be reached yet; ``FatalError`` on a configuration error."""
    servers = bootstrap_servers(settings)
    if not broker_reachable(servers):
        # A TCP connect answers in milliseconds; a Kafka client would try for 30 s first.
        raise TransientError(f"Kafka at {servers} is unreachable")
    # The key topic holds the keys that seal dead letters (issue 12, shredding.py).
    outputs = [*spec.output_topics(settings), settings.topics.dead_letter]
    outputs.append(settings.topics.privacy_keys)
    topics = [*spec.input_topics(settings), *outputs]
    security = client_security(settings)
    # Wrong credentials or an untrusted certificate never heal: one clear line and stop.
    verify_access(servers, settings.kafka_security)
    ensure_topics(
        servers,
        sorted(set(topics)),
        settings.topic_partitions,
        # Every topic's retention (docs/privacy.md), with the service's own configs on top.
        merged_configs(settings, spec.topic_configs(settings)),
        **security,
    )
    policy = spec.error_policy(spec.name, settings, record_limits(settings, sorted(set(outputs))))
    policy.sealer = shredding.connect(settings, servers, **security)  # issue 12
    handler = spec.build_handler(settings, policy)
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
        max_request_size=settings.max_request_bytes,
        **({"transaction_timeout_ms": settings.transaction_timeout_ms} if transactional else {}),
        **security,
    )
    metrics = metrics or ServiceMetrics(spec.name, instance_id=settings.instance_id)
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
        policy=policy,
    )


class _Startup:
    """What the service is waiting for while it starts; the runner once it has one."""

    def __init__(self) -> None:
        self.runner: ServiceRunner | None = None
        self.waiting_for = "starting"
        self.stop = threading.Event()


def _readiness(
    spec: ServiceSpec, settings: Settings, startup: _Startup
) -> dict[str, ReadinessCheck]:
    servers = bootstrap_servers(settings)
    catalog = TopicCatalog(servers, **client_security(settings))
    outputs = [*spec.output_topics(settings), settings.topics.dead_letter]

    def started() -> bool | str:
        return True if startup.runner is not None else startup.waiting_for

    def partitions_assigned() -> bool:
        return startup.runner is not None and bool(startup.runner.assigned)

    def partitions_progressing() -> bool | str:
        if startup.runner is None:
            return "not started"
        stuck = startup.runner.stuck_partitions(settings.stuck_partition_seconds)
        if not stuck:
            return True
        names = ", ".join(f"{tp.topic}:{tp.partition}" for tp in stuck)
        return f"retrying for over {settings.stuck_partition_seconds:g}s: {names}"

    def output_topics_exist() -> bool | str:
        if startup.runner is None or not broker_reachable(servers):
            return "not started" if startup.runner is None else "broker unreachable"
        missing = catalog.missing(outputs)
        return True if not missing else "missing output topics: " + ", ".join(missing)

    return {
        "started": started,
        "partitions_assigned": partitions_assigned,
        "partitions_progressing": partitions_progressing,
        "broker_reachable": lambda: broker_reachable(servers),
        "output_topics_exist": output_topics_exist,
        **spec.readiness(settings),
    }


def _start_http(
    spec: ServiceSpec,
    settings: Settings,
    metrics: ServiceMetrics,
    liveness: Liveness,
    checks: dict[str, ReadinessCheck],
) -> HealthServer:
    port = settings.http_port if settings.http_port is not None else spec.default_port
    try:
        server = HealthServer(settings.http_host, port, metrics.registry, liveness, checks)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"{settings.http_host}:{port} is already in use (another {spec.name} instance?):"
                f" set RAPPORT_HTTP_PORT to a free port, or 0 for any"
            ) from exc
        raise ConfigurationError(
            f"cannot serve HTTP on {settings.http_host}:{port}: {exc.strerror}; "
            f"check RAPPORT_HTTP_HOST and RAPPORT_HTTP_PORT"
        ) from exc
    server.start()
    log.info(
        "%s serving /metrics /healthz /readyz on %s:%d", spec.name, settings.http_host, server.port
    )
    return server


def start_with_retries(
    spec: ServiceSpec,
    settings: Settings,
    metrics: ServiceMetrics,
    startup: _Startup,
    liveness: Liveness,
) -> ServiceRunner | None:
    """Build the runner, waiting with capped backoff while a dependency is unreachable.
    None when a stop was requested meanwhile."""
    attempt = 0
    while not startup.stop.is_set():
        try:
            return build_runner(spec, settings, metrics)
        except TransientError as exc:
            attempt += 1
            delay = min(
                settings.retry_max_seconds, settings.retry_initial_seconds * 2 ** (attempt - 1)
            )
            startup.waiting_for = str(exc)
            log.warning(
                "%s cannot start yet (attempt %d), retrying in %.1fs: %s",
                spec.name,
                attempt,
                delay,
                exc,
                extra={"service": spec.name, "attempt": attempt},
            )
            # Alive while waiting: a supervisor must not kill a process that waits correctly.
            liveness.beat()
            startup.stop.wait(delay)
    return None


def _exit_if_stuck(name: str, timeout_seconds: float) -> None:
    """Ends the process when a requested stop takes longer than ``shutdown_timeout_seconds``
    (a batch stuck on a dead database, a broker that does not answer the final commit).

    Safe at any moment by design: whatever was not committed is redone by the next owner of the
    partitions, exactly once. Exiting ourselves, with a line that says why, beats being killed
    by the supervisor's grace period (keep that one longer: the Helm chart and compose do).
    """
    time.sleep(timeout_seconds)
    log.critical(
        "%s did not stop within RAPPORT_SHUTDOWN_TIMEOUT_SECONDS=%g: exiting; uncommitted work "
        "is redone by the next owner",
        name,
        timeout_seconds,
        extra={"exit_code": EXIT_STOP_TIMEOUT},
    )
    logging.shutdown()
    os._exit(EXIT_STOP_TIMEOUT)


def run_service(spec: ServiceSpec, settings: Settings) -> None:
    # Configuration errors end start-up before anything opens: no broker configured, or
    # credentials or certificates the broker refuses (they never heal by waiting).
    verify_access(bootstrap_servers(settings), settings.kafka_security)
    metrics = ServiceMetrics(spec.name, instance_id=settings.instance_id)
    startup = _Startup()
    liveness = Liveness(settings.liveness_timeout_seconds)
    checks = _readiness(spec, settings, startup)
    metrics.watch_readiness(checks)
    server = _start_http(spec, settings, metrics, liveness, checks)

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info(
            "%s received %s: finishing the batch in hand", spec.name, signal.Signals(signum).name
        )
        if not startup.stop.is_set():
            threading.Thread(
                target=_exit_if_stuck,
                args=(spec.name, settings.shutdown_timeout_seconds),
                name="rapport-shutdown-watchdog",
                daemon=True,
            ).start()
        startup.stop.set()
        if startup.runner is not None:
            startup.runner.stop()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        runner = start_with_retries(spec, settings, metrics, startup, liveness)
        if runner is None:
            return
        # After the handler is built: its lexicons, models and configuration are then frozen.
        tune_garbage_collector()
        runner.liveness = liveness
        startup.runner = runner
        if startup.stop.is_set():
            runner.stop()
        runner.run()
    finally:
        server.stop()
        log.info("%s stopped", spec.name)
