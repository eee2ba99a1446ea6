"""Running ``rapport simulate`` against a broker: send at a pace, wait for the scores, rank."""

from __future__ import annotations

import math
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from schemas.base import EventKind
from services.console.view import ScoreView, Subscription
from services.product.send import idempotent_producer
from services.product.simulate import build_traffic, paced, rank
from services.runtime.settings import Topics
from services.scoring.model.simulation import SimulationParams, evaluate


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=console is None,
        transient=False,
    )


def run_simulation(
    bootstrap_servers: str,
    topics: Topics,
    *,
    customers: int,
    days: int,
    seed: int,
    rate: float | None,
    minutes: float,
    bad_share: float,
    duplicate_share: float,
    wait_seconds: float,
    console: Console | None,
) -> dict[str, Any]:
    say = console.print if console is not None else (lambda *_a, **_k: None)
    started = time.monotonic()
    traffic = build_traffic(
        customers, days, seed, bad_share=bad_share, duplicate_share=duplicate_share
    )
    records = traffic.records
    pace = rate or max(1.0, len(records) / (minutes * 60))
    say(
        f"{len(traffic.customers)} customers, {len(records)} records over {days} days of history "
        f"({sum(traffic.broken.values())} broken, {traffic.duplicates} duplicates) at "
        f"{pace:.0f}/s"
    )
    # Subscribe first, as a downstream team would, so the scores are there when sending ends.
    view = ScoreView(topics)
    subscription = Subscription(bootstrap_servers, view, "rapport-simulate").start()
    topic_of = {
        EventKind.INTERACTION: topics.raw_interactions,
        EventKind.FEEDBACK: topics.raw_feedback,
    }
    producer = idempotent_producer(bootstrap_servers, "rapport-simulate")
    try:
        with _progress(console) as progress:
            task = progress.add_task("sending", total=len(records))
            for index, record in enumerate(paced(records, pace), start=1):
                producer.send(topic_of[record.kind], key=record.key, value=record.value)
                if index % 50 == 0:
                    progress.update(task, completed=index)
            producer.flush()
            progress.update(task, completed=len(records))
        expected = traffic.expected_events
        deadline = time.monotonic() + wait_seconds
        with _progress(console) as progress:
            task = progress.add_task("scored customers", total=len(expected))
            done = 0
            while time.monotonic() < deadline:
                latest = view.latest_scores()
                done = sum(
                    1 for c, n in expected.items() if c in latest and latest[c].event_count >= n
                )
                progress.update(task, completed=done)
                if done == len(expected):
                    break
                time.sleep(1.0)
    finally:
        producer.close()
        subscription.stop()
    latest = view.latest_scores()
    published = {c: (u.trust, u.loyalty, u.segment.value) for c, u in latest.items()}
    ranking = rank(traffic, published)
    offline = evaluate(
        params=SimulationParams(customers=customers, days=days, seed=seed),
        customers=traffic.customers,
    )
    complete = done == len(expected)
    result: dict[str, Any] = {
        "complete": complete,
        "records_sent": len(records),
        "broken": dict(traffic.broken),
        "duplicates": traffic.duplicates,
        "seconds": round(time.monotonic() - started, 1),
        **ranking.as_dict(),
        "offline_trust_spearman": round(offline.trust_spearman, 4),
        "offline_loyalty_spearman": round(offline.loyalty_spearman, 4),
    }
    if console is not None:
        _print_ranking(console, result)
    return result


def _print_ranking(console: Console, result: dict[str, Any]) -> None:
    def figure(value: float) -> str:
        return "n/a" if math.isnan(value) else f"{value:.3f}"

    if not result["complete"]:
        console.print(
            f"[yellow]only {result['scored']} of {result['customers']} customers fully scored "
            "before the wait ran out[/] (is `rapport up` running? `rapport status`)"
        )
    console.print(
        f"How well the published scores rank the hidden values ({result['scored']} customers, "
        "Spearman's rank correlation, 1 = perfect order):\n"
        f"  trust   {figure(result['trust_spearman'])}   (the model offline, on the simulator's "
        f"own sentiment: {figure(result['offline_trust_spearman'])})\n"
        f"  loyalty {figure(result['loyalty_spearman'])}   (offline: "
        f"{figure(result['offline_loyalty_spearman'])})"
    )
    table = Table("hidden persona", "customers", "mean trust", "mean loyalty", "at risk/detractor")
    for name, row in result["by_persona"].items():
        table.add_row(
            name,
            str(row["customers"]),
            f"{row['mean_trust']:.1f}",
            f"{row['mean_loyalty']:.1f}",
            f"{100 * row['at_risk_or_detractor']:.0f} %",
        )
    console.print(table)
