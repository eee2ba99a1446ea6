"""A broker that is away when a client bootstraps: kafka-python's constructors raise
KafkaTimeoutError ("Unable to bootstrap") after 30 s. The runtime must see a transient error,
which it retries, never a raw one: raised inside a handler (a changelog restored on a
partition's first record), a raw one dead-lettered that record as unexpected (the broker-restart
fault test caught it once)."""

from __future__ import annotations

from typing import Any

import kafka.errors as kerr
import pytest

from services.runtime import kafka_io, topic_reader
from services.runtime.exceptions import TransientError


def _unreachable(*_: Any, **__: Any) -> Any:
    raise kerr.KafkaTimeoutError("Unable to bootstrap from 127.0.0.1:9")


def test_reading_a_topic_while_the_broker_is_away_is_transient(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(topic_reader, "KafkaConsumer", _unreachable)
    with pytest.raises(TransientError, match="Unable to bootstrap"):
        list(topic_reader.read_to_end("127.0.0.1:9", "t", client_id="restore"))
    with pytest.raises(TransientError, match="Unable to bootstrap"):
        topic_reader.log_start_offsets("127.0.0.1:9", "t", "restore")


class _Producer:
    def __init__(self, **_: Any) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


def test_renewing_the_producer_while_the_broker_is_away_is_transient_and_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kafka_io, "KafkaProducer", _Producer)
    adapter = kafka_io.KafkaProducerAdapter("127.0.0.1:9", "c", "tx")
    adapter._renew_before_next = True  # a transaction's outcome was unknown
    monkeypatch.setattr(kafka_io, "KafkaProducer", _unreachable)
    with pytest.raises(TransientError, match="Unable to bootstrap"):
        adapter.begin_transaction()
    assert adapter._renew_before_next  # the next transaction tries again
