"""Rapport on a secured cluster: a local jar broker with a SASL_SSL listener, certificates made
by openssl in the test. Good credentials process events; wrong credentials and an untrusted
CA stop the service at once with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from services.ingest.service import SPEC as INGEST
from services.runtime.kafka_security import client_security, verify_access
from services.runtime.settings import Settings
from tests.support.events import variant
from tests.support.kafka import running, unique_prefix
from tests.support.secure_kafka import SecureBroker, issue_cert, start_secure_broker

pytestmark = pytest.mark.kafka

USERS = {"alice": "alice-secret"}


@pytest.fixture(scope="module")
def secure_broker() -> Iterator[SecureBroker]:
    broker = start_secure_broker(USERS)
    try:
        yield broker
    finally:
        broker.stop()


def security_env(broker: SecureBroker, tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The settings an operator would set, with the password in a file (a mounted secret)."""
    password_file = tmp_path / "kafka-password"
    password_file.write_text(overrides.pop("password", USERS["alice"]) + "\n")
    env = {
        "RAPPORT_KAFKA_SECURITY__PROTOCOL": "SASL_SSL",
        "RAPPORT_KAFKA_SECURITY__SASL_MECHANISM": "SCRAM-SHA-512",
        "RAPPORT_KAFKA_SECURITY__SASL_USERNAME": "alice",
        "RAPPORT_KAFKA_SECURITY__SASL_PASSWORD_FILE": str(password_file),
        "RAPPORT_KAFKA_SECURITY__SSL_CAFILE": str(broker.ca_file),
    }
    env.update(overrides)
    return env


def settings_from(env: dict[str, str], broker: SecureBroker) -> Settings:
    prefix = unique_prefix()
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        settings = Settings(kafka_bootstrap_servers=broker.bootstrap_servers)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return settings.model_copy(
        update={
            "topics": settings.topics.with_prefix(prefix),
            "group_prefix": prefix.rstrip("."),
            "instance_id": prefix.rstrip("."),
            "database_url": "sqlite://",
            "poll_timeout_ms": 100,
        }
    )


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"])
def test_a_service_with_good_credentials_processes_events(
    secure_broker: SecureBroker, tmp_path: Path, mechanism: str
) -> None:
    env = security_env(secure_broker, tmp_path, RAPPORT_KAFKA_SECURITY__SASL_MECHANISM=mechanism)
    settings = settings_from(env, secure_broker)
    security: dict[str, Any] = client_security(settings)
    servers = secure_broker.bootstrap_servers
    with running(INGEST, settings) as runner:
        producer = KafkaProducer(bootstrap_servers=servers, acks="all", **security)
        for index in range(5):
            kind, value = variant(index, f"c{index}", event_id=f"sec-{mechanism}-{index}")
            topic = (
                settings.topics.raw_feedback
                if kind.value == "feedback"
                else settings.topics.raw_interactions
            )
            producer.send(topic, key=f"c{index}".encode(), value=value)
        producer.flush()
        producer.close()
        consumer = KafkaConsumer(
            settings.topics.canonical,
            bootstrap_servers=servers,
            group_id=None,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            **security,
        )
        received: list[Any] = []
        deadline = time.monotonic() + 60
        while len(received) < 5 and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                received.extend(batch)
        consumer.close()
        assert runner.assigned, "the service never got its partitions"
    assert sorted(r.key for r in received) == [f"c{i}".encode() for i in range(5)]


def run_service_process(env: dict[str, str], broker: SecureBroker) -> tuple[int, str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "run", "ingest"],
        env={
            **os.environ,
            **env,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "RAPPORT_HTTP_PORT": "0",
            "RAPPORT_DATABASE_URL": "sqlite://",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stderr, time.monotonic() - started


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong password", "Kafka rejected the credentials of user 'alice'"),
        ("untrusted CA", "TLS certificate is not trusted"),
    ],
)
def test_wrong_credentials_or_ca_stop_the_service_at_once_with_one_line(
    secure_broker: SecureBroker, tmp_path: Path, case: str, expected: str
) -> None:
    if case == "wrong password":
        env = security_env(secure_broker, tmp_path, password="not-the-password")
    else:
        env = security_env(
            secure_broker,
            tmp_path,
            RAPPORT_KAFKA_SECURITY__SSL_CAFILE=str(secure_broker.other_ca_file),
        )
    code, stderr, seconds = run_service_process(env, secure_broker)
    assert code == 78, stderr  # EX_CONFIG: services/runtime/main.py
    errors = [line for line in stderr.splitlines() if line.strip()]
    assert len(errors) == 1, stderr
    assert expected in errors[0]
    assert "Traceback" not in stderr
    # Seconds, not kafka-python's 30 s bootstrap timeout nor an endless reconnect loop.
    assert seconds < 20, f"took {seconds:.1f}s"


@pytest.fixture(scope="module")
def mtls_broker() -> Iterator[SecureBroker]:
    broker = start_secure_broker(USERS, require_client_certificate=True)
    try:
        yield broker
    finally:
        broker.stop()


def test_mutual_tls_client_certificate_is_accepted_and_its_absence_stops_at_once(
    mtls_broker: SecureBroker, tmp_path: Path
) -> None:
    cert, key = issue_cert(
        mtls_broker.ca_file.parent, "rapport-test-ca", "rapport-client", "DNS:rapport"
    )
    with_certificate = security_env(
        mtls_broker,
        tmp_path,
        RAPPORT_KAFKA_SECURITY__SSL_CERTFILE=str(cert),
        RAPPORT_KAFKA_SECURITY__SSL_KEYFILE=str(key),
    )
    settings = settings_from(with_certificate, mtls_broker)
    verify_access(mtls_broker.bootstrap_servers, settings.kafka_security)
    admin = KafkaAdminClient(
        bootstrap_servers=mtls_broker.bootstrap_servers, **client_security(settings)
    )
    assert admin.describe_cluster()["brokers"]
    admin.close()

    code, stderr, seconds = run_service_process(security_env(mtls_broker, tmp_path), mtls_broker)
    assert code == 78, stderr  # EX_CONFIG: services/runtime/main.py
    [line] = [line for line in stderr.splitlines() if line.strip()]
    assert "client certificate" in line
    assert seconds < 20
