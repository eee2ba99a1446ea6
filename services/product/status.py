"""``rapport status``: broker, services, rates, lag and dead letters of the local stack."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from services.product.metrics import ServiceSnapshot, rates, scrape
from services.product.state import StateDir, UpRecord


@dataclass
class StatusReport:
    up: bool
    healthy: bool
    bootstrap_servers: str | None
    broker: dict[str, Any]
    services: list[dict[str, Any]] = field(default_factory=list)
    dead_letters_by_reason: dict[str, int] = field(default_factory=dict)
    console_url: str | None = None
    log_file: str | None = None


def snapshots(record: UpRecord) -> list[ServiceSnapshot]:
    return [scrape(child.name, child.port, timeout=1.0) for child in record.children]


def collect(state: StateDir, sample_seconds: float = 1.0) -> StatusReport:
    broker = state.broker().status(timeout=5.0)
    record = UpRecord.read(state.up_file)
    up = record is not None and record.alive()
    report = StatusReport(
        up=up,
        healthy=False,
        bootstrap_servers=record.bootstrap_servers if up and record else broker.bootstrap_servers,
        broker=asdict(broker),
    )
    if not up or record is None:
        return report
    report.console_url = record.console_url
    report.log_file = record.log_file
    first = snapshots(record)
    started = time.monotonic()
    time.sleep(sample_seconds)
    second = snapshots(record)
    elapsed = time.monotonic() - started
    dead: Counter[str] = Counter()
    for child, before, after in zip(record.children, first, second, strict=True):
        rate = rates(before, after, elapsed)
        dead.update(after.dead_letters)
        report.services.append(
            {
                "name": child.name,
                "state": child.state,
                "pid": child.pid,
                "port": child.port,
                "restarts": child.restarts,
                "ready": after.ready,
                "checks": after.checks,
                "records_in": after.records_in,
                "records_out": after.records_out,
                "in_per_second": round(rate.records_in_per_s, 2),
                "out_per_second": round(rate.records_out_per_s, 2),
                "lag": after.lag,
                "dead_letters": after.dead_letter_total,
            }
        )
    report.dead_letters_by_reason = dict(dead.most_common())
    broker_ok = broker.responding or not record.broker_owned
    report.healthy = broker_ok and all(s["ready"] for s in report.services)
    return report
