"""Adapting per-record domain functions to the runtime's batch handler."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from services.runtime.policy import ErrorPolicy
from services.runtime.records import InRecord, OutRecord, PartitionBatch

RecordFunction = Callable[[InRecord], list[OutRecord]]

# topic:partition:offset of the input an output was made from: lineage for operators, and what
# lets a test reconcile every input with exactly one output or dead letter.
ORIGIN_HEADER = "rapport.origin"


def with_origin(output: OutRecord, source: InRecord) -> OutRecord:
    origin = f"{source.topic}:{source.partition}:{source.offset}".encode()
    headers = [(k, v) for k, v in output.headers if k != ORIGIN_HEADER]
    # Built directly: a few outputs per event, and ``dataclasses.replace`` costs several
    # times a constructor.
    return OutRecord(
        output.topic,
        output.key,
        output.value,
        [*headers, (ORIGIN_HEADER, origin)],
        output.partition,
    )


class RecordHandler:
    """Runs ``process`` on each record under the service's error policy.

    Transient errors propagate, so the runtime retries the whole batch: a batch is the unit of
    commit, and skipping ahead past a record that only failed for now would lose it.
    """

    def __init__(self, policy: ErrorPolicy, process: RecordFunction) -> None:
        self._policy = policy
        self._process = process

    def handle_batch(self, batch: PartitionBatch) -> list[OutRecord]:
        outputs: list[OutRecord] = []
        for record in batch.records:
            results = self._policy.run(record, partial(self._process, record))
            outputs.extend(with_origin(out, record) for out in results)
        return outputs
