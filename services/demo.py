"""The local demo: a real broker, the three services as separate processes (run by the same
supervisor as ``rapport up``, so their logs are one readable stream), sample events in, score
updates and alerts out, and the next steps."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from services.localkafka.broker import free_port
from services.localkafka.selection import RunningBroker, select_broker
from services.product.state import StateDir
from services.product.supervisor import Supervisor
from services.registry import PIPELINE
from services.runtime import shredding
from services.runtime.settings import Settings, Topics
from services.runtime.shredding import SEALED_KEY

CUSTOMERS = {
    "cust-ada": [
        "The agent solved my billing issue in five minutes, fantastic service!",
        "Delivery was on time and the packaging was great.",
    ],
    "cust-bo": [
        "Still waiting for my refund after three weeks. This is unacceptable.",
        "Nobody called back. Terrible support, I am very disappointed.",
    ],
    "cust-cy": [
        "Decent product, fair price.",
        "I love this app, it makes my day easier :)",
    ],
    "cust-di": [
        "The app keeps crashing and I lost my data. Awful.",
        "Thanks for fixing it so quickly, much better now!",
    ],
}


def sample_records(now: datetime) -> list[tuple[str, bytes, bytes]]:
    """(topic kind, key, value) for every sample, including two that must be dead-lettered."""
    records: list[tuple[str, bytes, bytes]] = []
    n = 0
    for customer, texts in CUSTOMERS.items():
        for text in texts:
            n += 1
            occurred = (now - timedelta(minutes=60 - n)).isoformat()
            records.append(
                (
                    "interactions",
                    customer.encode(),
                    json.dumps(
                        {
                            "event_id": f"demo-i{n}",
                            "customer_id": customer,
                            "occurred_at": occurred,
                            "source": "shop",
                            "type": "purchase",
                        }
                    ).encode(),
                )
            )
            records.append(
                (
                    "feedback",
                    customer.encode(),
                    json.dumps(
                        {
                            "event_id": f"demo-f{n}",
                            "customer_id": customer,
                            "occurred_at": occurred,
                            "source": "survey",
                            "type": "survey_comment",
                            "text": text,
                        }
                    ).encode(),
                )
            )
    records.append(("feedback", b"cust-bo", b'{"event_id": "broken", "text": "unterminated'))
    records.append(
        (
            "feedback",
            b"cust-bo",
            json.dumps(
                {
                    "event_id": "no-customer",
                    "occurred_at": now.isoformat(),
                    "source": "survey",
                    "type": "survey_comment",
                    "text": "missing customer id",
                }
            ).encode(),
        )
    )
    return records


def _open_dead_letters(
    sealed: list[tuple[str, str, bytes]], bootstrap_servers: str, workdir: Path
) -> list[tuple[str, str]]:
    """Reason and message of each dead letter, opened with the keys of the demo's own stack
    (dead letters are sealed: docs/privacy.md)."""
    settings = Settings(kafka_bootstrap_servers=bootstrap_servers, state_dir=workdir)
    shredder = shredding.connect(settings, bootstrap_servers)
    try:
        opened = [(reason, shredder.open(key_id, value)) for reason, key_id, value in sealed]
    finally:
        shredder.close()
    return [
        (reason, o.message if isinstance(o, shredding.Opened) else f"(sealed, key {o})")
        for reason, o in opened
    ]


def _collect(
    bootstrap_servers: str, topics: Topics, expected: int, console: Console
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, str, bytes]]]:
    """The score updates, alerts and sealed dead letters (reason, key id, value) the pipeline
    published, read until ``expected`` updates and both dead letters are in (at most 120 s)."""
    from kafka import KafkaConsumer

    updates: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    sealed: list[tuple[str, str, bytes]] = []
    consumer = KafkaConsumer(
        topics.score_updates,
        topics.alerts,
        topics.dead_letter,
        bootstrap_servers=bootstrap_servers,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        group_id=None,
        consumer_timeout_ms=1000,
    )
    deadline = time.monotonic() + 120
    # Counted as they arrive (sealed); opened once all are in. Waiting on the opened list,
    # empty until then, ran every demo into the deadline.
    while (len(updates) < expected or len(sealed) < 2) and time.monotonic() < deadline:
        for message in consumer:
            if message.topic == topics.score_updates:
                updates.append(json.loads(message.value))
            elif message.topic == topics.alerts:
                alerts.append(json.loads(message.value))
            else:
                headers = {k: v.decode() for k, v in message.headers}
                reason = headers.get("rapport.dlq.reason", "?")
                sealed.append((reason, headers.get(SEALED_KEY, ""), message.value or b""))
    consumer.close()
    if len(updates) < expected or len(sealed) < 2:
        console.print(
            f"[red]gave up waiting after 120 s: {len(updates)} of {expected} score updates, "
            f"{len(sealed)} of 2 dead letters[/]"
        )
    return updates, alerts, sealed


def run_demo(console: Console) -> int:
    from kafka import KafkaProducer

    with console.status("Preparing a Kafka broker…") as status:
        broker: RunningBroker = select_broker(progress=status.update)
    console.print(f"[bold]Kafka[/] at {broker.bootstrap_servers}")
    # A throw-away state directory (database, logs), removed at the end.
    workdir = Path(tempfile.mkdtemp(prefix="rapport-demo-"))
    settings = Settings(kafka_bootstrap_servers=broker.bootstrap_servers)
    topics = settings.topics
    supervisor = Supervisor(
        StateDir(workdir),
        PIPELINE,
        bootstrap=broker.bootstrap_servers,
        database_url=settings.database_url if "database_url" in settings.model_fields_set else None,
        console=console,
        # Free ports, not the services' defaults: the demo must run next to a `rapport up`.
        ports={name: free_port() for name in PIPELINE},
    )
    ready = threading.Event()
    runner = threading.Thread(
        target=supervisor.run,
        kwargs={"on_ready": lambda _record: ready.set(), "install_signals": False},
        daemon=True,
    )
    updates: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    dead: list[tuple[str, str]] = []
    expected = sum(len(t) * 2 for t in CUSTOMERS.values())
    try:
        runner.start()
        if not ready.wait(180):
            console.print("[red]the services did not become ready within 180 s[/]")
            return 1
        producer = KafkaProducer(
            bootstrap_servers=broker.bootstrap_servers, enable_idempotence=True, acks="all"
        )
        samples = sample_records(datetime.now(UTC))
        _wait_for_topics(broker.bootstrap_servers, [topics.raw_feedback, topics.score_updates])
        for kind, key, value in samples:
            topic = topics.raw_interactions if kind == "interactions" else topics.raw_feedback
            producer.send(topic, key=key, value=value)
        producer.flush()
        producer.close()
        console.print(
            f"sent {len(samples)} events ({len(samples) - expected} of them broken "
            "on purpose); waiting for score updates…"
        )
        updates, alerts, sealed = _collect(broker.bootstrap_servers, topics, expected, console)
        dead = _open_dead_letters(sealed, broker.bootstrap_servers, workdir)
    finally:
        supervisor.stop()
        supervisor.stopped.wait(120)
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    _print_results(console, updates, alerts, dead)
    ok = len(updates) == expected and len(dead) == 2
    console.print("[green]demo complete[/]" if ok else "[red]demo incomplete[/]")
    if ok:
        _print_next_steps(console)
    return 0 if ok else 1


def _print_next_steps(console: Console) -> None:
    steps = (
        "",
        "[bold]Next[/]: `rapport` is installed in .venv; ./rapport runs it from this folder",
        "(or `source .venv/bin/activate` first, then `rapport`).",
        "  ./rapport up --detach          # the whole stack, kept running",
        "  ./rapport send schemas/examples/upstream",
        "  ./rapport simulate --customers 500 --minutes 2",
        "  ./rapport watch                # live view (Ctrl-C leaves it)",
        "  open http://127.0.0.1:9180/    # the console",
        "  ./rapport report               # HTML report of the last 24 hours",
        "  ./rapport down",
    )
    for line in steps:
        console.print(line, soft_wrap=True)


def _wait_for_topics(servers: str, names: list[str], timeout: float = 60) -> None:
    """The services create their topics on start; upstream must not write before that."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=servers)
    deadline = time.monotonic() + timeout
    try:
        while not set(names) <= set(admin.list_topics()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {names} not created within {timeout}s")
            time.sleep(0.3)
    finally:
        admin.close()


def _print_results(
    console: Console,
    updates: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    dead: list[tuple[str, str]],
) -> None:
    table = Table(title="Score updates (read_committed from rapport.score-updates)")
    for column in ("customer", "event", "trust", "loyalty", "segment", "why"):
        table.add_column(column)
    # By customer, then in the order scoring published them: each row is the state after it.
    order = {customer: index for index, customer in enumerate(CUSTOMERS)}
    for u in sorted(updates, key=lambda u: (order.get(u["customer_id"], 99), u["event_count"])):
        table.add_row(
            u["customer_id"],
            u["caused_by_event_id"],
            f"{u['trust']:.0f}",
            f"{u['loyalty']:.0f}",
            u["segment"],
            u["summary"],
        )
    console.print(table)
    for alert in alerts:
        console.print(
            f"[yellow]alert[/] {alert['customer_id']} {alert['kind']} ({alert['state']}): "
            f"{alert['message']}"
        )
    for reason, message in dead:
        console.print(f"[yellow]dead letter[/] {reason}: {message}")
