"""Which Kafka to use: an existing cluster, a testcontainers broker, or the local jar broker.

The demo and the test suite both go through ``select_broker`` so that they exercise the same
kind of broker on the same machine.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from services.localkafka.broker import LocalKafkaBroker, Progress

log = logging.getLogger(__name__)


class BrokerSource(StrEnum):
    EXTERNAL = "external"  # KAFKA_BOOTSTRAP_SERVERS
    TESTCONTAINERS = "testcontainers"
    LOCAL_JARS = "local-jars"


class RunningBroker(Protocol):
    bootstrap_servers: str

    def stop(self) -> object: ...


@dataclass
class ExternalBroker:
    """A cluster someone else runs: we never stop it."""

    bootstrap_servers: str

    def stop(self) -> None:
        pass


class ContainerBroker:
    def __init__(self) -> None:
        from testcontainers.kafka import KafkaContainer

        self._container = KafkaContainer("apache/kafka:4.1.2").with_kraft()
        self._container.start()
        self.bootstrap_servers: str = self._container.get_bootstrap_server()

    def stop(self) -> None:
        self._container.stop()


def docker_available() -> bool:
    """True when a Docker engine answers; a docker CLI without an engine is not enough."""
    try:
        import docker

        client = docker.from_env(timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def choose_source(
    env: dict[str, str] | None = None, docker_check: Callable[[], bool] = docker_available
) -> BrokerSource:
    env = dict(os.environ) if env is None else env
    if env.get("KAFKA_BOOTSTRAP_SERVERS"):
        return BrokerSource.EXTERNAL
    if docker_check():
        return BrokerSource.TESTCONTAINERS
    return BrokerSource.LOCAL_JARS


def select_broker(
    env: dict[str, str] | None = None,
    docker_check: Callable[[], bool] = docker_available,
    progress: Progress | None = None,
) -> RunningBroker:
    """Start (or point at) a broker, in the documented order of preference."""
    env = dict(os.environ) if env is None else env
    source = choose_source(env, docker_check)
    log.info("Kafka broker: %s", source.value)
    if source is BrokerSource.EXTERNAL:
        return ExternalBroker(env["KAFKA_BOOTSTRAP_SERVERS"])
    if source is BrokerSource.TESTCONTAINERS:
        return ContainerBroker()
    broker = LocalKafkaBroker(progress=progress)
    broker.start()
    return broker
