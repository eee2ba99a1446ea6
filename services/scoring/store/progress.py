"""The exactly-once protocol between Kafka and the database: applied offsets and the outbox.

``services/scoring/service.py`` explains the protocol; these are its reads and writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from services.runtime.exceptions import StateConflictError
from services.runtime.records import OutRecord, TopicPartition
from services.scoring.store.database import insert_rows, insert_statement
from services.scoring.store.tables import applied_offsets, outbox


@dataclass(frozen=True, slots=True)
class Applied:
    """How far a partition's records are applied, and the topic they were read from."""

    next_offset: int
    topic_id: str | None


def lock_partition(conn: Connection, tp: TopicPartition) -> Applied:
    """What is applied of ``tp`` (offset 0 if nothing), row-locked until commit."""
    conn.execute(
        insert_statement(conn)(applied_offsets)
        .values(topic=tp.topic, partition=tp.partition, next_offset=0)
        .on_conflict_do_nothing()
    )
    query = select(applied_offsets.c.next_offset, applied_offsets.c.topic_id).where(
        applied_offsets.c.topic == tp.topic, applied_offsets.c.partition == tp.partition
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).one()
    return Applied(int(row.next_offset), row.topic_id)


def set_applied(
    conn: Connection, tp: TopicPartition, next_offset: int, topic_id: str | None = None
) -> None:
    values: dict[str, Any] = {"next_offset": next_offset}
    if topic_id:
        values["topic_id"] = topic_id
    conn.execute(
        update(applied_offsets)
        .where(applied_offsets.c.topic == tp.topic, applied_offsets.c.partition == tp.partition)
        .values(**values)
    )


def verify_topic(applied: Applied, tp: TopicPartition, current_id: str | None) -> None:
    """Refuse offsets recorded for another topic of the same name.

    After a topic is deleted and recreated, or the cluster is replaced (``rapport kafka start
    --fresh``, a migration), its offsets start again at 0: the stored ones would skip every new
    event below them and re-publish outbox rows of events that no longer exist.
    """
    if not current_id or not applied.topic_id or applied.topic_id == current_id:
        return
    raise StateConflictError(
        f"topic {tp.topic} is not the topic this database was built from (topic id "
        f"{applied.topic_id} in the database, {current_id} on the broker: it was recreated or "
        f"the cluster was replaced); stop every scoring instance and run `rapport scores "
        f"rebuild --apply` to rebuild the scores from the topic as it is now"
    )


def reset_topic(
    conn: Connection, topic: str, offsets: dict[int, int], topic_id: str | None
) -> None:
    """Start a topic's bookkeeping afresh (after a rebuild from a recreated topic): its outbox
    rows belong to the old topic, its applied offsets are the rebuild's bounds."""
    conn.execute(delete(outbox).where(outbox.c.topic == topic))
    conn.execute(delete(applied_offsets).where(applied_offsets.c.topic == topic))
    insert_rows(
        conn,
        applied_offsets,
        [
            {"topic": topic, "partition": p, "next_offset": o, "topic_id": topic_id}
            for p, o in sorted(offsets.items())
        ],
    )


def topic_ids_of(conn: Connection, topic: str) -> set[str]:
    rows = conn.execute(
        select(applied_offsets.c.topic_id).where(
            applied_offsets.c.topic == topic, applied_offsets.c.topic_id.is_not(None)
        )
    )
    return {str(r.topic_id) for r in rows}


def applied_offsets_of(conn: Connection, topic: str) -> dict[int, int]:
    rows = conn.execute(
        select(applied_offsets.c.partition, applied_offsets.c.next_offset).where(
            applied_offsets.c.topic == topic
        )
    )
    return {int(r.partition): int(r.next_offset) for r in rows}


def outbox_rows(
    tp: TopicPartition, source_offset: int, records: Iterable[OutRecord]
) -> list[dict[str, Any]]:
    """Outbox rows of one source record's outputs. Consecutive outputs with the same key, value
    and headers (a score update and its copy on the latest-scores topic) share one row."""
    rows: list[dict[str, Any]] = []
    for r in records:
        if r.partition is not None:
            raise ValueError("outbox records use the key partitioner")
        headers = [[k, v.decode("latin-1")] for k, v in r.headers]
        last = rows[-1] if rows else None
        if (
            last is not None
            and last["out_key"] == r.key
            and last["out_value"] == r.value
            and last["out_headers"] == headers
        ):
            last["out_topics"].append(r.topic)
            continue
        rows.append(
            {
                "topic": tp.topic,
                "partition": tp.partition,
                "source_offset": source_offset,
                "seq": len(rows),
                "out_topics": [r.topic],
                "out_key": r.key,
                "out_value": r.value,
                "out_headers": headers,
            }
        )
    return rows


def add_outbox(conn: Connection, rows: list[dict[str, Any]]) -> None:
    insert_rows(conn, outbox, rows)


def outbox_records(conn: Connection, tp: TopicPartition, first: int, last: int) -> list[OutRecord]:
    rows = conn.execute(
        select(outbox)
        .where(
            outbox.c.topic == tp.topic,
            outbox.c.partition == tp.partition,
            outbox.c.source_offset >= first,
            outbox.c.source_offset <= last,
        )
        .order_by(outbox.c.source_offset, outbox.c.seq)
    )
    return records_of([r._mapping for r in rows])


def records_of(rows: Iterable[Mapping[Any, Any]]) -> list[OutRecord]:
    """The output records of outbox rows (read back, or just written by ``add_outbox``)."""
    return [
        OutRecord(
            topic,
            r["out_key"],
            r["out_value"],
            [(k, v.encode("latin-1")) for k, v in r["out_headers"]],
        )
        for r in rows
        for topic in r["out_topics"]
    ]


def prune_outbox(conn: Connection, tp: TopicPartition, below: int) -> None:
    # The consumer only ever starts a batch at the committed offset, and the outputs of every
    # record before it were committed in the same Kafka transaction as that offset.
    conn.execute(
        delete(outbox).where(
            outbox.c.topic == tp.topic,
            outbox.c.partition == tp.partition,
            outbox.c.source_offset < below,
        )
    )
