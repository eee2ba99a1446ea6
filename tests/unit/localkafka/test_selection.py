"""Which broker the demo and the tests use, in the documented order."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.localkafka.broker import random_cluster_id, server_properties
from services.localkafka.selection import BrokerSource, ExternalBroker, choose_source, select_broker


def never() -> bool:
    raise AssertionError("docker must not be probed when KAFKA_BOOTSTRAP_SERVERS is set")


def test_explicit_bootstrap_servers_win_over_everything() -> None:
    assert choose_source({"KAFKA_BOOTSTRAP_SERVERS": "k:9092"}, never) is BrokerSource.EXTERNAL


def test_testcontainers_when_a_docker_engine_answers() -> None:
    assert choose_source({}, lambda: True) is BrokerSource.TESTCONTAINERS


def test_local_jar_broker_without_docker() -> None:
    assert choose_source({}, lambda: False) is BrokerSource.LOCAL_JARS


def test_empty_bootstrap_variable_counts_as_unset() -> None:
    assert choose_source({"KAFKA_BOOTSTRAP_SERVERS": ""}, lambda: False) is BrokerSource.LOCAL_JARS


def test_external_broker_is_never_stopped_by_us() -> None:
    broker = select_broker({"KAFKA_BOOTSTRAP_SERVERS": "k1:9092,k2:9092"}, never)
    assert isinstance(broker, ExternalBroker)
    assert broker.bootstrap_servers == "k1:9092,k2:9092"
    broker.stop()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("offsets.topic.replication.factor", "1"),
        ("transaction.state.log.replication.factor", "1"),
        ("transaction.state.log.min.isr", "1"),
        ("min.insync.replicas", "1"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "3"),
        ("transaction.state.log.num.partitions", "3"),
        ("process.roles", "broker,controller"),
    ],
)
def test_single_node_settings(key: str, value: str, tmp_path: Path) -> None:
    lines = server_properties(tmp_path, 9092, 9093).splitlines()
    props: dict[str, str] = dict(line.split("=", 1) for line in lines)
    assert props[key] == value
    assert props["listeners"].startswith("PLAINTEXT://127.0.0.1:9092")


def test_cluster_ids_never_start_with_a_dash() -> None:
    # The storage tool would parse such an id as an option and refuse to format.
    ids = {random_cluster_id() for _ in range(5000)}
    assert len(ids) == 5000
    assert not any(cluster_id.startswith("-") for cluster_id in ids)
    assert all(len(cluster_id) == 22 for cluster_id in ids)
