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
from services.runtime.exceptions import TransientError
from services.runtime.health import Liveness
from services.runtime.metrics import ServiceMetrics
from services.runtime.ports import ConsumerPort, ProducerPort
from services.runtime.records import (
    BatchHandler,
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
        self._report_lag()

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
            state = self._backoffs.get(tp) or _Backoff(0, 0.0)
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
