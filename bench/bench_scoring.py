"""Scoring throughput, events/s, on SQLite and on PostgreSQL.

    .venv/bin/python bench/bench_scoring.py [--events 20000] [--customers 2000] \\
        [--max-poll-records 500] [--backends sqlite,postgresql]

Two measurements per database backend, on the same synthetic stream (every interaction and
feedback type, responses to feedback, 1 % re-sent duplicates):

* ``handler``: the scoring handler alone on partition batches of ``--max-poll-records``
  records (parse, map, fold, alerts, one database transaction per batch with bulk loads and
  executemany writes, outbox), no Kafka;
* ``service``: the whole service with a real broker, one instance, exactly-once: the events are
  on the annotated topic first (6 partitions), then the clock runs from the service's start
  until the consumer group has committed the last offset of every partition.

The broker is ``KAFKA_BOOTSTRAP_SERVERS`` if set, else a local one
(``services.localkafka.broker.LocalKafkaBroker``); PostgreSQL is a temporary cluster from the
Debian binaries (as in the tests: durable commits, fsync on, since scoring refuses anything
less), SQLite a file in a temporary directory (WAL, synchronous=FULL, as Rapport sets it).

Both measurements run with the garbage-collector settings every service runs with
(``services.runtime.gc_tuning.tune_garbage_collector``, applied once the handler or the runner is
built, as ``services.runtime.service`` does), so the figures are what production runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.* helpers

from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition
from sqlalchemy import create_engine, text

from services.runtime.gc_tuning import tune_garbage_collector
from services.runtime.kafka_io import ensure_topics
from services.runtime.records import InRecord, PartitionBatch, TopicPartition
from services.runtime.service import build_runner
from services.runtime.settings import Settings, Topics
from services.scoring.model import ScoringConfig
from services.scoring.service import SPEC, ScoringHandler, open_store
from tests.support.postgres import TempPostgres, find_bin_dir
from tests.unit.scoring.events import encode, mixed_stream

PARTITIONS = 6


@contextmanager
def broker() -> Iterator[str]:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if servers:
        yield servers
        return
    from services.localkafka.broker import LocalKafkaBroker

    local = LocalKafkaBroker(cache_dir=Settings().kafka_cache_dir)
    try:
        yield local.start()
    finally:
        local.stop()


@contextmanager
def databases(backends: list[str]) -> Iterator[dict[str, Callable[[], str]]]:
    """A factory of fresh database URLs per backend."""
    scratch = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
    factories: dict[str, Callable[[], str]] = {}
    postgres: TempPostgres | None = None
    if "sqlite" in backends:
        factories["sqlite"] = lambda: f"sqlite:///{scratch / uuid.uuid4().hex}.db"
    if "postgresql" in backends:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            print("PostgreSQL binaries not found: skipping postgresql", file=sys.stderr)
        else:
            postgres = TempPostgres(bin_dir).start()
            server = postgres.url

            def fresh() -> str:
                name = f"bench_{uuid.uuid4().hex[:10]}"
                admin = create_engine(server, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                admin.dispose()
                return server.rsplit("/", 1)[0] + f"/{name}"

            factories["postgresql"] = fresh
    try:
        yield factories
    finally:
        if postgres is not None:
            postgres.stop()


def bench_handler(url: str, values: list[tuple[bytes, bytes]], batch: int) -> float:
    """Events/s of the handler alone: round-robin partition batches, as a poll yields them."""
    config = ScoringConfig.load()
    topics = Topics()
    handler = ScoringHandler(open_store(url, config), topics, config)
    partitions: dict[int, list[InRecord]] = {p: [] for p in range(PARTITIONS)}
    for key, value in values:
        p = hash(key) % PARTITIONS
        partitions[p].append(InRecord(topics.annotated, p, len(partitions[p]), key, value))
    batches = [
        PartitionBatch(TopicPartition(topics.annotated, p), records[i : i + batch])
        for i in range(0, max(len(r) for r in partitions.values()), batch)
        for p, records in partitions.items()
        if records[i : i + batch]
    ]
    tune_garbage_collector()  # as services.runtime.service does once the handler is built
    started = time.perf_counter()
    for one in batches:
        handler.handle_batch(one)
    elapsed = time.perf_counter() - started
    handler.engine.dispose()
    return len(values) / elapsed


def bench_service(
    bootstrap: str, url: str, values: list[tuple[bytes, bytes]], max_poll_records: int
) -> float:
    prefix = f"b{uuid.uuid4().hex[:8]}."
    settings = Settings.model_validate(
        {
            "kafka_bootstrap_servers": bootstrap,
            "topics": Topics().with_prefix(prefix),
            "group_prefix": prefix.rstrip("."),
            "instance_id": prefix.rstrip("."),
            "database_url": url,
            "topic_partitions": PARTITIONS,
            "max_poll_records": max_poll_records,
            "poll_timeout_ms": 100,
        }
    )
    topics = settings.topics
    ensure_topics(
        bootstrap, list(topics.model_dump().values()), PARTITIONS, SPEC.topic_configs(settings)
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    for key, value in values:
        producer.send(topics.annotated, key=key, value=value)
    producer.flush()
    producer.close()
    runner = build_runner(SPEC, settings)  # migrations and topic creation: before the clock
    tune_garbage_collector()  # as services.runtime.service does once the runner is built
    group = f"{settings.group_prefix}-scoring"
    watcher = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    tps = [KafkaTopicPartition(topics.annotated, p) for p in range(PARTITIONS)]
    ends = watcher.end_offsets(tps)
    thread = threading.Thread(target=runner.run, daemon=True)
    started = time.perf_counter()
    thread.start()
    try:
        while any((watcher.committed(tp) or 0) < ends[tp] for tp in tps):
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        runner.stop()
        thread.join(60)
        watcher.close()
    return len(values) / elapsed


def encoded_stream(customers: int, events: int) -> list[tuple[bytes, bytes]]:
    """The stream as (key, value) bytes, as a consumer holds it. The generated event objects
    are dropped here: kept alive, they would double the heap the garbage collector walks and
    make every figure slower than a running service is."""
    stream = mixed_stream(customers, events, seed=1, duplicates=events // 100)
    return [(e.event.customer_id.encode(), encode(e)) for e in stream]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--max-poll-records", type=int, default=500)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(
        "command: .venv/bin/python bench/bench_scoring.py "
        f"--events {args.events} --customers {args.customers} "
        f"--max-poll-records {args.max_poll_records} --backends {args.backends}"
    )
    started = time.perf_counter()
    values = encoded_stream(args.customers, args.events)
    print(
        f"{len(values)} annotated events of {args.customers} customers generated in "
        f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} cores; "
        f"batches of {args.max_poll_records}"
    )
    backends = args.backends.split(",")
    with databases(backends) as fresh, broker() as bootstrap:
        for backend, new_url in fresh.items():
            handler = bench_handler(new_url(), values, args.max_poll_records)
            print(f"{backend:10} handler only (no Kafka):        {handler:8.0f} events/s")
            service = bench_service(bootstrap, new_url(), values, args.max_poll_records)
            print(f"{backend:10} service, real broker, 1 instance: {service:8.0f} events/s")


if __name__ == "__main__":
    main()
