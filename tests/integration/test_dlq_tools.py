"""`rapport dlq stats` and `rapport dlq replay` against the real broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from services.ingest.service import SPEC as INGEST
from services.runtime import shredding
from services.runtime.dlq_tools import REPLAYED_FROM, read_dead_letters, replay, summarize
from tests.support.kafka import create_topics, produce, read_committed, running, service_settings

pytestmark = pytest.mark.kafka


def test_stats_and_replay_of_dead_letters(kafka_bootstrap: str) -> None:
    settings = service_settings(kafka_bootstrap)
    topics = settings.topics
    create_topics(settings)
    with running(INGEST, settings):
        produce(
            kafka_bootstrap,
            topics.raw_feedback,
            [
                (b"c1", b"not json"),
                (b"c2", b"{also not json"),
                (b"c3", b'{"event_id": "x"}'),
            ],
        )
        read_committed(kafka_bootstrap, [topics.dead_letter], expected=3, settle=0.5)

    # Sealed (issue 12): the tools open them with the deployment's keys.
    keys = shredding.connect(settings, kafka_bootstrap)
    stats = summarize(read_dead_letters(kafka_bootstrap, topics.dead_letter, shredder=keys))
    assert stats.total == 3
    assert stats.by_reason["invalid_json"] == 2
    assert sum(stats.by_reason.values()) == 3
    assert stats.by_origin == {topics.raw_feedback: 3}

    dry = replay(
        kafka_bootstrap, topics.dead_letter, reasons={"invalid_json"}, dry_run=True, shredder=keys
    )
    assert dry.replayed == {"invalid_json": 2}

    report = replay(kafka_bootstrap, topics.dead_letter, reasons={"invalid_json"}, shredder=keys)
    assert report.replayed == {"invalid_json": 2}
    raw = read_committed(kafka_bootstrap, [topics.raw_feedback], expected=5, settle=0.5)
    replayed = [r for r in raw if any(k == REPLAYED_FROM for k, _ in r.headers)]
    assert sorted(r.value for r in replayed) == [b"not json", b"{also not json"]
    assert sorted(r.key for r in replayed) == [b"c1", b"c2"]


def test_cli_prints_stats(kafka_bootstrap: str) -> None:
    settings = service_settings(kafka_bootstrap)
    create_topics(settings)
    produce(kafka_bootstrap, settings.topics.dead_letter, [(b"k", json.dumps({}).encode())])
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "RAPPORT_TOPICS__DEAD_LETTER": settings.topics.dead_letter,
            "COLUMNS": "200",
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "dlq", "stats"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "1 dead letter in" in result.stdout
    assert "unknown" in result.stdout  # a record without dlq headers has no reason
    as_json = subprocess.run(
        [sys.executable, "-m", "services.cli", "dlq", "stats", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["total"] == 1
    assert document["by_reason"] == {"unknown": 1}
