"""Customer state: bulk loads and writes per partition batch, erasure, and reads for tools."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Engine, delete, select, tuple_
from sqlalchemy.engine import Connection

from schemas.identity import DEFAULT_TENANT
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

Who = tuple[str, str]
"""(tenant, customer id): a customer, as every scoring table keys it."""
EventOf = tuple[str, str, str]
"""(tenant, customer id, event id): an applied event."""


def per_tenant(customers: Collection[tuple[str, str]]) -> Iterator[tuple[str, Sequence[str]]]:
    """(tenant, a chunk of its customer (or event) ids), in order. Queries select ``tenant = ? AND
    customer_id IN (...)``: an index search per id; SQLite scans the whole table for a
    row-value ``(tenant, customer_id) IN (...)``."""
    by_tenant: dict[str, list[str]] = {}
    for tenant, customer in sorted(customers):
        by_tenant.setdefault(tenant, []).append(customer)
    for tenant, ids in by_tenant.items():
        for chunk in chunks(ids):
            yield tenant, chunk


def _of(table: Any, tenant: str, customer_ids: Sequence[str]) -> tuple[Any, Any]:
    return table.c.tenant == tenant, table.c.customer_id.in_(customer_ids)


# --- bulk loads -----------------------------------------------------------------------------------


def processed_among(conn: Connection, keys: Collection[EventOf]) -> set[EventOf]:
    """The (tenant, customer, event id) triples among ``keys`` that were already applied."""
    found: set[EventOf] = set()
    t = processed_events.c
    by_tenant: dict[str, list[tuple[str, str]]] = {}
    for tenant, customer, event in sorted(keys):
        by_tenant.setdefault(tenant, []).append((customer, event))
    for tenant, pairs in by_tenant.items():
        for chunk in chunks(pairs):
            customers = sorted({customer for customer, _ in chunk})
            rows = conn.execute(
                select(t.customer_id, t.event_id).where(
                    # The customers' index range first, then the exact pairs.
                    *_of(processed_events, tenant, customers),
                    tuple_(t.customer_id, t.event_id).in_(chunk),
                )
            )
            found.update((tenant, r.customer_id, r.event_id) for r in rows)
    return found


def erasures_among(conn: Connection, events: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (tenant, event id) pairs among ``events`` that are completed erasure requests."""
    found: set[tuple[str, str]] = set()
    for tenant, chunk in per_tenant(events):
        rows = conn.execute(
            select(erasures.c.event_id).where(
                erasures.c.tenant == tenant, erasures.c.event_id.in_(chunk)
            )
        )
        found.update((tenant, r.event_id) for r in rows)
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


def record_versions(conn: Connection, customers: Collection[Who]) -> dict[Who, RecordVersion]:
    """The version of every stored customer among ``customers`` (a narrow read, no JSON)."""
    found: dict[Who, RecordVersion] = {}
    c = customer_state.c
    for tenant, chunk in per_tenant(customers):
        for row in conn.execute(
            select(c.customer_id, c.event_count, c.last_event_id).where(
                *_of(customer_state, tenant, chunk)
            )
        ):
            found[(tenant, row.customer_id)] = (int(row.event_count), str(row.last_event_id))
    return found


def load_records(conn: Connection, customers: Collection[Who]) -> dict[Who, CustomerRecord]:
    """Every customer's record (empty for a customer not seen yet), in two queries per chunk."""
    states: dict[Who, Mapping[str, Any]] = {}
    trackers: dict[Who, Any] = {}
    for tenant, chunk in per_tenant(customers):
        for row in conn.execute(select(customer_state).where(*_of(customer_state, tenant, chunk))):
            states[(tenant, row.customer_id)] = dict(row._mapping)
        for tracked in conn.execute(select(alert_state).where(*_of(alert_state, tenant, chunk))):
            trackers[(tenant, tracked.customer_id)] = tracked.tracker
    return {
        who: record_from_rows(states.get(who), trackers.get(who), who[1])
        for who in sorted(customers)
    }


# --- bulk writes ----------------------------------------------------------------------------------


def state_row(
    tenant: str, record: CustomerRecord, scores: Scores, last_event_id: str
) -> dict[str, Any]:
    row = record.state.to_row()
    row.update(
        tenant=tenant,
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


def save_trackers(conn: Connection, trackers: Mapping[Who, AlertTracker]) -> None:
    upsert(
        conn,
        alert_state,
        [
            {"tenant": tenant, "customer_id": cid, "tracker": t.to_json()}
            for (tenant, cid), t in sorted(trackers.items())
        ],
    )


def prune_history(conn: Connection, customers: Collection[Who], keep: int) -> None:
    """Keep the newest ``keep`` score-history rows of each of these customers (the bound of
    ``publishing.history_limit``)."""
    for tenant, customer in sorted(customers):
        mine = (score_history.c.tenant == tenant, score_history.c.customer_id == customer)
        oldest_dropped = (
            select(score_history.c.id)
            .where(*mine)
            .order_by(score_history.c.id.desc())
            .offset(keep)
            .limit(1)
            .scalar_subquery()
        )
        conn.execute(delete(score_history).where(*mine, score_history.c.id <= oldest_dropped))


def prune_processed(conn: Connection, customers: Collection[Who], keep: int) -> dict[Who, int]:
    """Bound each of these customers' processed ids to about ``keep``: the ids of events dated
    at or before the ``keep``-th newest one's predecessor are deleted. Returns, per customer
    pruned, that time: the bound up to which their ids are forgotten (events dated at or
    before it must be refused, they may be duplicates)."""
    bounds: dict[Who, int] = {}
    for who in sorted(customers):
        tenant, customer = who
        mine = (processed_events.c.tenant == tenant, processed_events.c.customer_id == customer)
        newest_dropped = conn.execute(
            select(processed_events.c.occurred_us)
            .where(*mine)
            .order_by(processed_events.c.occurred_us.desc().nulls_last())
            .offset(keep)
            .limit(1)
        ).first()
        if newest_dropped is None:
            continue
        unknown = processed_events.c.occurred_us.is_(None)  # stored before the time was kept
        if newest_dropped.occurred_us is None:
            conn.execute(delete(processed_events).where(*mine, unknown))
            continue
        bound = int(newest_dropped.occurred_us)
        old = (processed_events.c.occurred_us <= bound) | unknown
        conn.execute(delete(processed_events).where(*mine, old))
        bounds[who] = bound
    return bounds


def upsert_alerts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    upsert(conn, alerts, rows)


ERASED_TABLES: Final = (
    customer_state,
    score_history,
    processed_events,
    alert_state,
    alerts,
    review_schedule,
)
"""Every table an erasure deletes the customer's rows from (the erasure receipt names them)."""


def erase_customers(conn: Connection, customers: Collection[Who]) -> None:
    """Delete everything held about these customers (the erasures table holds no customer)."""
    for tenant, chunk in per_tenant(customers):
        for table in ERASED_TABLES:
            conn.execute(delete(table).where(*_of(table, tenant, chunk)))


# --- reads for tools ------------------------------------------------------------------------------


def all_states(engine: Engine) -> dict[Who, dict[str, Any]]:
    """Every customer_state row by (tenant, customer) (``rapport scores rebuild``, tests)."""
    with engine.connect() as conn:
        return {
            (r.tenant, r.customer_id): dict(r._mapping)
            for r in conn.execute(
                select(customer_state).order_by(
                    customer_state.c.tenant, customer_state.c.customer_id
                )
            )
        }


def all_processed(engine: Engine) -> set[EventOf]:
    t = processed_events.c
    with engine.connect() as conn:
        return {
            (r.tenant, r.customer_id, r.event_id)
            for r in conn.execute(select(t.tenant, t.customer_id, t.event_id))
        }


def tenant_states(engine: Engine, tenant: str = DEFAULT_TENANT) -> dict[str, dict[str, Any]]:
    """One tenant's customer_state rows by customer id (tests, tools)."""
    return {who[1]: row for who, row in all_states(engine).items() if who[0] == tenant}


def tenant_processed(engine: Engine, tenant: str = DEFAULT_TENANT) -> set[tuple[str, str]]:
    """One tenant's applied (customer id, event id) pairs."""
    return {(customer, event) for t, customer, event in all_processed(engine) if t == tenant}


def customer_view(
    engine: Engine, who: Who, history: int = 20
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """A customer's state row, latest history rows (newest first) and alerts."""
    tenant, customer_id = who
    with engine.connect() as conn:
        row = conn.execute(
            select(customer_state).where(
                customer_state.c.tenant == tenant, customer_state.c.customer_id == customer_id
            )
        ).first()
        rows = conn.execute(
            select(score_history)
            .where(score_history.c.tenant == tenant, score_history.c.customer_id == customer_id)
            .order_by(score_history.c.id.desc())
            .limit(history)
        )
        found_alerts = conn.execute(
            select(alerts)
            .where(alerts.c.tenant == tenant, alerts.c.customer_id == customer_id)
            .order_by(alerts.c.raised_at, alerts.c.alert_id)
        )
        return (
            None if row is None else dict(row._mapping),
            [dict(r._mapping) for r in rows],
            [dict(r._mapping) for r in found_alerts],
        )
