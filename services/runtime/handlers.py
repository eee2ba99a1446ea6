"""Adapting per-record domain functions to the runtime's batch handler."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from services.runtime.deadletter import dead_letter
from services.runtime.exceptions import PermanentError, TransientError
from services.runtime.records import InRecord, OutRecord, PartitionBatch

log = logging.getLogger(__name__)

RecordFunction = Callable[[InRecord], list[OutRecord]]

# topic:partition:offset of the input an output was made from: lineage for operators, and what
# lets a test reconcile every input with exactly one output or dead letter.
ORIGIN_HEADER = "rapport.origin"


def with_origin(output: OutRecord, source: InRecord) -> OutRecord:
    origin = f"{source.topic}:{source.partition}:{source.offset}".encode()
    headers = [(k, v) for k, v in output.headers if k != ORIGIN_HEADER]
    return replace(output, headers=[*headers, (ORIGIN_HEADER, origin)])


class RecordHandler:
    """Runs ``process`` on each record; a record that can never succeed becomes a dead letter.

    Transient errors propagate, so the runtime retries the whole batch: a batch is the unit of
    commit, and skipping ahead past a record that only failed for now would lose it.
    """

    def __init__(self, service: str, dead_letter_topic: str, process: RecordFunction) -> None:
        self._service = service
        self._dead_letter_topic = dead_letter_topic
        self._process = process

    def handle_batch(self, batch: PartitionBatch) -> list[OutRecord]:
        outputs: list[OutRecord] = []
        for record in batch.records:
            try:
                outputs.extend(with_origin(out, record) for out in self._process(record))
            except TransientError:
                raise
            except PermanentError as exc:
                outputs.append(self._dead_letter(record, exc.reason, exc.message, exc))
            except Exception as exc:
                # A bug must not stall the partition forever; the dead letter keeps the record
                # for replay once the bug is fixed.
                log.exception(
                    "unexpected error on %s:%d@%d", record.topic, record.partition, record.offset
                )
                outputs.append(self._dead_letter(record, "unexpected_error", repr(exc), exc))
        return outputs

    def _dead_letter(
        self, record: InRecord, reason: str, message: str, exc: Exception
    ) -> OutRecord:
        return dead_letter(
            record,
            topic=self._dead_letter_topic,
            service=self._service,
            reason=reason,
            message=message,
            error_class=type(exc).__name__,
        )
