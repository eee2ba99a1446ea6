"""The runtime's commit ordering and error paths, against the in-memory broker."""

from __future__ import annotations

import json
from collections.abc import Collection

import pytest

from services.runtime.exceptions import FatalError, PermanentError, TransientError
from services.runtime.records import InRecord, OutRecord, PartitionBatch, TopicPartition
from services.runtime.settings import Delivery
from tests.unit.runtime.conftest import MakeHarness

TP = TopicPartition("in", 0)


def upper(record: InRecord) -> list[OutRecord]:
    value = record.value or b""
    if value == b"bad":
        raise PermanentError("invalid_thing", "bad is not allowed")
    if value == b"bug":
        raise KeyError("oops")
    return [OutRecord("out", record.key, value.upper())]


def test_outputs_and_offsets_commit_in_one_transaction(make_harness: MakeHarness) -> None:
    h = make_harness(upper)
    for value in (b"a", b"b", b"c"):
        h.send(value)

    h.runner.run_once()

    assert h.outputs() == [b"A", b"B", b"C"]
    assert h.broker.committed("group", TP) == 3
    assert h.producer.committed_transactions == 1
    origins = [r.header("rapport.origin") for r in h.broker.records("out")]
    assert origins == [b"in:0:0", b"in:0:1", b"in:0:2"]


def test_permanent_failure_is_dead_lettered_and_later_records_still_flow(
    make_harness: MakeHarness,
) -> None:
    h = make_harness(upper)
    h.broker.produce("in", b"bad", b"cust-1", headers=[("trace", b"t-1")])
    h.send(b"good")

    h.runner.run_once()

    assert h.outputs() == [b"GOOD"]
    [letter] = h.dead_letters()
    assert letter["value"] == "bad"
    assert letter["trace"] == "t-1"  # upstream headers are kept for replay
    assert letter["rapport.dlq.reason"] == "invalid_thing"
    assert letter["rapport.dlq.message"] == "bad is not allowed"
    assert letter["rapport.dlq.origin.topic"] == "in"
    assert letter["rapport.dlq.origin.partition"] == "0"
    assert letter["rapport.dlq.origin.offset"] == "0"
    assert letter["rapport.dlq.service"] == "svc"
    assert letter["rapport.dlq.error.class"] == "PermanentError"
    assert int(letter["rapport.dlq.timestamp"]) > 0
    assert h.broker.committed("group", TP) == 2
    dead = h.runner.metrics.dead_letters.labels("svc", "invalid_thing")._value.get()
    assert dead == 1


def test_unexpected_exception_is_dead_lettered_not_fatal(make_harness: MakeHarness) -> None:
    h = make_harness(upper)
    h.send(b"bug")
    h.send(b"ok")

    h.runner.run_once()

    assert h.outputs() == [b"OK"]
    assert h.dead_letters()[0]["rapport.dlq.reason"] == "unexpected_error"
    assert h.dead_letters()[0]["rapport.dlq.error.class"] == "KeyError"


class Flaky:
    """Fails transiently ``failures`` times, then succeeds."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self, record: InRecord) -> list[OutRecord]:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise TransientError("database unavailable")
        return upper(record)


def test_transient_failure_pauses_rewinds_and_retries_without_skipping(
    make_harness: MakeHarness,
) -> None:
    flaky = Flaky(failures=2)
    h = make_harness(flaky)
    h.send(b"a")
    h.send(b"b")

    h.runner.run_once()  # fails: paused, rewound to offset 0
    assert h.outputs() == []
    assert h.broker.committed("group", TP) is None
    h.runner.run_once()  # still backing off: no tight loop, no call
    assert flaky.calls == 1

    h.clock.advance(1.0)
    h.runner.run_once()  # second failure: the delay doubles
    assert flaky.calls == 2
    h.clock.advance(1.0)
    h.runner.run_once()
    assert flaky.calls == 2
    h.clock.advance(1.0)
    h.runner.run_once()

    assert h.outputs() == [b"A", b"B"]
    assert h.broker.committed("group", TP) == 2


def test_retry_delay_grows_exponentially_and_is_capped(make_harness: MakeHarness) -> None:
    h = make_harness(upper)
    delays = [h.runner.retry_delay(attempt) for attempt in range(1, 8)]
    for attempt, delay in enumerate(delays, start=1):
        nominal = min(8.0, 1.0 * 2 ** (attempt - 1))
        assert 0.8 * nominal <= delay <= nominal


def test_failed_commit_publishes_nothing_and_redelivers(make_harness: MakeHarness) -> None:
    h = make_harness(upper)
    h.send(b"a")
    h.producer.fail_commits = 1

    h.runner.run_once()
    assert h.outputs() == []
    assert h.producer.aborted_transactions == 1
    assert h.broker.committed("group", TP) is None

    h.clock.advance(5)
    h.runner.run_once()
    h.runner.run_once()
    assert h.outputs() == [b"A"]  # exactly once, after the retry
    assert h.broker.committed("group", TP) == 1


def test_fenced_producer_stops_the_service(make_harness: MakeHarness) -> None:
    h = make_harness(upper)
    h.send(b"a")
    h.producer.fenced = True
    with pytest.raises(FatalError):
        h.runner.run_once()


def test_at_least_once_commits_offsets_only_after_flush(make_harness: MakeHarness) -> None:
    h = make_harness(upper, delivery=Delivery.AT_LEAST_ONCE)
    h.send(b"a")
    h.runner.run_once()  # within the commit interval: sent, not yet committed
    assert h.broker.committed("group", TP) is None

    h.send(b"b")
    h.clock.advance(2)
    h.runner.run_once()
    assert h.outputs() == [b"A", b"B"]
    assert h.broker.committed("group", TP) == 2


def test_at_least_once_failed_flush_leaves_offsets_uncommitted(make_harness: MakeHarness) -> None:
    h = make_harness(upper, delivery=Delivery.AT_LEAST_ONCE)
    h.send(b"a")
    h.clock.advance(2)
    h.producer.fail_commits = 1

    h.runner.run_once()
    assert h.broker.committed("group", TP) is None

    h.clock.advance(5)
    h.runner.run_once()
    h.runner.run_once()
    assert h.outputs() == [b"A"]
    assert h.broker.committed("group", TP) == 1


def test_revoke_commits_processed_work(make_harness: MakeHarness) -> None:
    h = make_harness(upper, delivery=Delivery.AT_LEAST_ONCE)
    h.send(b"a")
    h.runner.run_once()
    assert h.broker.committed("group", TP) is None

    h.consumer.rebalance()
    h.runner.run_once()

    assert h.broker.committed("group", TP) == 1
    assert h.outputs() == [b"A"]


def test_lost_partitions_discard_in_flight_work(make_harness: MakeHarness) -> None:
    h = make_harness(upper, delivery=Delivery.AT_LEAST_ONCE)
    h.send(b"a")
    h.runner.run_once()

    h.runner.on_lost([TP])
    h.runner.checkpoint.flush()

    assert h.broker.committed("group", TP) is None


def test_offsets_only_increase(make_harness: MakeHarness) -> None:
    h = make_harness(upper)
    h.send(b"a")
    h.send(b"b")
    h.runner.run_once()
    with pytest.raises(RuntimeError, match="back to"):
        h.runner.checkpoint.commit([], [PartitionBatch(TP, h.broker.records("in")[:1])])


def test_stop_finishes_commits_and_closes(make_harness: MakeHarness) -> None:
    h = make_harness(upper, delivery=Delivery.AT_LEAST_ONCE)
    h.send(b"a")
    h.runner.run_once()
    h.runner.stop()

    h.runner.run()  # returns at once: already stopping

    assert h.broker.committed("group", TP) == 1
    assert h.consumer.closed
    assert h.producer.closed


def test_batch_handler_transient_failure_of_one_partition_does_not_block_others(
    make_harness: MakeHarness,
) -> None:
    class FailPartitionZero:
        def handle_batch(self, batch: PartitionBatch) -> list[OutRecord]:
            if batch.tp.partition == 0:
                raise TransientError("shard 0 down")
            return [OutRecord("out", r.key, r.value) for r in batch.records]

    h = make_harness(handler=FailPartitionZero(), partitions=2)
    h.broker.append("in", OutRecord("in", b"x", b"p0"), partition=0)
    h.broker.append("in", OutRecord("in", b"y", b"p1"), partition=1)

    h.runner.run_once()

    assert h.outputs() == [b"p1"]
    assert h.broker.committed("group", TopicPartition("in", 1)) == 1
    assert h.broker.committed("group", TopicPartition("in", 0)) is None


def test_metrics_count_records_and_lag(make_harness: MakeHarness) -> None:
    h = make_harness(upper)
    for i in range(150):
        h.send(json.dumps(i).encode())
    h.runner.run_once()  # max_poll_records=100

    m = h.runner.metrics
    assert m.records_in.labels("svc", "in")._value.get() == 100
    assert m.records_out.labels("svc", "out")._value.get() == 100
    assert m.consumer_lag.labels("svc", "in", "0")._value.get() == 50
    assert m.assigned_partitions.labels("svc")._value.get() == 1


def test_a_failing_poll_is_retried_not_fatal(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = make_harness(upper)
    h.send(b"a")
    real_poll = h.consumer.poll
    calls = {"n": 0}

    def flaky_poll(timeout_ms: int, max_records: int) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TransientError("broker unavailable")
        return real_poll(timeout_ms, max_records)

    monkeypatch.setattr(h.consumer, "poll", flaky_poll)
    h.runner.stop()  # makes the retry wait return at once
    h.runner.run_once()
    h.runner.run_once()
    assert h.outputs() == [b"A"]


def test_at_least_once_failed_flush_rewinds_work_of_earlier_polls(
    make_harness: MakeHarness,
) -> None:
    h = make_harness(upper, delivery=Delivery.AT_LEAST_ONCE)
    h.send(b"a")
    h.runner.run_once()  # sent, offsets pending (within the commit interval)
    h.send(b"b")
    h.clock.advance(2)
    h.producer.fail_commits = 1  # the flush of both polls' outputs fails

    h.runner.run_once()
    assert h.broker.committed("group", TP) is None

    h.clock.advance(5)
    h.runner.run_once()
    h.clock.advance(5)
    h.runner.run_once()
    assert h.outputs() == [b"A", b"B"]  # "a" was re-read although it came from an earlier poll
    assert h.broker.committed("group", TP) == 2


def test_partition_state_is_reset_on_rewind_and_on_revoke(make_harness: MakeHarness) -> None:
    class Stateful:
        def __init__(self) -> None:
            self.resets: list[list[TopicPartition]] = []
            self.fail = True

        def handle_batch(self, batch: PartitionBatch) -> list[OutRecord]:
            if self.fail:
                self.fail = False
                raise TransientError("once")
            return []

        def reset_partitions(self, partitions: Collection[TopicPartition]) -> None:
            self.resets.append(list(partitions))

    handler = Stateful()
    h = make_harness(handler=handler)
    h.send(b"a")
    h.runner.run_once()
    assert handler.resets == [[TP]]  # rewound: its effects were never committed

    h.consumer.rebalance()
    h.runner.run_once()
    assert handler.resets == [[TP], [TP]]  # revoked: another instance may own it now
