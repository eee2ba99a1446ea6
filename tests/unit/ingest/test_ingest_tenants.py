"""Ingest keeps tenants apart (issue 16): keys, the duplicate window, its changelog across an
upgrade, and the missing_tenant dead letter; on the in-memory broker."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.identity import Tenancy, TenancyMode
from services.ingest.service import tenant_aware_restore
from services.runtime.deadletter import REASON
from services.runtime.records import OutRecord
from services.runtime.settings import Settings
from services.runtime.testing import InMemoryBroker
from tests.support import ingest as support
from tests.support.events import variant
from tests.support.ingest import changelog_of

MULTI = Tenancy(mode=TenancyMode.MULTI, default_tenant="acme-de")


def settings_of(tenancy: Tenancy) -> Settings:
    return Settings(kafka_bootstrap_servers="unused:9092", topic_partitions=1, tenancy=tenancy)


TOPICS = settings_of(MULTI).topics


def fresh_broker() -> InMemoryBroker:
    return support.fresh_broker(settings_of(MULTI))


def run_ingest(broker: InMemoryBroker, tenancy: Tenancy) -> None:
    """A fresh ingest process (memory restored from the changelog) reads everything there is."""
    settings = settings_of(tenancy)
    restore = tenant_aware_restore(tenancy, changelog_of(broker, settings))
    support.run_ingest(broker, settings, restore)


def send(
    broker: InMemoryBroker, tenant: str | None, customer: str, event_id: str, index: int = 0
) -> None:
    kind, value = variant(index, customer, event_id)
    document = json.loads(value)
    document.pop("tenant_id", None)
    if tenant is not None:
        document["tenant_id"] = tenant
    topic = TOPICS.raw_feedback if kind == "feedback" else TOPICS.raw_interactions
    broker.produce(topic, json.dumps(document).encode(), customer.encode())


def canonical(broker: InMemoryBroker) -> list[tuple[bytes | None, dict[str, Any]]]:
    return [(r.key, json.loads(r.value or b"")) for r in broker.records(TOPICS.canonical)]


def test_two_tenants_numbering_events_alike_lose_nothing() -> None:
    broker = fresh_broker()
    for tenant in ("acme-de", "acme-fr"):
        for event_id in ("1", "2", "3"):
            send(broker, tenant, "12345", event_id)
    send(broker, "acme-fr", "12345", "2")  # a real retry: dropped
    run_ingest(broker, MULTI)
    out = canonical(broker)
    assert [(event["tenant_id"], event["event_id"]) for _, event in out] == [
        ("acme-de", "1"),
        ("acme-de", "2"),
        ("acme-de", "3"),
        ("acme-fr", "1"),
        ("acme-fr", "2"),
        ("acme-fr", "3"),
    ]
    assert {key for key, _ in out} == {b"acme-de|12345", b"acme-fr|12345"}
    changelog = [r.key for r in broker.records(TOPICS.ingest_dedup)]
    assert changelog == [f"{t}|{e}".encode() for t in ("acme-de", "acme-fr") for e in "123"]


def test_single_tenant_keeps_todays_keys_and_window() -> None:
    broker = fresh_broker()
    send(broker, "acme-de", "12345", "1")
    send(broker, "acme-fr", "12345", "1")  # one implicit tenant: the same event id twice
    send(broker, None, "12345", "2")
    run_ingest(broker, Tenancy())
    out = canonical(broker)
    assert [(key, event["event_id"]) for key, event in out] == [(b"12345", "1"), (b"12345", "2")]
    assert [r.key for r in broker.records(TOPICS.ingest_dedup)] == [b"1", b"2"]


def test_multi_tenant_dead_letters_an_event_without_tenant() -> None:
    broker = fresh_broker()
    send(broker, None, "12345", "1")
    send(broker, "acme-fr", "12345", "1")
    run_ingest(broker, MULTI)
    letters = broker.records(TOPICS.dead_letter)
    assert [dict(r.headers)[REASON] for r in letters] == [b"missing_tenant"]
    assert [event["tenant_id"] for _, event in canonical(broker)] == ["acme-fr"]


def write_old_changelog(broker: InMemoryBroker, *event_ids: str) -> None:
    """Entries as the release before tenants wrote them: keyed by the event id alone."""
    for event_id in event_ids:
        broker.append(TOPICS.ingest_dedup, OutRecord(TOPICS.ingest_dedup, event_id.encode(), b"0"))


def test_an_old_changelog_still_suppresses_duplicates_after_the_upgrade() -> None:
    broker = fresh_broker()
    write_old_changelog(broker, "1")
    send(broker, "acme-de", "12345", "1")  # a re-send of an event the old release took
    send(broker, None, "12345", "1")
    send(broker, "acme-de", "12345", "2")
    run_ingest(broker, Tenancy())
    assert [event["event_id"] for _, event in canonical(broker)] == ["2"]


def test_an_old_changelog_belongs_to_the_default_tenant_in_multi_tenant_mode() -> None:
    broker = fresh_broker()
    write_old_changelog(broker, "1")
    send(broker, "acme-de", "12345", "1")  # the default tenant's: a duplicate
    send(broker, "acme-fr", "12345", "1")  # another tenant's event 1: new
    run_ingest(broker, MULTI)
    out = canonical(broker)
    assert [(key, event["event_id"]) for key, event in out] == [(b"acme-fr|12345", "1")]


# --- property: each tenant's output is what it would be alone ------------------------------------

# Small id spaces, so that the tenants share customers and event ids, and retries happen.
event_ids = st.sampled_from(["1", "2", "3", "4", "5"])
customers = st.sampled_from(["12345", "c-2", "c-3"])
# Within a tenant an event id always names the same event (a retry re-sends it unchanged).
tenant_events = st.dictionaries(
    event_ids, st.tuples(customers, st.integers(min_value=0, max_value=40)), min_size=1
)


@st.composite
def two_tenants_interleaved(draw: st.DrawFn) -> list[tuple[str, str, str, int]]:
    sends: list[tuple[str, str, str, int]] = []
    for tenant in ("acme-de", "acme-fr"):
        events = draw(tenant_events)
        order = draw(st.lists(st.sampled_from(sorted(events)), min_size=1, max_size=12))
        sends.extend((tenant, event_id, *events[event_id]) for event_id in order)
    return draw(st.permutations(sends))


def outputs_by_stream(broker: InMemoryBroker) -> dict[tuple[str, bytes | None], list[Any]]:
    """Each (kind, key)'s canonical events in order (the order Kafka promises), without the
    ingestion time, which is the clock's."""
    streams: dict[tuple[str, bytes | None], list[Any]] = defaultdict(list)
    for key, event in canonical(broker):
        event.pop("ingested_at")
        streams[(event["kind"], key)].append(event)
    return dict(streams)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sends=two_tenants_interleaved())
def test_each_tenants_output_equals_its_events_processed_alone(
    sends: list[tuple[str, str, str, int]],
) -> None:
    def ingest(selected: list[tuple[str, str, str, int]]) -> dict[Any, list[Any]]:
        broker = fresh_broker()
        for tenant, event_id, customer, index in selected:
            send(broker, tenant, customer, event_id, index)
        run_ingest(broker, MULTI)
        assert broker.records(TOPICS.dead_letter) == []
        return outputs_by_stream(broker)

    together = ingest(sends)
    for tenant in ("acme-de", "acme-fr"):
        alone = ingest([s for s in sends if s[0] == tenant])
        mine = {stream: out for stream, out in together.items() if out[0]["tenant_id"] == tenant}
        assert mine == alone
        assert all(
            key == f"{tenant}|{out[0]['customer_id']}".encode() for (_, key), out in mine.items()
        )
