"""The one processing-error policy: what happens when one record cannot be processed.

Every service's handler runs each record through ``ErrorPolicy.run``:

* a ``TransientError`` (broker or database unavailable) propagates, and the runtime pauses the
  partition and retries from the first unprocessed record: skipping it would lose it;
* a ``FatalError`` (fenced, a deployment error) propagates and stops the process;
* anything else about the record (undecodable, against the contract, refused by the domain, an
  exception nobody foresaw, an output too large for its topic) becomes a dead letter with a
  reason code, and the next record is processed.

The policy is an object the runtime builds once per service (``build_runner``), so a deployment
can plug in another one (``ServiceSpec.error_policy``); no service keeps a copy of these rules.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol, TypeVar

from services.runtime.deadletter import dead_letter
from services.runtime.exceptions import FatalError, PermanentError, TransientError
from services.runtime.logs import RateLimitedLog
from services.runtime.records import InRecord, OutRecord

log = logging.getLogger(__name__)
T = TypeVar("T")

RECORD_TOO_LARGE: Final = "record_too_large"
UNEXPECTED_ERROR: Final = "unexpected_error"
TRUNCATED_HEADER: Final = "rapport.dlq.truncated"
"""Set on a dead letter that keeps only an envelope of its record (the record did not fit)."""

# What the producer adds to key, value and headers when it sizes a record against
# max_request_size: the record batch header (61 bytes) plus the record's own varints and
# attributes. Generous on purpose: a record this close to the limit is refused before it is sent
# rather than by the broker, which would fail the whole transaction.
_RECORD_OVERHEAD_BYTES: Final = 256
_ENVELOPE_PREFIX_BYTES: Final = 4096
_ENVELOPE_HEADER_BYTES: Final = 256


def record_size(record: OutRecord) -> int:
    """The record's size as the producer and the broker count it, rounded up."""
    headers = sum(len(name.encode()) + len(value or b"") for name, value in record.headers)
    return len(record.key or b"") + len(record.value or b"") + headers + _RECORD_OVERHEAD_BYTES


@dataclass(frozen=True)
class RecordLimits:
    """The largest record each topic takes: the smaller of the producer's ``max_request_size``
    and the topic's ``max.message.bytes`` (which defaults to the broker's ``message.max.bytes``).

    Read once from the broker when a service starts (``kafka_io.topic_record_limits``)."""

    default_bytes: int
    per_topic: Mapping[str, int] = field(default_factory=dict)

    def max_bytes(self, topic: str) -> int:
        return min(self.default_bytes, self.per_topic.get(topic, self.default_bytes))

    def oversized(self, outputs: list[OutRecord]) -> tuple[OutRecord, int] | None:
        """The first output that does not fit its topic, with its size."""
        for output in outputs:
            size = record_size(output)
            if size > self.max_bytes(output.topic):
                return output, size
        return None


class Sealer(Protocol):
    """Encrypts a dead letter's original record (services/runtime/shredding.py, issue 12)."""

    def seal(self, record: InRecord, letter: OutRecord) -> OutRecord: ...

    def close(self) -> None: ...


class ErrorPolicy:
    """Dead-letters every record that fails for a reason other than a transient or fatal one."""

    def __init__(
        self,
        service: str,
        dead_letter_topic: str,
        limits: RecordLimits | None = None,
        sealer: Sealer | None = None,
    ) -> None:
        self.service = service
        self.dead_letter_topic = dead_letter_topic
        self.limits = limits or RecordLimits(default_bytes=1_048_576)
        # Set by build_runner: every dead letter a service writes is sealed (crypto-shredding).
        self.sealer = sealer
        self._unexpected = RateLimitedLog(log, interval_seconds=10.0)

    def run(self, record: InRecord, process: Callable[[], list[OutRecord]]) -> list[OutRecord]:
        """``process()``'s outputs for ``record`` if they can be published, else a dead letter
        of the record."""

        def checked() -> list[OutRecord]:
            outputs = process()
            self.check_sizes(outputs)
            return outputs

        result = self.attempt(record, checked)
        return [result] if isinstance(result, OutRecord) else result

    def attempt(self, record: InRecord, compute: Callable[[], T]) -> T | OutRecord:
        """``compute()``'s result, or the record's dead letter when it fails for good (a step
        of a handler that processes a batch in phases, such as scoring's parse)."""
        try:
            return compute()
        except (TransientError, FatalError):
            raise
        except PermanentError as exc:
            return self.dead_letter(record, exc.reason, exc.message, exc)
        except Exception as exc:
            return self.unexpected(record, exc)

    def check_sizes(self, outputs: list[OutRecord]) -> None:
        """Refuse outputs the broker would refuse. Sent anyway, one would fail the transaction
        that holds every partition's work of the poll, again on every retry: a stall."""
        found = self.limits.oversized(outputs)
        if found is not None:
            output, size = found
            raise PermanentError(
                RECORD_TOO_LARGE,
                f"its output to {output.topic} would be {size} bytes; the topic takes at most "
                f"{self.limits.max_bytes(output.topic)} (max.message.bytes / max_request_size)",
            )

    def unexpected(self, record: InRecord, exc: Exception) -> OutRecord:
        """A bug or an unforeseen input: dead-lettered so that the partition never stalls; the
        dead letter keeps the record for a replay once the cause is fixed."""
        self._unexpected.exception(
            type(exc).__name__,
            "unexpected %s on %s:%d@%d, dead-lettered",
            type(exc).__name__,
            record.topic,
            record.partition,
            record.offset,
        )
        return self.dead_letter(record, UNEXPECTED_ERROR, repr(exc), exc)

    def dead_letter(
        self, record: InRecord, reason: str, message: str, exc: BaseException
    ) -> OutRecord:
        """The record with its dead-letter headers, or a bounded envelope of it when the whole
        record would not fit the dead-letter topic: a dead letter must never fail to send."""
        letter = dead_letter(
            record,
            topic=self.dead_letter_topic,
            service=self.service,
            reason=reason,
            message=message,
            error_class=type(exc).__name__,
        )
        limit = self.limits.max_bytes(self.dead_letter_topic)
        # Sealing only adds bytes: the value stays raw, the key and the headers move into the
        # ciphertext base64-encoded and the message JSON-escaped, beside a nonce, a tag and the
        # key's id. A letter too large in clear is enveloped at once instead of being encrypted
        # whole to be thrown away.
        if record_size(letter) <= limit:
            letter = self._sealed(record, letter)
            if record_size(letter) <= limit:
                return letter
        return self._envelope(record, reason, message, exc)

    def close(self) -> None:
        if self.sealer is not None:
            self.sealer.close()

    def _sealed(self, record: InRecord, letter: OutRecord) -> OutRecord:
        return letter if self.sealer is None else self.sealer.seal(record, letter)

    def _envelope(
        self, record: InRecord, reason: str, message: str, exc: BaseException
    ) -> OutRecord:
        value = record.value or b""
        envelope = {
            "size_bytes": len(value),
            "sha256": hashlib.sha256(value).hexdigest(),
            "prefix": value[:_ENVELOPE_PREFIX_BYTES].decode("utf-8", "replace"),
            "headers": [
                [name, raw[:_ENVELOPE_HEADER_BYTES].decode("utf-8", "replace")]
                for name, raw in record.headers[:64]
            ],
        }
        stripped = InRecord(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            # A key is a customer id; one too large to keep is replaced by its hash.
            key=record.key if len(record.key or b"") <= 1024 else _digest(record.key),
            value=json.dumps(envelope).encode(),
            headers=[],
            timestamp_ms=record.timestamp_ms,
        )
        letter = dead_letter(
            stripped,
            topic=self.dead_letter_topic,
            service=self.service,
            reason=reason,
            message=message[:1024],
            error_class=type(exc).__name__,
        )
        return self._sealed(
            record,
            OutRecord(
                letter.topic,
                letter.key,
                letter.value,
                [*letter.headers, (TRUNCATED_HEADER, b"true")],
            ),
        )


def _digest(data: bytes | None) -> bytes:
    return hashlib.sha256(data or b"").hexdigest().encode()
