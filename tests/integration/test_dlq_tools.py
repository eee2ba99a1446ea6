"""`rapport dlq stats` and `rapport dlq replay` against the real broker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.ingest.service import SPEC as INGEST
from services.runtime import shredding
from services.runtime.dlq_tools import REPLAYED_FROM, read_dead_letters, replay, summarize
from services.runtime.settings import PrivacySettings
from tests.support.cli import cli_env, rapport
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


def dlq(env: dict[str, str], *args: str) -> str:
    return rapport(env, "dlq", *args, timeout=60)


def test_cli_prints_stats(kafka_bootstrap: str) -> None:
    settings = service_settings(kafka_bootstrap)
    create_topics(settings)
    produce(kafka_bootstrap, settings.topics.dead_letter, [(b"k", json.dumps({}).encode())])
    env = cli_env(settings)
    printed = dlq(env, "stats")
    assert "1 dead letter in" in printed
    assert "unknown" in printed  # a record without dlq headers has no reason
    document = json.loads(dlq(env, "stats", "--json"))
    assert document["total"] == 1
    assert document["by_reason"] == {"unknown": 1}


def test_a_master_key_rotation_keeps_old_dead_letters_readable_and_erasable(
    kafka_bootstrap: str,
) -> None:
    old, new = "o" * 40, "n" * 40
    before = service_settings(kafka_bootstrap, privacy=PrivacySettings(master_key=old))
    topics = before.topics
    create_topics(before)
    with running(INGEST, before):  # the real service seals its dead letters under the old key
        produce(kafka_bootstrap, topics.raw_feedback, [(b"c1", b"not json")])
        read_committed(kafka_bootstrap, [topics.dead_letter], expected=1, settle=0.5)

    env = cli_env(before)
    rotated = env | {
        "RAPPORT_PRIVACY__MASTER_KEY": new,
        "RAPPORT_PRIVACY__PREVIOUS_MASTER_KEYS": json.dumps([old]),
    }

    def cli(environment: dict[str, str], *args: str) -> Any:
        return json.loads(dlq(environment, *args, "--json"))

    [letter] = cli(rotated, "show")
    assert (letter["readable"], letter["value"]) == (True, "not json")
    keys = {row["master_key"]: row for row in cli(rotated, "keys")}
    assert keys["current master key"]["live_keys"] == 0
    assert keys["previous master key #1"]["live_keys"] == 1
    table = dlq(rotated, "keys")
    assert "previous master key #1" in table
    assert "live data keys" in table
    # Without the previous key the letter is closed: what losing a master key means.
    [closed] = cli(env | {"RAPPORT_PRIVACY__MASTER_KEY": new}, "show")
    assert closed["unreadable_because"] == "unknown"

    # The customer's key filed under the old master key's name is found and destroyed.
    after = before.model_copy(
        update={"privacy": PrivacySettings(master_key=new, previous_master_keys=[old])}
    )
    shredder = shredding.connect(after, kafka_bootstrap)
    try:
        assert shredder.erase_customer(None, "c1") == 1
    finally:
        shredder.close()
    [erased] = cli(rotated, "show")
    assert erased["unreadable_because"] == "erased"
    keys = {row["master_key"]: row for row in cli(rotated, "keys")}
    assert keys["previous master key #1"]["live_keys"] == 0  # erased: the old key can go
