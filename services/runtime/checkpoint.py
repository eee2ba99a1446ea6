"""Turning processed batches into committed progress: the one place that knows commit ordering.

Two strategies share one interface:

* exactly-once (default): outputs and input offsets go into one Kafka transaction. Readers in
  ``read_committed`` mode see the outputs if and only if the offsets moved, so a crash at any
  moment either leaves both or neither.
* at-least-once: outputs are sent at once; offsets are committed every ``commit_interval`` after
  a flush. A crash re-reads the records since the last commit and produces their outputs again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import NoReturn

from services.runtime.exceptions import TransientError
from services.runtime.ports import ConsumerPort, ProducerPort
from services.runtime.records import OutRecord, PartitionBatch, TopicPartition
from services.runtime.settings import Delivery

log = logging.getLogger(__name__)


class CheckpointFailedError(TransientError):
    """Nothing was committed; ``rewind`` says where each affected partition must be re-read."""

    def __init__(self, message: str, rewind: dict[TopicPartition, int]) -> None:
        super().__init__(message)
        self.rewind = rewind


class Checkpoint:
    def __init__(
        self,
        consumer: ConsumerPort,
        producer: ProducerPort,
        delivery: Delivery,
        commit_interval_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._consumer = consumer
        self._producer = producer
        self._delivery = delivery
        self._interval = commit_interval_seconds
        self._clock = clock
        self._last_commit = clock()
        self._committed: dict[TopicPartition, int] = {}
        # At-least-once only: batches whose outputs were sent but not yet flushed, as the
        # offset to commit and the first offset to re-read should the flush fail.
        self._pending: dict[TopicPartition, int] = {}
        self._pending_from: dict[TopicPartition, int] = {}

    @property
    def exactly_once(self) -> bool:
        return self._delivery is Delivery.EXACTLY_ONCE

    def start(self) -> None:
        if self.exactly_once:
            # Fences any earlier producer with our transactional id and aborts its open
            # transaction, so records it half-wrote before dying never become visible.
            self._producer.init_transactions()

    def commit(self, outputs: list[OutRecord], batches: Sequence[PartitionBatch]) -> None:
        """Make the outputs of processed batches and their input offsets durable.

        Raises ``CheckpointFailedError`` with nothing committed; the caller rewinds as it says.
        """
        offsets = {batch.tp: batch.next_offset for batch in batches}
        self._require_increasing(offsets)
        if self.exactly_once:
            try:
                self._commit_transaction(outputs, offsets)
            except TransientError as exc:
                rewind = {b.tp: b.first_offset for b in batches}
                raise CheckpointFailedError(str(exc), rewind) from exc
            return
        for batch in batches:
            self._pending_from.setdefault(batch.tp, batch.first_offset)
        self._pending.update(offsets)
        try:
            for record in outputs:
                self._producer.send(record)
        except TransientError as exc:
            self._fail_pending(exc)
        if self._clock() - self._last_commit >= self._interval:
            self.flush()

    def flush(self) -> None:
        """Commit what is pending now (at-least-once; exactly-once never has anything pending)."""
        if not self._pending:
            self._last_commit = self._clock()
            return
        # Flush, then commit: an offset may only be committed once every output of the records
        # before it is acknowledged by the broker, or a crash in between would lose them.
        try:
            self._producer.flush()
            self._consumer.commit(self._pending)
        except TransientError as exc:
            self._fail_pending(exc)
        self._committed.update(self._pending)
        self._pending.clear()
        self._pending_from.clear()
        self._last_commit = self._clock()

    def _fail_pending(self, exc: TransientError) -> NoReturn:
        # Some outputs since the last commit may be lost, and we cannot tell which: every
        # partition with uncommitted work is re-read from where that work began.
        rewind = dict(self._pending_from)
        self._pending.clear()
        self._pending_from.clear()
        raise CheckpointFailedError(str(exc), rewind) from exc

    def on_revoked(self, partitions: Collection[TopicPartition]) -> None:
        """Hand over cleanly: commit what we processed, so the next owner does not redo it."""
        revoked = {tp: off for tp, off in self._pending.items() if tp in partitions}
        if revoked:
            try:
                self._producer.flush()
            except TransientError as exc:
                log.warning("flush on revoke failed; the next owner re-reads: %s", exc)
            else:
                # Runs inside the consumer's rebalance callback, where a blocking commit is not
                # allowed. The async commit is written to the group coordinator before the
                # JoinGroup request on the same connection, and Kafka handles a connection's
                # requests in order, so the next owner reads these offsets.
                self._consumer.commit_async(revoked)
        self._forget(partitions)

    def on_lost(self, partitions: Collection[TopicPartition]) -> None:
        """Membership is gone: a commit would be rejected. The new owner redoes the work."""
        self._forget(partitions)

    def _forget(self, partitions: Collection[TopicPartition]) -> None:
        for tp in partitions:
            self._pending.pop(tp, None)
            self._pending_from.pop(tp, None)
            self._committed.pop(tp, None)

    def _commit_transaction(
        self, outputs: list[OutRecord], offsets: Mapping[TopicPartition, int]
    ) -> None:
        self._producer.begin_transaction()
        try:
            for record in outputs:
                self._producer.send(record)
            # The group metadata lets the broker reject this commit if a rebalance gave the
            # partitions to another member meanwhile (KIP-447 zombie fencing).
            if offsets:  # none: records a handler writes to its own input (scoring's ticks)
                self._producer.send_offsets_to_transaction(offsets, self._consumer.group_metadata())
            self._producer.commit_transaction()
        except TransientError:
            self._abort_quietly()
            raise
        self._committed.update(offsets)

    def _abort_quietly(self) -> None:
        try:
            self._producer.abort_transaction()
        except TransientError as exc:
            # The transaction times out on the broker and is aborted there; nothing of it is
            # ever visible to read_committed consumers.
            log.warning("abort after a failed commit also failed: %s", exc)

    def _require_increasing(self, offsets: Mapping[TopicPartition, int]) -> None:
        # Offsets only ever increase: committing a lower one would make the group re-read
        # records whose outputs are already published.
        for tp, offset in offsets.items():
            last = max(self._committed.get(tp, -1), self._pending.get(tp, -1))
            if offset <= last:
                raise RuntimeError(f"offset for {tp} would go from {last} back to {offset}")
