"""The consume-process-commit loop every Rapport service runs."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from services.runtime.checkpoint import Checkpoint, CheckpointFailedError
from services.runtime.deadletter import reason_of
from services.runtime.exceptions import FatalError, TransientError
from services.runtime.health import Liveness
from services.runtime.metrics import ServiceMetrics
from services.runtime.policy import ErrorPolicy
from services.runtime.ports import ConsumerPort, ProducerPort
from services.runtime.records import (
    BatchHandler,
    DeadLetterSink,
    InRecord,
    OutRecord,
    PartitionBatch,
    PartitionStateHandler,
    TopicPartition,
)
from services.runtime.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class _Backoff:
    attempts: int
    resume_at: float
    since: float
    """When the partition first failed; readiness turns false once it is stuck too long."""


@dataclass
class _Isolated:
    """A batch redone one record at a time: what succeeded, and where a retry must start."""

    outputs: list[OutRecord]
    done: PartitionBatch | None
    retry_from: tuple[int, TransientError] | None


class ServiceRunner:
    """Polls, hands each partition's records to the handler, commits through the checkpoint.

    Invariant: when ``poll`` runs, every processed batch is committed (exactly-once) or staged in
    the checkpoint (at-least-once). Rebalance callbacks only fire inside ``poll``, so they never
    see a half-processed batch.
    """

    def __init__(
        self,
        service: str,
        handler: BatchHandler,
        *,
        consumer: ConsumerPort,
        producer: ProducerPort,
        settings: Settings,
        input_topics: Sequence[str],
        metrics: ServiceMetrics | None = None,
        liveness: Liveness | None = None,
        policy: ErrorPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.service = service
        self._handler = handler
        self._consumer = consumer
        self._settings = settings
        self._input_topics = list(input_topics)
        self.metrics = metrics or ServiceMetrics(service)
        self.liveness = liveness or Liveness(settings.liveness_timeout_seconds, clock)
        self._clock = clock
        self._rng = rng or random.Random()
        self._dead_letter_topic = settings.topics.dead_letter
        self.policy = policy or ErrorPolicy(service, settings.topics.dead_letter)
        self.checkpoint = Checkpoint(consumer, producer, settings.delivery, clock=clock)
        self._producer = producer
        self._backoffs: dict[TopicPartition, _Backoff] = {}
        # Next offset to read per partition, for lag; known once a partition has been fetched.
        self._positions: dict[TopicPartition, int] = {}
        self._stop = threading.Event()
        # Replaced, never mutated, so the HTTP thread can read it without a lock.
        self.assigned: frozenset[TopicPartition] = frozenset()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self.checkpoint.start()
        self._consumer.subscribe(self._input_topics, listener=self)

    def run(self) -> None:
        """Run until ``stop()``; then finish the batch in hand, commit, and close."""
        self.start()
        try:
            while not self._stop.is_set():
                self.run_once()
        finally:
            self.close()

    def stop(self) -> None:
        """Safe from signal handlers and other threads: the loop exits after the current batch."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        try:
            self.checkpoint.flush()
        except TransientError as exc:
            log.warning("final commit failed; uncommitted records will be re-read: %s", exc)
        # Closing the consumer leaves the group at once, so the partitions move to another
        # instance now rather than after the session timeout.
        self._consumer.close()
        self._producer.close()
        self.policy.close()  # the dead-letter key topic's clients (issue 12)

    # -- one iteration ---------------------------------------------------------------------

    def run_once(self) -> None:
        self._resume_due_partitions()
        try:
            polled = self._consumer.poll(
                self._settings.poll_timeout_ms, self._settings.max_poll_records
            )
        except TransientError as exc:
            # Nothing was handed to us, so nothing can be lost: wait (interruptibly) and poll
            # again. Liveness does not beat, so a broker outage that never ends shows in /healthz.
            log.warning("poll failed, retrying: %s", exc, extra={"service": self.service})
            self._stop.wait(self._settings.retry_initial_seconds)
            return
        self.liveness.beat()
        batches = [PartitionBatch(tp, records) for tp, records in polled.items() if records]
        if batches:
            self._process(batches)
        self._write_periodic_records()
        self._report_lag()

    # -- issue 17: records a handler writes to its own input (scoring's idle-partition ticks) --
    def _write_periodic_records(self) -> None:
        periodic = getattr(self._handler, "periodic_records", None)
        if periodic is None or not self.assigned:
            return
        records: list[OutRecord] = periodic(self.assigned)
        if not records:
            return
        try:
            self.checkpoint.commit(records, [])
        except CheckpointFailedError as exc:
            log.warning("periodic records not written, next time: %s", exc)

    def _process(self, batches: list[PartitionBatch]) -> None:
        outputs: list[OutRecord] = []
        done: list[PartitionBatch] = []
        for batch in batches:
            self.metrics.records_in.labels(self.service, batch.tp.topic).inc(len(batch.records))
            started = self._clock()
            try:
                outputs.extend(self._handler.handle_batch(batch))
            except TransientError as exc:
                self.metrics.count_retried(len(batch.records))
                self._back_off({batch.tp: batch.first_offset}, exc)
                continue
            except FatalError:
                raise
            except Exception as exc:
                # The handler failed as a whole, outside its per-record guard (say, a database
                # constraint on a value nobody foresaw). Failing the poll would stall every
                # partition on the same record forever; redone a record at a time, the error
                # policy dead-letters the culprit and the rest goes on.
                isolated = self._isolate(batch, exc)
                outputs.extend(isolated.outputs)
                if isolated.done is not None:
                    done.append(isolated.done)
                if isolated.retry_from is not None:
                    offset, transient = isolated.retry_from
                    self._back_off({batch.tp: offset}, transient)
                continue
            finally:
                self.metrics.processing_seconds.labels(self.service).observe(
                    self._clock() - started
                )
            done.append(batch)
        if not done:
            return
        try:
            self.checkpoint.commit(outputs, done)
        except CheckpointFailedError as exc:
            self.metrics.commits.labels(self.service, "failed").inc()
            self._back_off(exc.rewind, exc)
            return
        self.metrics.commits.labels(self.service, "committed").inc()
        for batch in done:
            self._backoffs.pop(batch.tp, None)
            self._positions[batch.tp] = batch.next_offset
            self.metrics.processed(batch.tp, batch.records)
        self._count_outputs(outputs)

    def _isolate(self, batch: PartitionBatch, exc: Exception) -> _Isolated:
        log.warning(
            "batch of %s:%d failed as a whole (%r): redoing it a record at a time",
            batch.tp.topic,
            batch.tp.partition,
            exc,
            extra={"service": self.service},
        )
        # Whatever the failed attempt left in the handler's per-partition state is uncommitted.
        self._reset_handler_state([batch.tp])
        outputs: list[OutRecord] = []
        handled: list[InRecord] = []
        for record in batch.records:
            try:
                outputs.extend(self._handler.handle_batch(PartitionBatch(batch.tp, [record])))
            except TransientError as transient:
                done = PartitionBatch(batch.tp, handled) if handled else None
                return _Isolated(outputs, done, (record.offset, transient))
            except FatalError:
                raise
            except Exception as failure:
                letter = self.policy.unexpected(record, failure)
                if isinstance(self._handler, DeadLetterSink):
                    outputs.extend(self._handler.persist_dead_letter(record, letter))
                else:
                    outputs.append(letter)
            handled.append(record)
        return _Isolated(outputs, PartitionBatch(batch.tp, handled), None)

    def _count_outputs(self, outputs: list[OutRecord]) -> None:
        for record in outputs:
            if record.topic == self._dead_letter_topic:
                reason = reason_of(record) or "unknown"
                self.metrics.count_dead_letter(reason)
            else:
                self.metrics.records_out.labels(self.service, record.topic).inc()

    # -- transient failures ----------------------------------------------------------------

    def _back_off(self, rewind: dict[TopicPartition, int], exc: Exception) -> None:
        """Pause the partitions and rewind them to the first unprocessed record.

        Pausing (rather than sleeping) keeps the loop polling, so heartbeats continue, other
        partitions progress, and a shutdown request is noticed at once.
        """
        self._consumer.pause(list(rewind))
        self._reset_handler_state(rewind)
        for tp, offset in rewind.items():
            self._consumer.seek(tp, offset)
            self._positions[tp] = offset
            state = self._backoffs.get(tp) or _Backoff(0, 0.0, self._clock())
            state.attempts += 1
            delay = self.retry_delay(state.attempts)
            state.resume_at = self._clock() + delay
            self._backoffs[tp] = state
            log.warning(
                "transient failure on %s:%d, retry %d in %.1fs: %s",
                tp.topic,
                tp.partition,
                state.attempts,
                delay,
                exc,
                extra={"service": self.service, "attempt": state.attempts},
            )
        self.metrics.paused_partitions.labels(self.service).set(len(self._backoffs))

    def retry_delay(self, attempt: int) -> float:
        """Exponential, capped, with jitter so that many instances do not retry in lockstep."""
        base = min(
            self._settings.retry_max_seconds,
            self._settings.retry_initial_seconds * 2 ** (attempt - 1),
        )
        return float(base * self._rng.uniform(0.8, 1.0))

    def _resume_due_partitions(self) -> None:
        now = self._clock()
        due = [tp for tp, b in self._backoffs.items() if b.resume_at <= now]
        if due:
            # The backoff state stays until the batch succeeds, so repeated failures keep
            # growing the delay instead of restarting at the initial one.
            self._consumer.resume(due)
            for tp in due:
                self._backoffs[tp].resume_at = float("inf")

    def stuck_partitions(self, threshold_seconds: float) -> list[TopicPartition]:
        """Partitions failing transiently for longer than the threshold (for readiness)."""
        now = self._clock()
        backoffs = dict(self._backoffs)  # read from the HTTP thread: iterate a copy
        return sorted(tp for tp, b in backoffs.items() if now - b.since > threshold_seconds)

    # -- rebalance listener ----------------------------------------------------------------

    def on_revoked(self, partitions: Collection[TopicPartition]) -> None:
        self.checkpoint.on_revoked(partitions)
        self._forget(partitions)

    def on_lost(self, partitions: Collection[TopicPartition]) -> None:
        self.checkpoint.on_lost(partitions)
        self._forget(partitions)

    def on_assigned(self, partitions: Collection[TopicPartition]) -> None:
        log.info("assigned %s", sorted(partitions), extra={"service": self.service})
        self.assigned = self.assigned | frozenset(partitions)
        self.metrics.assigned_partitions.labels(self.service).set(len(self.assigned))

    def _reset_handler_state(self, partitions: Collection[TopicPartition]) -> None:
        if isinstance(self._handler, PartitionStateHandler):
            self._handler.reset_partitions(list(partitions))

    def _forget(self, partitions: Collection[TopicPartition]) -> None:
        self._reset_handler_state(partitions)
        for tp in partitions:
            self._backoffs.pop(tp, None)
            self._positions.pop(tp, None)
        self.metrics.forget_partitions(list(partitions))
        self.metrics.paused_partitions.labels(self.service).set(len(self._backoffs))
        self.assigned = self.assigned - frozenset(partitions)
        self.metrics.assigned_partitions.labels(self.service).set(len(self.assigned))

    # -- observability ---------------------------------------------------------------------

    def _report_lag(self) -> None:
        lags: dict[TopicPartition, int] = {}
        for tp, processed in self._positions.items():
            highwater = self._consumer.highwater(tp)
            if highwater is None:
                continue
            # On a transactional input every transaction ends with a commit marker that is never
            # handed to us: counted from the last processed record, an idle partition would show
            # a lag of 1 forever. The consumer's own position steps over markers.
            position = self._consumer.position(tp)
            lags[tp] = max(0, highwater - max(processed, position or 0))
        self.metrics.set_lag(lags)
