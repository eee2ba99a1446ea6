"""A real Prometheus scrapes sentiment and scoring on the real broker and evaluates Rapport's
rules (their ``for:`` and windows shortened to seconds; the lag and no-progress thresholds
lowered to what a test produces). While events keep arriving:

1. scoring's database goes away (PostgreSQL refuses connections): scoring stays up but stops
   progressing, so the no-progress, lag and database alerts fire; the database comes back and
   they resolve;
2. scoring stops: the topic-not-consumed and instance-down alerts fire; it starts again and
   they resolve.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from kafka import KafkaProducer
from sqlalchemy import create_engine, text

from services.localkafka.broker import free_port
from services.runtime.health import HealthServer, ReadinessCheck
from services.runtime.loop import ServiceRunner
from services.runtime.service import ServiceSpec, build_runner
from services.runtime.settings import Settings
from services.scoring.service import SPEC as SCORING
from services.sentiment.service import SPEC as SENTIMENT
from tests.conftest import POSTGRES_URL_ENV
from tests.support.kafka import create_topics, service_settings
from tests.support.prometheus import RULES, Prometheus, fast_rules
from tests.unit.ops.tooling import require_tool
from tests.unit.scoring.events import T0, annotated

pytestmark = pytest.mark.kafka


@dataclass
class Served:
    runner: ServiceRunner
    server: HealthServer
    thread: threading.Thread


@contextmanager
def serve(spec: ServiceSpec, settings: Settings, port: int) -> Iterator[Served]:
    """A service as ``run_service`` assembles it (runner, /metrics, readiness), in a thread."""
    runner = build_runner(spec, settings)
    checks: dict[str, ReadinessCheck] = {
        "partitions_assigned": lambda: bool(runner.assigned),
        **spec.readiness(settings),
    }
    runner.metrics.watch_readiness(checks)
    server = HealthServer("127.0.0.1", port, runner.metrics.registry, runner.liveness, checks)
    server.start()
    thread = threading.Thread(target=runner.run, name=f"runner-{spec.name}", daemon=True)
    thread.start()
    try:
        yield Served(runner, server, thread)
    finally:
        runner.stop()
        thread.join(60)
        server.stop()


class Feeder:
    """Keeps canonical events arriving, a few per second, until stopped."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        self._topic = topic
        self._stop = threading.Event()
        self.sent = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            customer = f"c{self.sent % 7}"
            event = annotated("purchase", customer, f"ev-{self.sent}", T0, amount=10)
            value = event.event.model_dump_json(exclude_none=True).encode()
            self._producer.send(self._topic, key=customer.encode(), value=value)
            self.sent += 1
            self._stop.wait(0.2)

    def __enter__(self) -> Feeder:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._producer.close()


def wait_for(
    prometheus: Prometheus, condition: Callable[[dict[str, list[dict[str, object]]]], bool],
    what: str, timeout: float = 60.0,
) -> dict[str, list[dict[str, object]]]:  # fmt: skip
    deadline = time.monotonic() + timeout
    alerts: dict[str, list[dict[str, object]]] = {}
    while time.monotonic() < deadline:
        alerts = prometheus.alerts()
        if condition(alerts):
            return alerts
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout}s; active alerts: {alerts}")


def firing(alerts: dict[str, list[dict[str, object]]], name: str) -> bool:
    return any(a["state"] == "firing" for a in alerts.get(name, []))


@contextmanager
def postgres_database() -> Iterator[tuple[str, Callable[[bool], None]]]:
    """A fresh database, and a switch that makes PostgreSQL refuse (or accept) connections."""
    server_url = os.environ.get(POSTGRES_URL_ENV)
    if not server_url:
        pytest.skip("PostgreSQL binaries not installed (CI installs them)")
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")

    def accept_connections(allowed: bool) -> None:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
            if not allowed:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )

    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}", accept_connections
    finally:
        accept_connections(True)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_scoring_outage_and_stop_fire_alerts_and_recovery_resolves_them() -> None:
    require_tool("prometheus")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        pytest.skip("no Kafka broker in this session")
    with postgres_database() as (database_url, accept_connections):
        run_scenarios(bootstrap, database_url, accept_connections)


def run_scenarios(
    kafka_bootstrap: str, database_url: str, accept_connections: Callable[[bool], None]
) -> None:
    settings = service_settings(kafka_bootstrap, database_url, retry_max_seconds=1.0)
    create_topics(settings)
    ports = {"sentiment": free_port(), "scoring": free_port()}
    rules = fast_rules(
        RULES.read_text(),
        thresholds={
            "time() - rapport_last_progress_timestamp_seconds > 300": (
                "time() - rapport_last_progress_timestamp_seconds > 4"
            ),
            "sum by (service, topic) (rapport_consumer_lag_records) > 10000": (
                "sum by (service, topic) (rapport_consumer_lag_records) > 5"
            ),
        },
    )
    prometheus = Prometheus(
        {f"rapport-{name}": f"127.0.0.1:{port}" for name, port in ports.items()}, rules
    ).start()
    try:
        with (
            serve(SENTIMENT, settings, ports["sentiment"]),
            Feeder(kafka_bootstrap, settings.topics.canonical),
        ):
            with serve(SCORING, settings, ports["scoring"]) as scoring:
                # Healthy: scoring consumes what sentiment writes; the recording rules work.
                deadline = time.monotonic() + 60
                while not prometheus.query(
                    'rapport:records_in:rate1m{service="scoring"} > 0'
                ) or not prometheus.query('rapport:records_out:rate1m{service="sentiment"} > 0'):
                    assert time.monotonic() < deadline, prometheus.log_tail()
                    time.sleep(0.5)
                assert scoring.runner.assigned
                # Once both stages have run for a window, nothing is pending or firing.
                quiet_names = {
                    "RapportTopicNotConsumed",
                    "RapportInstanceDown",
                    "RapportNoProgress",
                }
                wait_for(prometheus, lambda a: not quiet_names & set(a), "a quiet pipeline")
                # 1. The database refuses connections: scoring is up but cannot progress.
                accept_connections(False)
                stalled = wait_for(
                    prometheus,
                    lambda a: (
                        firing(a, "RapportNoProgress")
                        and firing(a, "RapportConsumerLagHigh")
                        and firing(a, "RapportDatabaseUnreachable")
                    ),
                    "no-progress, lag and database alerts fire",
                )
                assert {a["labels"]["service"] for a in stalled["RapportNoProgress"]} == {  # type: ignore[index]
                    "scoring"
                }
                # ConsumerLagHigh fires on the recording rule: it evaluates.
                assert prometheus.query('rapport:consumer_lag_records:sum{service="scoring"} > 5')
                accept_connections(True)
                wait_for(
                    prometheus,
                    lambda a: not {
                        "RapportNoProgress", "RapportConsumerLagHigh", "RapportDatabaseUnreachable"
                    } & set(a),
                    "the alerts resolve once the database is back",
                )  # fmt: skip
            # Scoring is stopped; events keep arriving at sentiment and reach rapport.annotated.
            stopped = wait_for(
                prometheus,
                lambda a: firing(a, "RapportTopicNotConsumed") and firing(a, "RapportInstanceDown"),
                "no-progress and instance-down alerts fire",
            )
            [not_consumed] = stopped["RapportTopicNotConsumed"]
            assert not_consumed["labels"]["topic"] == settings.topics.annotated  # type: ignore[index]
            [down] = stopped["RapportInstanceDown"]
            assert down["labels"]["job"] == "rapport-scoring"  # type: ignore[index]
            assert str(down["annotations"]["runbook_url"]).endswith(  # type: ignore[index]
                "#rapportinstancedown"
            )
            # Recovery: scoring starts again (same instance id), catches up, alerts resolve.
            with serve(SCORING, settings, ports["scoring"]):
                wait_for(
                    prometheus,
                    lambda a: "RapportTopicNotConsumed" not in a and "RapportInstanceDown" not in a,
                    "alerts resolve after scoring is back",
                )
    finally:
        prometheus.stop()
