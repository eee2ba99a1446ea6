"""Ingest throughput: events/s through one ingest process on a real broker.

    PYTHONPATH=. .venv/bin/python bench/bench_ingest.py [--events 20000] [--pii-share 0.3]

Writes realistic raw events of every type (a share of them carrying personal data to redact)
to the raw topics first, then starts ingest and times how long it takes until ingest has
committed the last input offset, i.e. until every canonical event is committed. Uses
KAFKA_BOOTSTRAP_SERVERS if set, otherwise starts the local jar broker.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

from kafka import KafkaProducer

from services.ingest.service import SPEC as INGEST
from services.localkafka.selection import select_broker
from tests.support.events import variant
from tests.support.kafka import create_topics, running, service_settings, wait_until_consumed

PII = [
    "call me on +44 20 7946 0958",
    "my card 4111 1111 1111 1111 was charged twice",
    "refund to DE89 3704 0044 0532 0130 00",
    "mail ann.smith@example.com",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--pii-share", type=float, default=0.3)
    args = parser.parse_args()
    broker = select_broker()
    try:
        settings = service_settings(broker.bootstrap_servers, max_poll_records=500)
        create_topics(settings)
        rng = random.Random(7)
        producer = KafkaProducer(
            bootstrap_servers=broker.bootstrap_servers, linger_ms=20, batch_size=256 * 1024
        )
        for i in range(args.events):
            customer = f"cust-{rng.randrange(5000)}"
            kind, value = variant(i, customer, f"bench-{i}")
            document = json.loads(value)
            if "text" in document and rng.random() < args.pii_share:
                document["text"] = f"{document['text']} {rng.choice(PII)}"
            topic = (
                settings.topics.raw_feedback
                if kind == "feedback"
                else settings.topics.raw_interactions
            )
            producer.send(topic, key=customer.encode(), value=json.dumps(document).encode())
        producer.flush()
        producer.close()
        started = time.perf_counter()
        with running(INGEST, settings):
            wait_until_consumed(
                broker.bootstrap_servers,
                f"{settings.group_prefix}-ingest",
                [settings.topics.raw_interactions, settings.topics.raw_feedback],
                timeout=600,
            )
            elapsed = time.perf_counter() - started
    finally:
        broker.stop()
    print(
        f"ingest: {args.events} events in {elapsed:.1f} s = {args.events / elapsed:,.0f} "
        f"events/s (one process, {os.cpu_count()} cores, exactly-once, includes start-up "
        "and group join)"
    )
    print(f"command: PYTHONPATH=. .venv/bin/python bench/bench_ingest.py --events {args.events}")


if __name__ == "__main__":
    main()
