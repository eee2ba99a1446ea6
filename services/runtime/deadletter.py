"""Dead-letter records: the original bytes plus headers saying where they came from and why."""

from __future__ import annotations

import time

from services.runtime.records import InRecord, OutRecord

HEADER_PREFIX = "rapport.dlq."
ORIGIN_TOPIC = HEADER_PREFIX + "origin.topic"
ORIGIN_PARTITION = HEADER_PREFIX + "origin.partition"
ORIGIN_OFFSET = HEADER_PREFIX + "origin.offset"
SERVICE = HEADER_PREFIX + "service"
ERROR_CLASS = HEADER_PREFIX + "error.class"
REASON = HEADER_PREFIX + "reason"
MESSAGE = HEADER_PREFIX + "message"
TIMESTAMP = HEADER_PREFIX + "timestamp"

# Kafka puts no limit on header size, but a multi-megabyte message would make a small record
# huge; the reason code and the start of the message are what a person needs.
_MAX_MESSAGE_BYTES = 4096


def dead_letter(
    record: InRecord,
    *,
    topic: str,
    service: str,
    reason: str,
    message: str,
    error_class: str,
    now_ms: int | None = None,
) -> OutRecord:
    # Original headers stay first and untouched so a replay can strip ours and re-send exactly
    # what upstream sent.
    headers = [(k, v) for k, v in record.headers if not k.startswith(HEADER_PREFIX)]
    headers += [
        (ORIGIN_TOPIC, record.topic.encode()),
        (ORIGIN_PARTITION, str(record.partition).encode()),
        (ORIGIN_OFFSET, str(record.offset).encode()),
        (SERVICE, service.encode()),
        (ERROR_CLASS, error_class.encode()),
        (REASON, reason.encode()),
        (MESSAGE, message.encode("utf-8", "replace")[:_MAX_MESSAGE_BYTES]),
        (TIMESTAMP, str(now_ms if now_ms is not None else int(time.time() * 1000)).encode()),
    ]
    return OutRecord(topic=topic, key=record.key, value=record.value, headers=headers)


def reason_of(record: OutRecord) -> str | None:
    return next((v.decode() for k, v in record.headers if k == REASON), None)
