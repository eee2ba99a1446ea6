"""Tenants never see, merge or erase each other's customers (issue 16), through the scoring
handler itself on a real (SQLite) database: two tenants whose systems use the same customer ids
and the same event ids, interleaved on one partition, give each tenant exactly what its events
give alone: the same stored states and processed ids, the same score updates and alerts
(keyed ``tenant|customer``), and an erasure in one tenant leaves the other untouched."""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from schemas import AnnotatedEvent, ScoreUpdate
from schemas.identity import Tenancy, TenancyMode, parse_customer_key
from services.runtime.records import InRecord, OutRecord, PartitionBatch, TopicPartition
from services.runtime.settings import Settings, Topics
from services.scoring import store
from services.scoring.model import ScoringConfig
from services.scoring.model.config import DEFAULT_PATH
from services.scoring.service import ScoringHandler, open_store, output_topics
from tests.unit.scoring.events import T0, annotated, encode, mixed_stream
from tests.unit.scoring.harness import COMPLETED_AT

MULTI = Tenancy(mode=TenancyMode.MULTI)
TOPICS = Topics()
BATCH = 7


def as_tenant(event: AnnotatedEvent, tenant: str) -> AnnotatedEvent:
    upstream = event.event.upstream
    assert upstream is not None
    canonical = event.event.model_copy(
        update={"tenant_id": tenant, "upstream": upstream.model_copy(update={"tenant_id": tenant})}
    )
    return event.model_copy(update={"event": canonical})


@pytest.fixture(scope="module")
def template() -> Iterator[Path]:
    """A migrated, empty database, copied for every run (migrating costs more than a run)."""
    directory = Path(tempfile.mkdtemp(prefix="rapport-tenants-"))
    path = directory / "template.db"
    open_store(f"sqlite:///{path}", ScoringConfig.load()).dispose()
    yield path
    shutil.rmtree(directory, ignore_errors=True)


@dataclass
class Run:
    states: dict[store.Who, dict[str, Any]]
    processed: set[store.EventOf]
    outputs: list[OutRecord]

    def of(self, tenant: str) -> tuple[dict[Any, Any], set[Any], list[tuple[Any, ...]]]:
        """What the run left and published for one tenant."""
        states = {who: row for who, row in self.states.items() if who[0] == tenant}
        processed = {key for key in self.processed if key[0] == tenant}
        published = [
            (r.topic, r.key, r.value)
            for r in self.outputs
            if r.key is not None and parse_customer_key(r.key).tenant_id == tenant
        ]
        return states, processed, published


def run(
    template: Path,
    events: Sequence[AnnotatedEvent],
    config: ScoringConfig,
    tenancy: Tenancy = MULTI,
    topics: Topics = TOPICS,
) -> Run:
    directory = Path(tempfile.mkdtemp(prefix="rapport-tenants-run-"))
    shutil.copy(template, directory / "run.db")
    engine: Engine = open_store(f"sqlite:///{directory / 'run.db'}", config)
    try:
        handler = ScoringHandler(
            engine, topics, config, clock=lambda: COMPLETED_AT, tenancy=tenancy
        )
        tp = TopicPartition(topics.annotated, 0)
        records = [
            InRecord(
                tp.topic,
                0,
                offset,
                tenancy.customer_key(e.event.tenant_id, e.event.customer_id),
                encode(e),
            )
            for offset, e in enumerate(events)
        ]
        outputs: list[OutRecord] = []
        for start in range(0, len(records), BATCH):
            outputs += handler.handle_batch(PartitionBatch(tp, records[start : start + BATCH]))
        for row in store.all_states(engine).values():
            row.pop("recent_events")  # tuples in, lists out: compared through the updates
        return Run(store.all_states(engine), store.all_processed(engine), outputs)
    finally:
        engine.dispose()
        shutil.rmtree(directory, ignore_errors=True)


def interleave(a: list[AnnotatedEvent], b: list[AnnotatedEvent], seed: int) -> list[AnnotatedEvent]:
    """The two streams merged at random, each in its own order."""
    rng = random.Random(seed)
    picks = [0] * len(a) + [1] * len(b)
    rng.shuffle(picks)
    streams = [iter(a), iter(b)]
    return [next(streams[pick]) for pick in picks]


def without_watermark(config: ScoringConfig) -> ScoringConfig:
    data = yaml.safe_load(DEFAULT_PATH.read_text())
    data["version"] = f"{config.version}-no-watermark"
    data["publishing"]["watermark_lateness_minutes"] = 100 * 365 * 24 * 60  # never reaches
    return ScoringConfig.from_mapping(data)


@settings(max_examples=12)
@given(
    seeds=st.tuples(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 10_000)),
    sizes=st.tuples(st.integers(1, 40), st.integers(1, 40)),
    erase=st.booleans(),
)
def test_two_tenants_with_the_same_ids_get_what_each_gets_alone(
    template: Path, seeds: tuple[int, int, int], sizes: tuple[int, int], erase: bool
) -> None:
    # The partition's event-time watermark is shared by whoever shares the partition (another
    # customer's event moves it, and with it this customer's time updates: by design, see
    # docs/scoring.md): held back here, so that what tenants must not share is compared.
    config = without_watermark(ScoringConfig.load())
    # Both streams name customers cust-0000..0003 and number their events ev-000000, ...:
    # every customer id and every event id of one tenant is also the other's.
    a = [as_tenant(e, "a") for e in mixed_stream(4, sizes[0], seed=seeds[0], duplicates=2)]
    b = [as_tenant(e, "b") for e in mixed_stream(4, sizes[1], seed=seeds[1], duplicates=2)]
    if erase:  # tenant a erases a customer that tenant b also has
        customer = a[0].event.customer_id
        at = max(e.event.occurred_at for e in a) + timedelta(days=1)
        a.append(as_tenant(annotated("erasure_request", customer, "ev-000000", at), "a"))
    together = run(template, interleave(a, b, seeds[2]), config)
    for tenant, alone in (("a", run(template, a, config)), ("b", run(template, b, config))):
        assert together.of(tenant) == alone.of(tenant)
    states, _, published = together.of("b")
    assert len(states) == len({e.event.customer_id for e in b})  # nothing erased or merged
    assert published, "tenant b published its updates"
    if erase:
        assert (("a", a[0].event.customer_id)) not in together.states


def test_single_tenant_keys_stay_the_customer_id(template: Path) -> None:
    """A single-tenant deployment keys by customer id alone, merges tenant_ids as 1.0 did, and
    its alert ids are those of before tenants existed."""
    events = [
        as_tenant(annotated("purchase", "c1", "e1", T0), "a"),
        as_tenant(annotated("billing_error", "c1", "e2", T0 + timedelta(hours=1)), "b"),
    ]
    single = run(template, events, ScoringConfig.load(), tenancy=Tenancy())
    assert {r.key for r in single.outputs} == {b"c1"}
    assert set(single.states) == {("default", "c1")}


def test_each_tenant_publishes_to_its_own_topics_under_isolation(template: Path) -> None:
    tenancy = Tenancy(mode=TenancyMode.MULTI, topics_per_tenant=True, tenants=("a", "b"))
    events = [
        as_tenant(annotated("purchase", "c1", "e1", T0), "a"),
        as_tenant(annotated("purchase", "c1", "e1", T0), "b"),
        as_tenant(annotated("purchase", "c1", "e1", T0), "nobody"),
    ]
    outputs = run(template, events, ScoringConfig.load(), tenancy=tenancy).outputs
    by_topic = {(r.topic, r.key) for r in outputs}
    for tenant in ("a", "b"):
        mine = TOPICS.for_tenant(tenant)
        key = f"{tenant}|c1".encode()
        assert {(mine.score_updates, key), (mine.scores_latest, key)} <= by_topic
    assert {r.topic for r in outputs} == {
        "rapport.score-updates.a",
        "rapport.scores.latest.a",
        "rapport.score-updates.b",
        "rapport.scores.latest.b",
        TOPICS.dead_letter,  # the unlisted tenant's event, with its reason
    }
    letter = next(r for r in outputs if r.topic == TOPICS.dead_letter)
    assert (b"rapport.dlq.reason", b"unknown_tenant") in [
        (k.encode(), v) for k, v in letter.headers
    ]
    settings_ = Settings(tenancy=tenancy)
    shared = ("rapport.score-updates", "rapport.scores.latest", "rapport.alerts")
    others = set(output_topics(Settings())) - set(shared)  # erasure notices: shared
    assert set(output_topics(settings_)) == {
        *(f"{topic}.{tenant}" for topic in shared for tenant in "ab"),
        *others,
    }


def test_a_tenant_scored_with_its_overrides_is_stamped_with_them(template: Path) -> None:
    data = yaml.safe_load(DEFAULT_PATH.read_text())
    data["tenants"] = {
        "b": {"half_life_days": {"trust": 30}, "events": {"purchase": {"activity": 0.5}}}
    }
    config = ScoringConfig.from_mapping(data)
    events = [as_tenant(annotated("purchase", "c1", "e1", T0), tenant) for tenant in ("a", "b")]
    outputs = run(template, events, config).outputs
    updates = {
        parse_customer_key(r.key or b"").tenant_id: ScoreUpdate.model_validate_json(r.value or b"")
        for r in outputs
        if r.topic == TOPICS.score_updates
    }
    assert updates["a"].config_version == config.version
    assert updates["b"].config_version == f"{config.version}+b"
    assert updates["a"].loyalty != updates["b"].loyalty
    headers = {
        parse_customer_key(r.key or b"").tenant_id: dict(r.headers)
        for r in outputs
        if r.topic == TOPICS.score_updates
    }
    assert (
        headers["b"]["rapport.scoring.config-hash"] == config.for_tenant("b").content_hash.encode()
    )
