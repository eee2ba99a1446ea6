"""What the scoring service exports beyond the runtime's metrics: database latency, the outbox,
and the business view (trust and loyalty distributions, customers per segment, open alerts).

The business figures are computed from the database when Prometheus scrapes, at most once per
``refresh_seconds``: they describe all customers, which no single batch sees, and a query a
minute costs far less than keeping them in step on every update.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, event, func, select
from sqlalchemy.engine import Engine

from services.runtime.metrics import LATENCY_BUCKETS
from services.scoring import store

TRUST_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
LOYALTY_BUCKETS = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0)


def instrument_engine(engine: Engine, registry: CollectorRegistry, service: str) -> None:
    """``rapport_db_query_seconds`` and ``rapport_db_errors`` from SQLAlchemy's events."""
    latency = Histogram(
        "rapport_db_query_seconds",
        "Time of one database statement",
        ["service"],
        registry=registry,
        buckets=LATENCY_BUCKETS,
    ).labels(service)
    errors = Counter(
        "rapport_db_errors", "Database statements that failed", ["service"], registry=registry
    ).labels(service)

    @event.listens_for(engine, "before_cursor_execute")
    def _started(conn: Any, *_: Any) -> None:
        conn.info.setdefault("rapport_started", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _finished(conn: Any, *_: Any) -> None:
        latency.observe(time.perf_counter() - conn.info["rapport_started"].pop())

    @event.listens_for(engine, "handle_error")
    def _failed(context: Any) -> None:
        errors.inc()
        started = context.connection.info.get("rapport_started") if context.connection else None
        if started:
            started.pop()


class ScoringCollector(Collector):
    """Outbox size and the business view, read from the database on scrape (cached)."""

    def __init__(
        self,
        engine: Engine,
        refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._refresh = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: list[Metric] | None = None
        self._cached_at = 0.0

    def describe(self) -> Iterable[Metric]:
        return self._families(None)

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            if self._cached is None or self._clock() - self._cached_at >= self._refresh:
                try:
                    self._cached = self._families(self._query())
                except Exception:
                    # Unreachable database: rapport_readiness_check says so; keep the last view.
                    return self._cached or []
                self._cached_at = self._clock()
            return self._cached

    def _query(self) -> dict[str, Any]:
        state = store.customer_state
        trust = [func.sum(case((state.c.trust <= b, 1), else_=0)) for b in TRUST_BUCKETS]
        loyalty = [func.sum(case((state.c.loyalty <= b, 1), else_=0)) for b in LOYALTY_BUCKETS]
        with self._engine.connect() as conn:
            outbox = conn.execute(select(func.count()).select_from(store.outbox)).scalar_one()
            row: Sequence[Any] = conn.execute(
                select(
                    func.count(),
                    func.sum(state.c.trust),
                    func.sum(state.c.loyalty),
                    *trust,
                    *loyalty,
                )
            ).one()
            segments: Sequence[Any] = conn.execute(
                select(state.c.segment, func.count()).group_by(state.c.segment)
            ).all()
            alerts: Sequence[Any] = conn.execute(
                select(store.alerts.c.kind, func.count())
                .where(store.alerts.c.state == "raised")
                .group_by(store.alerts.c.kind)
            ).all()
        count = int(row[0] or 0)
        n = len(TRUST_BUCKETS)
        return {
            "outbox": int(outbox),
            "count": count,
            "trust_sum": float(row[1] or 0.0),
            "loyalty_sum": float(row[2] or 0.0),
            "trust": [int(v or 0) for v in row[3 : 3 + n]],
            "loyalty": [int(v or 0) for v in row[3 + n :]],
            "segments": {str(s): int(c or 0) for s, c in segments},
            "alerts": {str(k): int(c or 0) for k, c in alerts},
        }

    @staticmethod
    def _families(data: dict[str, Any] | None) -> list[Metric]:
        outbox = GaugeMetricFamily(
            "rapport_scoring_outbox_records",
            "Outputs in the outbox: written to the database, not yet known to be in Kafka",
        )
        trust = HistogramMetricFamily(
            "rapport_scoring_customer_trust", "Customers by current trust (0-1)"
        )
        loyalty = HistogramMetricFamily(
            "rapport_scoring_customer_loyalty", "Customers by current loyalty (0-100)"
        )
        segments = GaugeMetricFamily(
            "rapport_scoring_customers", "Customers by loyalty segment", labels=["segment"]
        )
        alerts = GaugeMetricFamily(
            "rapport_scoring_open_alerts",
            "Customer alerts raised and not resolved",
            labels=["kind"],
        )
        if data is not None:
            outbox.add_metric([], data["outbox"])
            for family, bounds, key in (
                (trust, TRUST_BUCKETS, "trust"),
                (loyalty, LOYALTY_BUCKETS, "loyalty"),
            ):
                buckets = [(str(b), float(c)) for b, c in zip(bounds, data[key], strict=True)]
                family.add_metric(
                    [], [*buckets, ("+Inf", float(data["count"]))], data[f"{key}_sum"]
                )
            for segment, count in sorted(data["segments"].items()):
                segments.add_metric([segment], count)
            for kind, count in sorted(data["alerts"].items()):
                alerts.add_metric([kind], count)
        return [outbox, trust, loyalty, segments, alerts]


def register(
    engine: Engine, registry: CollectorRegistry, service: str, *, durable: bool = True
) -> None:
    instrument_engine(engine, registry, service)
    registry.register(ScoringCollector(engine))
    Gauge(
        "rapport_database_durable",
        "1 when the database acknowledges commits durably; 0 when scoring runs on an accepted "
        "non-durable one (RAPPORT_ACCEPT_NON_DURABLE_DATABASE): exactly-once is then at risk",
        registry=registry,
    ).set(1 if durable else 0)
