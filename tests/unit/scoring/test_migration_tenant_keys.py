"""The tenant-keys migration moves a database written by the release before it (its revision and
rows in ``release_scoring_db.json``, written by that release's own code: ``release_data.py``) to
(tenant, customer) keys without losing anything, on SQLite and PostgreSQL: every row is still
there, under the configured default tenant, and scoring carries on from it (new events count
on, old event ids and erasure requests are still recognised), while another tenant's customer
with the same id starts apart."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, MetaData, select

from schemas import ScoreUpdate, UpdateReason
from schemas.identity import Tenancy, TenancyMode
from services.runtime.records import InRecord, PartitionBatch, TopicPartition
from services.runtime.settings import Topics
from services.scoring import store
from services.scoring.model import ScoringConfig
from services.scoring.model.config import DEFAULT_PATH
from services.scoring.service import ScoringHandler
from tests.unit.scoring.events import annotated, encode
from tests.unit.scoring.harness import COMPLETED_AT
from tests.unit.scoring.test_store import HEAD
from tests.unit.scoring.test_tenants import as_tenant

RELEASE = json.loads((Path(__file__).with_name("release_scoring_db.json")).read_text())
LEGACY = "acme-legacy"
"""The deployment's RAPPORT_TENANCY__DEFAULT_TENANT when it migrates."""
ORDER = list(RELEASE["tables"])
KEYED = {
    "customer_state",
    "score_history",
    "processed_events",
    "alert_state",
    "alerts",
    "erasures",
    "review_schedule",
}


def _value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"datetime"}:
        return datetime.fromisoformat(value["datetime"])
    if isinstance(value, dict) and set(value) == {"bytes"}:
        return base64.b64decode(value["bytes"])
    return value


def release_rows(name: str) -> list[dict[str, Any]]:
    rows = [{k: _value(v) for k, v in row.items()} for row in RELEASE["tables"][name]]
    if name == "score_history":  # ids come from the database's own sequence, as they did
        rows = [{k: v for k, v in row.items() if k != "id"} for row in rows]
    return rows


def stored_rows(engine: Engine, name: str) -> list[dict[str, Any]]:
    table = store.metadata.tables[name]
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(table))]
    if name == "score_history":
        rows = [{k: v for k, v in row.items() if k != "id"} for row in rows]
    return rows


def canonical(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)


def write_release_database(engine: Engine) -> None:
    store.migrate(engine, RELEASE["revision"])
    with engine.begin() as conn:
        tables = MetaData()
        tables.reflect(conn)  # the release's tables, as its migrations made them
        for name in ORDER:
            conn.execute(tables.tables[name].insert(), release_rows(name))


def release_config() -> ScoringConfig:
    """The release's rules: what its stored states were built with. A service refuses states
    of another content hash until `rapport scores rebuild --apply`; what this test checks is
    the migration, so it scores with the release's rules (settings changed since, undone)."""
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    data["ratings"]["grading"] = "split"  # 2026.12.5 centred graded evidence
    del data["events"]["promise_kept.late"]  # 2026.12.6 promises kept late
    config = ScoringConfig.from_mapping(data)
    stored = {row["config_hash"] for row in RELEASE["tables"]["customer_state"]}
    assert stored == {config.content_hash}, "undo the settings changed since the release"
    return config


def score(engine: Engine, tenancy: Tenancy, events: list[Any]) -> list[ScoreUpdate]:
    config = release_config()
    handler = ScoringHandler(engine, Topics(), config, clock=lambda: COMPLETED_AT, tenancy=tenancy)
    tp = TopicPartition(Topics().annotated, 7)  # a partition the release never read
    records = [InRecord(tp.topic, 7, i, b"k", encode(e)) for i, e in enumerate(events)]
    outputs = handler.handle_batch(PartitionBatch(tp, records))
    published = [
        ScoreUpdate.model_validate_json(o.value or b"")
        for o in outputs
        if o.topic == Topics().score_updates
    ]
    return [u for u in published if u.reason is UpdateReason.EVENT]  # not deadlines passed


def test_a_release_database_moves_to_tenant_keys_and_scoring_carries_on(
    database_url: str,
) -> None:
    engine = store.make_engine(database_url)
    write_release_database(engine)
    store.migrate(engine, default_tenant=LEGACY)
    assert store.current_revision(engine) == HEAD
    # Nothing lost: every row is the release's, under the default tenant.
    for name in ORDER:
        expected = release_rows(name)
        if name in KEYED:
            expected = [row | {"tenant": LEGACY} for row in expected]
        assert canonical(stored_rows(engine, name)) == canonical(expected), name

    states = store.tenant_states(engine, LEGACY)
    customer = max(states, key=lambda c: states[c]["event_count"])
    count = states[customer]["event_count"]
    old_event = next(
        r["event_id"] for r in RELEASE["tables"]["processed_events"] if r["customer_id"] == customer
    )
    at = max(row["as_of"] for row in states.values()) + timedelta(days=1)
    erasure = RELEASE["tables"]["erasures"][0]["event_id"]
    erased = RELEASE["erased_customer"]
    updates = score(
        engine,
        Tenancy(mode=TenancyMode.MULTI, default_tenant=LEGACY),
        [
            as_tenant(annotated("purchase", customer, "new-1", at), LEGACY),
            as_tenant(annotated("purchase", customer, old_event, at), LEGACY),  # a re-send
            as_tenant(annotated("erasure_request", erased, erasure, at), LEGACY),  # a re-send
            as_tenant(annotated("purchase", customer, old_event, at), "other"),  # someone else
        ],
    )
    assert [(u.tenant_id, u.caused_by_event_id, u.event_count) for u in updates] == [
        (LEGACY, "new-1", count + 1),
        ("other", old_event, 1),
    ]
    assert store.tenant_states(engine, LEGACY)[customer]["event_count"] == count + 1
    assert erased in store.tenant_states(engine, LEGACY)  # the re-sent erasure did nothing
    assert set(store.tenant_states(engine, "other")) == {customer}
    assert len(stored_rows(engine, "erasures")) == 1


def test_a_single_tenant_deployment_carries_on_unchanged(database_url: str) -> None:
    engine = store.make_engine(database_url)
    write_release_database(engine)
    store.migrate(engine)  # RAPPORT_TENANCY__DEFAULT_TENANT unset: "default"
    states = store.tenant_states(engine)
    assert len(states) == len(RELEASE["tables"]["customer_state"])
    customer = next(iter(states))
    at = max(row["as_of"] for row in states.values()) + timedelta(days=1)
    # tenant_id in the payload does not separate customers in a single-tenant deployment.
    updates = score(
        engine, Tenancy(), [as_tenant(annotated("purchase", customer, "new-1", at), "x")]
    )
    assert [u.event_count for u in updates] == [states[customer]["event_count"] + 1]
    store.downgrade(engine, RELEASE["revision"])  # one tenant: the old keys hold it
    with engine.connect() as conn:
        rows = conn.execute(select(store.customer_state.c.customer_id)).all()
    assert len(rows) == len(states)
