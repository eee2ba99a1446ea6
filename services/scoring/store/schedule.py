"""Time as an input: each partition's watermark and its customers' review times."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from services.runtime.records import TopicPartition
from services.scoring.store.customers import Who, per_tenant
from services.scoring.store.database import upsert
from services.scoring.store.tables import partition_clock, review_schedule


@dataclass(frozen=True, slots=True)
class PartitionClock:
    watermark_us: int | None
    """Max event time seen on the partition minus the allowed lateness (None: nothing yet)."""
    next_due_us: int | None
    """The earliest review time of the partition's customers (None: nobody to review)."""


def partition_clock_of(conn: Connection, tp: TopicPartition) -> PartitionClock:
    row = conn.execute(
        select(partition_clock.c.watermark_us, partition_clock.c.next_due_us).where(
            partition_clock.c.topic == tp.topic, partition_clock.c.partition == tp.partition
        )
    ).first()
    if row is None:
        return PartitionClock(None, None)
    return PartitionClock(row.watermark_us, row.next_due_us)


def set_partition_clock(conn: Connection, tp: TopicPartition, clock: PartitionClock) -> None:
    upsert(
        conn,
        partition_clock,
        [
            {
                "topic": tp.topic,
                "partition": tp.partition,
                "watermark_us": clock.watermark_us,
                "next_due_us": clock.next_due_us,
            }
        ],
    )


def reviews_until(conn: Connection, partition: int, until_us: int) -> dict[Who, int]:
    """The stored review times of ``partition`` up to ``until_us`` (an index range read), by
    (tenant, customer)."""
    t = review_schedule.c
    rows = conn.execute(
        select(t.tenant, t.customer_id, t.next_review_us).where(
            t.partition == partition, t.next_review_us <= until_us
        )
    )
    return {(str(r.tenant), str(r.customer_id)): int(r.next_review_us) for r in rows}


def reviews_of(conn: Connection, customers: Collection[Who]) -> dict[Who, int]:
    """The stored review times of these customers."""
    found: dict[Who, int] = {}
    t = review_schedule.c
    for tenant, chunk in per_tenant(customers):
        rows = conn.execute(
            select(t.customer_id, t.next_review_us).where(
                t.tenant == tenant, t.customer_id.in_(chunk)
            )
        )
        found.update(((tenant, str(r.customer_id)), int(r.next_review_us)) for r in rows)
    return found


def save_schedule(conn: Connection, partition: int, reviews: Mapping[Who, int | None]) -> None:
    """Upsert the review times of these customers (None: nothing to review, row deleted)."""
    upsert(
        conn,
        review_schedule,
        [
            {"tenant": tenant, "customer_id": cid, "partition": partition, "next_review_us": at}
            for (tenant, cid), at in sorted(reviews.items())
            if at is not None
        ],
    )
    gone = [who for who, at in reviews.items() if at is None]
    t = review_schedule.c
    for tenant, chunk in per_tenant(gone):
        conn.execute(delete(review_schedule).where(t.tenant == tenant, t.customer_id.in_(chunk)))
