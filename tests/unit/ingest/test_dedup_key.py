"""With RAPPORT_INGEST__DEDUP_KEY the duplicate window's changelog keeps keyed hashes of event
ids, never the ids, and a window written before the key was set still holds."""

from __future__ import annotations

import json

from services.ingest.pii import is_event_pseudonym
from services.ingest.service import changelog_identity, keyed_restore
from services.runtime.settings import IngestSettings, Settings
from services.runtime.testing import InMemoryBroker
from tests.support import ingest as support
from tests.support.events import variant
from tests.support.ingest import changelog_of

KEY = "k" * 32


def settings_of(dedup_key: str | None) -> Settings:
    return Settings(
        kafka_bootstrap_servers="unused:9092",
        topic_partitions=1,
        # The ids below are built from e-mail addresses on purpose: allowed, to reach the window.
        ingest=IngestSettings(dedup_key=dedup_key, identifier_personal_data="allow"),
    )


TOPICS = settings_of(None).topics


def run_ingest(broker: InMemoryBroker, dedup_key: str | None) -> None:
    settings = settings_of(dedup_key)
    restore = keyed_restore(changelog_identity(settings), changelog_of(broker, settings))
    support.run_ingest(broker, settings, restore)


def send(broker: InMemoryBroker, event_id: str, index: int = 0) -> None:
    kind, value = variant(index, "cust-1", event_id)
    topic = TOPICS.raw_feedback if kind == "feedback" else TOPICS.raw_interactions
    broker.produce(topic, value, b"cust-1")


def fresh_broker() -> InMemoryBroker:
    return support.fresh_broker(settings_of(None))


def event_ids(broker: InMemoryBroker) -> list[str]:
    return [json.loads(r.value or b"")["event_id"] for r in broker.records(TOPICS.canonical)]


def test_the_changelog_keeps_keyed_hashes_and_still_drops_duplicates() -> None:
    broker = fresh_broker()
    send(broker, "crm:jane.doe@example.com:1")
    send(broker, "crm:jane.doe@example.com:1")  # a retry in the same run
    run_ingest(broker, KEY)
    send(broker, "crm:jane.doe@example.com:1")  # a retry after a restart: restored window
    run_ingest(broker, KEY)
    assert event_ids(broker) == ["crm:jane.doe@example.com:1"]
    keys = [r.key.decode() for r in broker.records(TOPICS.ingest_dedup) if r.key]
    assert keys
    assert all(is_event_pseudonym(k) for k in keys)
    assert not any(b"jane" in (r.key or b"") for r in broker.records(TOPICS.ingest_dedup))


def test_a_window_written_before_the_key_was_set_still_holds() -> None:
    broker = fresh_broker()
    send(broker, "ev-1")
    run_ingest(broker, None)  # plain ids in the changelog
    send(broker, "ev-1")
    send(broker, "ev-2")
    run_ingest(broker, KEY)  # restored and hashed on the way in
    assert event_ids(broker) == ["ev-1", "ev-2"]
