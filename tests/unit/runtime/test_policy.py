"""The one processing-error policy: what becomes a dead letter, and that one always fits."""

from __future__ import annotations

import json
import logging

import pytest

from services.runtime.deadletter import REASON
from services.runtime.exceptions import FatalError, PermanentError, TransientError
from services.runtime.logs import RateLimitedLog
from services.runtime.policy import (
    TRUNCATED_HEADER,
    ErrorPolicy,
    RecordLimits,
    record_size,
)
from services.runtime.records import InRecord, OutRecord, PartitionBatch, TopicPartition
from tests.unit.runtime.conftest import MakeHarness

LIMITS = RecordLimits(default_bytes=10_000, per_topic={"small": 2_000})


def record(value: bytes, headers: list[tuple[str, bytes]] | None = None) -> InRecord:
    return InRecord("in", 0, 7, b"cust-1", value, headers or [])


def policy() -> ErrorPolicy:
    return ErrorPolicy("svc", "dlq", LIMITS)


def reason(out: OutRecord) -> str:
    return dict(out.headers)[REASON].decode()


def test_outputs_pass_through_when_they_fit() -> None:
    outputs = [OutRecord("out", b"k", b"v" * 100)]
    assert policy().run(record(b"x"), lambda: outputs) == outputs


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (PermanentError("invalid_thing", "no"), "invalid_thing"),
        (KeyError("a bug"), "unexpected_error"),
        (RecursionError("deep"), "unexpected_error"),
    ],
)
def test_everything_but_transient_and_fatal_becomes_a_dead_letter(
    error: Exception, expected: str
) -> None:
    def fail() -> list[OutRecord]:
        raise error

    [letter] = policy().run(record(b"x"), fail)
    assert letter.topic == "dlq"
    assert reason(letter) == expected
    assert letter.value == b"x"


@pytest.mark.parametrize("error", [TransientError("later"), FatalError("stop")])
def test_transient_and_fatal_errors_propagate(error: Exception) -> None:
    def fail() -> list[OutRecord]:
        raise error

    with pytest.raises(type(error)):
        policy().run(record(b"x"), fail)


def test_an_output_too_large_for_its_topic_dead_letters_the_record() -> None:
    [letter] = policy().run(record(b"x"), lambda: [OutRecord("small", b"k", b"v" * 2_000)])
    assert reason(letter) == "record_too_large"
    message = dict(letter.headers)["rapport.dlq.message"].decode()
    assert "small" in message
    assert "at most 2000" in message


def test_a_dead_letter_that_would_not_fit_is_a_bounded_envelope() -> None:
    value = b"{" + b"y" * 9_900
    big = record(value, headers=[("x-trace", b"t" * 50)])
    letter = policy().dead_letter(big, "invalid_json", "not JSON", ValueError("x"))
    assert record_size(letter) <= LIMITS.max_bytes("dlq")
    assert dict(letter.headers)[TRUNCATED_HEADER] == b"true"
    assert reason(letter) == "invalid_json"
    envelope = json.loads(letter.value or b"")
    assert envelope["size_bytes"] == len(value)
    assert envelope["prefix"].startswith("{yyy")
    assert envelope["headers"] == [["x-trace", "t" * 50]]
    assert letter.key == b"cust-1"


def test_a_record_that_fits_keeps_its_bytes_and_headers() -> None:
    small = record(b"{broken", headers=[("x-trace", b"t-1")])
    letter = policy().dead_letter(small, "invalid_json", "not JSON", ValueError("x"))
    assert letter.value == b"{broken"
    assert ("x-trace", b"t-1") in letter.headers
    assert TRUNCATED_HEADER not in dict(letter.headers)


def test_limits_take_the_smaller_of_producer_and_topic() -> None:
    assert LIMITS.max_bytes("small") == 2_000
    assert LIMITS.max_bytes("other") == 10_000
    assert RecordLimits(1_000, {"t": 5_000}).max_bytes("t") == 1_000


def test_unexpected_errors_are_logged_at_a_bounded_rate(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limited = RateLimitedLog(logging.getLogger("t"), interval_seconds=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="t"):
        for _ in range(50):
            limited.warning("k", "broker gone")
        now[0] = 11.0
        limited.warning("k", "broker gone")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["broker gone", "broker gone (49 more like it in the last 10s)"]


class WholeBatchFails:
    """A batch handler whose write fails for the whole batch when ``poison`` is in it."""

    def __init__(self) -> None:
        self.persisted: list[int] = []

    def handle_batch(self, batch: PartitionBatch) -> list[OutRecord]:
        if any(r.value == b"poison" for r in batch.records):
            raise RuntimeError("constraint violated")
        return [OutRecord("out", r.key, (r.value or b"").upper()) for r in batch.records]


class WholeBatchFailsWithSink(WholeBatchFails):
    def persist_dead_letter(self, rec: InRecord, letter: OutRecord) -> list[OutRecord]:
        self.persisted.append(rec.offset)
        return [letter]


@pytest.mark.parametrize("handler_type", [WholeBatchFails, WholeBatchFailsWithSink])
def test_a_batch_failing_as_a_whole_is_redone_record_by_record(
    make_harness: MakeHarness, handler_type: type[WholeBatchFails]
) -> None:
    handler = handler_type()
    h = make_harness(handler=handler)
    for value in (b"a", b"poison", b"b"):
        h.send(value)

    h.runner.run_once()

    assert h.outputs() == [b"A", b"B"]
    [letter] = h.dead_letters()
    assert letter["rapport.dlq.reason"] == "unexpected_error"
    assert letter["value"] == "poison"
    assert h.broker.committed("group", TopicPartition("in", 0)) == 3
    if isinstance(handler, WholeBatchFailsWithSink):
        assert handler.persisted == [1]  # the handler kept its own dead letter


def test_a_partition_stuck_in_retries_is_reported(make_harness: MakeHarness) -> None:
    def unavailable(rec: InRecord) -> list[OutRecord]:
        raise TransientError("database down")

    h = make_harness(unavailable)
    h.send(b"a")
    h.runner.run_once()
    assert h.runner.stuck_partitions(60) == []
    h.clock.advance(61)
    assert h.runner.stuck_partitions(60) == [TopicPartition("in", 0)]
