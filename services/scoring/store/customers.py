"""Customer state: bulk loads and writes per partition batch, erasure, and reads for tools."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Engine, delete, select, tuple_
from sqlalchemy.engine import Connection

from services.scoring.alerts import AlertTracker
from services.scoring.domain import CustomerRecord, RecentEvent
from services.scoring.model import CustomerState, Scores
from services.scoring.store.database import chunks, upsert
from services.scoring.store.tables import (
    alert_state,
    alerts,
    customer_state,
    erasures,
    processed_events,
    review_schedule,
    score_history,
)

# --- bulk loads -----------------------------------------------------------------------------------


def processed_among(conn: Connection, keys: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (customer, event id) pairs among ``keys`` that were already applied."""
    found: set[tuple[str, str]] = set()
    ordered = sorted(keys)
    for chunk in chunks(ordered):
        rows = conn.execute(
            select(processed_events.c.customer_id, processed_events.c.event_id).where(
                tuple_(processed_events.c.customer_id, processed_events.c.event_id).in_(chunk)
            )
        )
        found.update((r.customer_id, r.event_id) for r in rows)
    return found


def erasures_among(conn: Connection, event_ids: Collection[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(sorted(event_ids)):
        rows = conn.execute(select(erasures.c.event_id).where(erasures.c.event_id.in_(chunk)))
        found.update(r.event_id for r in rows)
    return found


def record_from_rows(
    state_row: Mapping[str, Any] | None, tracker: Mapping[str, Any] | None, customer_id: str
) -> CustomerRecord:
    if state_row is None:
        return CustomerRecord(CustomerState.empty(customer_id), AlertTracker.from_json(tracker))
    return CustomerRecord(
        state=CustomerState.from_row(state_row),
        tracker=AlertTracker.from_json(tracker),
        recent=tuple(RecentEvent.from_json(item) for item in state_row["recent_events"]),
        tenant_id=state_row["tenant_id"],
    )


RecordVersion = tuple[int, str]
"""(event_count, last_event_id) of a stored customer: changes with every event applied to it
(and an erasure deletes the row), so a copy of the record with the same version is that
record."""


def record_versions(conn: Connection, customer_ids: Collection[str]) -> dict[str, RecordVersion]:
    """The version of every stored customer among ``customer_ids`` (a narrow read, no JSON)."""
    found: dict[str, RecordVersion] = {}
    for chunk in chunks(sorted(customer_ids)):
        for row in conn.execute(
            select(
                customer_state.c.customer_id,
                customer_state.c.event_count,
                customer_state.c.last_event_id,
            ).where(customer_state.c.customer_id.in_(chunk))
        ):
            found[row.customer_id] = (int(row.event_count), str(row.last_event_id))
    return found


def load_records(conn: Connection, customer_ids: Collection[str]) -> dict[str, CustomerRecord]:
    """Every customer's record (empty for a customer not seen yet), in two queries per chunk."""
    states: dict[str, Mapping[str, Any]] = {}
    trackers: dict[str, Any] = {}
    ordered = sorted(customer_ids)
    for chunk in chunks(ordered):
        for row in conn.execute(
            select(customer_state).where(customer_state.c.customer_id.in_(chunk))
        ):
            states[row.customer_id] = dict(row._mapping)
        for tracked in conn.execute(
            select(alert_state).where(alert_state.c.customer_id.in_(chunk))
        ):
            trackers[tracked.customer_id] = tracked.tracker
    return {cid: record_from_rows(states.get(cid), trackers.get(cid), cid) for cid in ordered}


# --- bulk writes ----------------------------------------------------------------------------------


def state_row(record: CustomerRecord, scores: Scores, last_event_id: str) -> dict[str, Any]:
    row = record.state.to_row()
    row.update(
        trust=scores.trust,
        trust_stddev=scores.trust_stddev,
        trust_uncertainty=scores.trust_uncertainty,
        loyalty=scores.loyalty,
        loyalty_uncertainty=scores.loyalty_uncertainty,
        churn_risk=scores.churn_risk,
        segment=scores.segment.value,
        tenant_id=record.tenant_id,
        last_event_id=last_event_id,
        recent_events=record.recent,  # named tuples: stored as JSON arrays
    )
    return row


def save_states(conn: Connection, rows: list[dict[str, Any]]) -> None:
    upsert(conn, customer_state, rows)


def save_trackers(conn: Connection, trackers: Mapping[str, AlertTracker]) -> None:
    upsert(
        conn,
        alert_state,
        [{"customer_id": cid, "tracker": t.to_json()} for cid, t in sorted(trackers.items())],
    )


def prune_history(conn: Connection, customer_ids: Collection[str], keep: int) -> None:
    """Keep the newest ``keep`` score-history rows of each of these customers (the bound of
    ``publishing.history_limit``)."""
    for customer in sorted(customer_ids):
        oldest_dropped = (
            select(score_history.c.id)
            .where(score_history.c.customer_id == customer)
            .order_by(score_history.c.id.desc())
            .offset(keep)
            .limit(1)
            .scalar_subquery()
        )
        conn.execute(
            delete(score_history).where(
                score_history.c.customer_id == customer, score_history.c.id <= oldest_dropped
            )
        )


def prune_processed(conn: Connection, customer_ids: Collection[str], keep: int) -> dict[str, int]:
    """Bound each of these customers' processed ids to about ``keep``: the ids of events dated
    at or before the ``keep``-th newest one's predecessor are deleted. Returns, per customer
    pruned, that time: the bound up to which their ids are forgotten (events dated at or
    before it must be refused, they may be duplicates)."""
    bounds: dict[str, int] = {}
    for customer in sorted(customer_ids):
        newest_dropped = conn.execute(
            select(processed_events.c.occurred_us)
            .where(processed_events.c.customer_id == customer)
            .order_by(processed_events.c.occurred_us.desc().nulls_last())
            .offset(keep)
            .limit(1)
        ).first()
        if newest_dropped is None:
            continue
        mine = processed_events.c.customer_id == customer
        unknown = processed_events.c.occurred_us.is_(None)  # stored before the time was kept
        if newest_dropped.occurred_us is None:
            conn.execute(delete(processed_events).where(mine, unknown))
            continue
        bound = int(newest_dropped.occurred_us)
        old = (processed_events.c.occurred_us <= bound) | unknown
        conn.execute(delete(processed_events).where(mine, old))
        bounds[customer] = bound
    return bounds


def upsert_alerts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    upsert(conn, alerts, rows)


def erase_customers(conn: Connection, customer_ids: Collection[str]) -> None:
    """Delete everything held about these customers (the erasures table holds no customer)."""
    ordered = sorted(customer_ids)
    for chunk in chunks(ordered):
        for table in (
            customer_state,
            score_history,
            processed_events,
            alert_state,
            alerts,
            review_schedule,
        ):
            conn.execute(delete(table).where(table.c.customer_id.in_(chunk)))


# --- reads for tools ------------------------------------------------------------------------------


def all_states(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every customer_state row by customer (``rapport scores rebuild``, tests)."""
    with engine.connect() as conn:
        return {
            r.customer_id: dict(r._mapping)
            for r in conn.execute(select(customer_state).order_by(customer_state.c.customer_id))
        }


def all_processed(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        return {
            (r.customer_id, r.event_id)
            for r in conn.execute(
                select(processed_events.c.customer_id, processed_events.c.event_id)
            )
        }


def customer_view(
    engine: Engine, customer_id: str, history: int = 20
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """A customer's state row, latest history rows (newest first) and alerts."""
    with engine.connect() as conn:
        row = conn.execute(
            select(customer_state).where(customer_state.c.customer_id == customer_id)
        ).first()
        rows = conn.execute(
            select(score_history)
            .where(score_history.c.customer_id == customer_id)
            .order_by(score_history.c.id.desc())
            .limit(history)
        )
        found_alerts = conn.execute(
            select(alerts)
            .where(alerts.c.customer_id == customer_id)
            .order_by(alerts.c.raised_at, alerts.c.alert_id)
        )
        return (
            None if row is None else dict(row._mapping),
            [dict(r._mapping) for r in rows],
            [dict(r._mapping) for r in found_alerts],
        )
