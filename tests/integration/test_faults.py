"""Fault injection on the real broker (and PostgreSQL where it applies): the world changes
under the pipeline, and nothing stalls, crashes in a loop or drops an event.

One test per case of the robustness issue: an output too large for Kafka, a topic recreated
under scoring, a handler that raises what nobody foresaw, dependencies that appear only after
the service started, a database that does not promise durable commits, an output topic deleted
while running, and annotated events with absurd dates and amounts.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from sqlalchemy import create_engine

from schemas import AnnotatedEvent, ScoreUpdate
from services.ingest.service import SPEC as INGEST
from services.localkafka.broker import LocalKafkaBroker, free_port
from services.runtime import deadletter
from services.runtime.kafka_io import TopicCatalog, ensure_topics
from services.runtime.policy import TRUNCATED_HEADER
from services.runtime.settings import Settings
from services.scoring import rebuild, store
from services.scoring.model import ScoringConfig
from services.scoring.service import SPEC as SCORING
from services.sentiment.service import SPEC as SENTIMENT
from tests.integration.test_crash_recovery import service_env, uncommitted_count
from tests.support.deadletters import opened_letters
from tests.support.kafka import (
    create_topics,
    produce,
    read_committed,
    read_to_end,
    running,
    service_settings,
    wait_until_consumed,
)
from tests.support.postgres import TempPostgres, find_bin_dir
from tests.unit.scoring.events import T0, annotated, encode, upstream

pytestmark = pytest.mark.kafka

ONE_MIB = 1_048_576


def headers_of(record: Any) -> dict[str, bytes]:
    return dict(record.headers or [])


def reasons(records: list[Any]) -> list[str]:
    return [headers_of(r)[deadletter.REASON].decode() for r in records]


# -- 1. a record too large for Kafka ----------------------------------------------------------


def test_oversized_outputs_are_dead_lettered_while_other_partitions_flow(
    kafka_bootstrap: str,
) -> None:
    settings = service_settings(
        kafka_bootstrap,
        ingest={"max_text_chars": 2_000_000, "max_record_bytes": 4 * ONE_MIB},
        max_poll_records=50,
    )
    topics = settings.topics
    # Upstream's raw topic takes large records; every topic Rapport writes keeps the default
    # limit of 1 MiB.
    ensure_topics(
        kafka_bootstrap,
        [topics.raw_feedback],
        settings.topic_partitions,
        {topics.raw_feedback: {"max.message.bytes": str(4 * ONE_MIB)}},
    )
    huge_text = "The parcel never came and nobody answers my mails. " * 20_200  # ~1.03 MB
    # Built as JSON: the contract's own default text limit would refuse the model.
    huge = upstream("free_comment", "c-huge", "huge-1", T0).model_dump(mode="json")
    huge["text"] = huge_text
    near_limit_garbage = b"{" + b"x" * (ONE_MIB - 300)  # fits; with the DLQ headers it would not
    fine = [
        upstream("free_comment", f"c-{i}", f"fine-{i}", T0, text="Lovely service, thanks!")
        for i in range(30)
    ]
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, max_request_size=4 * ONE_MIB)
    producer.send(topics.raw_feedback, key=b"c-huge", value=json.dumps(huge).encode())
    for event in fine[:15]:
        producer.send(
            topics.raw_feedback,
            key=event.customer_id.encode(),
            value=event.model_dump_json().encode(),
        )
    producer.send(topics.raw_feedback, key=b"c-garbage", value=near_limit_garbage)
    for event in fine[15:]:
        producer.send(
            topics.raw_feedback,
            key=event.customer_id.encode(),
            value=event.model_dump_json().encode(),
        )
    producer.flush()
    producer.close()

    started = time.monotonic()
    with running(INGEST, settings):
        canonical = read_committed(kafka_bootstrap, [topics.canonical], expected=30)
        flowed_after = time.monotonic() - started
        letters = read_committed(kafka_bootstrap, [topics.dead_letter], expected=2)

    assert sorted(json.loads(r.value)["event_id"] for r in canonical) == sorted(
        e.event_id for e in fine
    )
    # "Within seconds": no retry loop held the other partitions back (the broker start-up
    # of the consumer group takes most of it).
    assert flowed_after < 30
    assert sorted(reasons(letters)) == ["invalid_json", "record_too_large"]
    by_reason = {headers_of(r)[deadletter.REASON].decode(): r for r in letters}
    # The record itself fits the dead-letter topic: kept whole, for a replay once the limits
    # are raised; the message says which output was too large and why.
    too_large = by_reason["record_too_large"]
    [opened] = opened_letters(settings, [too_large])  # sealed (issue 12)
    assert json.loads(opened.value or b"")["event_id"] == "huge-1"
    assert TRUNCATED_HEADER not in headers_of(too_large)
    assert "the topic takes at most" in opened.dlq_headers[deadletter.MESSAGE]
    # This one, with the dead-letter headers added, would not fit: a bounded envelope says so.
    garbage = by_reason["invalid_json"]
    assert headers_of(garbage)[TRUNCATED_HEADER] == b"true"
    assert len(garbage.value) < 16_384
    [opened_garbage] = opened_letters(settings, [garbage])
    envelope = json.loads(opened_garbage.value or b"")
    assert envelope["size_bytes"] == len(near_limit_garbage)
    assert len(envelope["sha256"]) == 64


# -- 2. a topic recreated under scoring -------------------------------------------------------


def _recreate_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_topics([topic])
        deadline = time.monotonic() + 60
        while True:
            try:
                admin.create_topics([NewTopic(topic, partitions, -1)])
                return
            except Exception:
                # The deletion completes asynchronously; creating too early is refused.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        admin.close()


def test_a_recreated_input_topic_is_refused_and_rebuild_restores_a_correct_state(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = service_settings(kafka_bootstrap, f"sqlite:///{tmp_path / 'scores.db'}")
    topics = settings.topics
    old = [annotated("purchase", f"c-{i}", f"old-{i}", T0) for i in range(12)]
    with running(SCORING, settings):
        produce(kafka_bootstrap, topics.annotated, [(b"k", encode(e)) for e in old])
        wait_until_consumed(kafka_bootstrap, f"{settings.group_prefix}-scoring", [topics.annotated])
    engine = create_engine(settings.database_url)
    before = store.tenant_states(engine)
    assert len(before) == 12

    _recreate_topic(kafka_bootstrap, topics.annotated, settings.topic_partitions)
    new = [annotated("survey_nps", "c-new", f"new-{i}", T0, score=9) for i in range(3)]
    produce(kafka_bootstrap, topics.annotated, [(b"c-new", encode(e)) for e in new])

    def run_until_new_customer() -> None:
        with running(SCORING, settings):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not store.tenant_states(engine).get("c-new"):
                time.sleep(0.5)

    with pytest.raises(Exception, match="was recreated or the cluster was replaced") as refused:
        run_until_new_customer()
    assert "rapport scores rebuild --apply" in str(refused.value)
    # Refused, not skipped: nothing of the new topic was applied, nothing old re-published.
    assert store.tenant_states(engine) == before
    assert len(read_to_end(kafka_bootstrap, [topics.score_updates], timeout=30)) == 12

    # The remedy: a rebuild from the topic as it is now, then the service runs again.
    bootstrap = kafka_bootstrap
    report = rebuild.rebuild(
        engine,
        topics,
        ScoringConfig.load(),
        rebuild.KafkaSource(bootstrap, topics.annotated),
        group_offsets=rebuild.committed_offsets(
            bootstrap, f"{settings.group_prefix}-scoring", topics.annotated, [0, 1, 2]
        ),
        partitions=[0, 1, 2],
        apply=True,
        topic_id=TopicCatalog(bootstrap).topic_ids(refresh=True)[topics.annotated],
    )
    assert report.topic_recreated
    with running(SCORING, settings):
        wait_until_consumed(bootstrap, f"{settings.group_prefix}-scoring", [topics.annotated])
    after = store.tenant_states(engine)
    assert set(after) == {"c-new"}
    assert after["c-new"]["event_count"] == 3


# -- 3. a handler that raises what nobody foresaw ------------------------------------------


def test_an_unforeseen_exception_on_one_record_dead_letters_it_and_the_next_flows(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = service_settings(kafka_bootstrap)
    topics = settings.topics
    from services.sentiment import domain

    original = domain.Annotator.annotate

    def annotate(self: domain.Annotator, event: Any) -> AnnotatedEvent:
        if event.event_id == "boom":
            raise ZeroDivisionError("a bug nobody foresaw")
        return original(self, event)

    monkeypatch.setattr(domain.Annotator, "annotate", annotate)
    canonical = [
        annotated("free_comment", "c-1", event_id, T0, text="ok").event
        for event_id in ("before", "boom", "after")
    ]
    with running(SENTIMENT, settings):
        produce(
            kafka_bootstrap,
            topics.canonical,
            [(b"c-1", e.model_dump_json().encode()) for e in canonical],
        )
        out = read_committed(kafka_bootstrap, [topics.annotated], expected=2)
        letters = read_committed(kafka_bootstrap, [topics.dead_letter], expected=1)
    assert [AnnotatedEvent.model_validate_json(r.value).event.event_id for r in out] == [
        "before",
        "after",
    ]
    assert reasons(letters) == ["unexpected_error"]
    assert headers_of(letters[0])[deadletter.ERROR_CLASS] == b"ZeroDivisionError"


def test_a_batch_that_fails_as_a_whole_is_redone_record_by_record(
    kafka_bootstrap: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scoring's write of a batch fails (a database error no rule foresaw): the runtime isolates
    the record behind it, whose dead letter goes through the outbox like every output."""
    settings = service_settings(kafka_bootstrap, database_url)
    topics = settings.topics
    from services.scoring import service as scoring_service

    original = scoring_service._Batch.write

    def write(self: Any, conn: Any, history_limit: int) -> None:
        if ("default", "c-poison") in self.dirty:  # (tenant, customer)
            raise RuntimeError("a constraint nobody foresaw")
        original(self, conn, history_limit)

    monkeypatch.setattr(scoring_service._Batch, "write", write)
    events = [
        annotated("purchase", "c-a", "a1", T0),
        annotated("purchase", "c-poison", "p1", T0),
        annotated("purchase", "c-b", "b1", T0),
    ]
    with running(SCORING, settings):
        produce(kafka_bootstrap, topics.annotated, [(b"same", encode(e)) for e in events])
        updates = read_committed(kafka_bootstrap, [topics.score_updates], expected=2)
        letters = read_committed(kafka_bootstrap, [topics.dead_letter], expected=1)
    assert sorted(ScoreUpdate.model_validate_json(r.value).customer_id for r in updates) == [
        "c-a",
        "c-b",
    ]
    assert reasons(letters) == ["unexpected_error"]
    assert set(store.tenant_states(create_engine(database_url))) == {"c-a", "c-b"}


# -- 4. dependencies that appear after the service started ------------------------------------


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def service_process(
    service: str, env: dict[str, str], log_file: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log_file.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run", service],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        except BaseException:
            # A failing test shows what the service said: its log is gone with tmp_path in CI.
            tail = log_file.read_bytes().decode(errors="replace").splitlines()[-80:]
            print(f"--- last lines of {log_file.name} ---", *tail, sep="\n")
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_scoring_started_before_its_database_becomes_ready_when_it_appears(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries not installed (CI installs them)")
    postgres = TempPostgres(bin_dir)  # its port is chosen, the server not started yet
    settings = service_settings(kafka_bootstrap, postgres.url)
    port = free_port()
    env = service_env(settings) | {"RAPPORT_HTTP_PORT": str(port), "RAPPORT_LOG_LEVEL": "INFO"}
    ready = f"http://127.0.0.1:{port}/readyz"
    log_file = tmp_path / "scoring.log"
    try:
        with service_process("scoring", env, log_file) as proc:
            status, body = wait_for(
                lambda: (
                    (r := get_json(ready))
                    and "unreachable" in r[1]["reasons"].get("started", "")
                    and r
                ),
                60,
                "readiness to say why it is not ready",
            )
            assert status == 503
            assert "database unreachable" in body["reasons"]["started"]
            alive, _ = get_json(f"http://127.0.0.1:{port}/healthz")
            assert alive == 200
            time.sleep(3)
            assert proc.poll() is None  # waiting, not crashing
            postgres.start()
            wait_for(lambda: get_json(ready)[0] == 200, 90, "readiness after the database")
            produce(
                kafka_bootstrap,
                settings.topics.annotated,
                [(b"c-1", encode(annotated("purchase", "c-1", "e-1", T0)))],
            )
            read_committed(kafka_bootstrap, [settings.topics.score_updates], expected=1)
        log = log_file.read_text()
        assert "cannot start yet (attempt 1)" in log
        assert "Traceback" not in log
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            postgres.stop()


def test_a_service_started_before_its_broker_waits_and_says_why(tmp_path: Path) -> None:
    port, http_port = free_port(), free_port()
    settings = service_settings(f"127.0.0.1:{port}")
    env = service_env(settings) | {
        "RAPPORT_HTTP_PORT": str(http_port),
        "RAPPORT_LOG_FORMAT": "json",
    }
    log_file = tmp_path / "ingest.log"
    with service_process("ingest", env, log_file) as proc:
        status, body = wait_for(
            lambda: (
                (r := get_json(f"http://127.0.0.1:{http_port}/readyz"))
                and "Kafka" in str(r[1])
                and r
            ),
            60,
            "readiness to say why it is not ready",
        )
        assert status == 503
        assert "unreachable" in body["reasons"]["started"]
        wait_for(lambda: "attempt 2" in log_file.read_text(), 30, "a second attempt")
        assert proc.poll() is None
    lines = [line for line in log_file.read_text().splitlines() if line.strip()]
    # JSON stays JSON: every line is one object, and no traceback spills over lines.
    assert all(json.loads(line) for line in lines)


def test_port_in_use_and_bad_settings_are_one_line_with_a_documented_exit_code(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = service_settings(kafka_bootstrap)
    with running(SENTIMENT, settings):
        pass  # topics exist
    blocker = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port := free_port())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: get_json_status(f"http://127.0.0.1:{port}/"), 20, "the blocker")
        env = service_env(settings) | {"RAPPORT_HTTP_PORT": str(port)}
        done = subprocess.run(
            [sys.executable, "-m", "services.cli", "run", "sentiment"],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
    finally:
        blocker.terminate()
        blocker.wait()
    assert done.returncode == 78
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "RAPPORT_HTTP_PORT" in lines[0]

    bad = subprocess.run(
        [sys.executable, "-m", "services.cli", "run", "sentiment"],
        env=service_env(settings) | {"RAPPORT_MAX_POLL_RECORDS": "lots"},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 78
    assert len(bad.stderr.decode().strip().splitlines()) == 1
    assert "RAPPORT_MAX_POLL_RECORDS" in bad.stderr.decode()


def get_json_status(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2):
        return True


# -- 5. a database that does not promise durable commits --------------------------------------


@pytest.mark.postgres
def test_a_non_durable_postgres_is_refused_unless_accepted(
    kafka_bootstrap: str, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's synchronous_commit")
    non_durable = database_url + "?options=-c%20synchronous_commit%3Doff"
    settings = service_settings(kafka_bootstrap, non_durable)
    refused = subprocess.run(
        [sys.executable, "-m", "services.cli", "run", "scoring"],
        env=service_env(settings),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 78
    line = refused.stderr.decode().strip().splitlines()[-1]
    assert "synchronous_commit=off" in line
    assert "RAPPORT_ACCEPT_NON_DURABLE_DATABASE" in line

    accepted = service_settings(kafka_bootstrap, non_durable, accept_non_durable_database=True)
    with running(SCORING, accepted) as runner:
        metrics = runner.metrics.registry.get_sample_value("rapport_database_durable")
    assert metrics == 0


# -- 6. an output topic deleted while running -------------------------------------------------


def test_a_deleted_output_topic_turns_readiness_false(kafka_bootstrap: str, tmp_path: Path) -> None:
    settings = service_settings(kafka_bootstrap, f"sqlite:///{tmp_path / 'scores.db'}")
    port = free_port()
    env = service_env(settings) | {"RAPPORT_HTTP_PORT": str(port)}
    ready = f"http://127.0.0.1:{port}/readyz"
    with service_process("scoring", env, tmp_path / "scoring.log"):
        wait_for(lambda: get_json(ready)[0] == 200, 90, "readiness")
        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        admin.delete_topics([settings.topics.alerts])
        admin.close()
        _, body = wait_for(
            lambda: (r := get_json(ready))[0] == 503 and r, 60, "readiness to turn false"
        )
        assert settings.topics.alerts in body["reasons"]["output_topics_exist"]


# -- 7. annotated events with absurd values ---------------------------------------------------


def test_out_of_range_annotated_events_are_dead_lettered(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = service_settings(kafka_bootstrap, f"sqlite:///{tmp_path / 'scores.db'}")
    topics = settings.topics
    now = datetime.now(UTC)
    # Written straight to the annotated topic, past ingest's checks (the contract's models
    # would refuse the date themselves, so it is set in the JSON).
    far_future = annotated("purchase", "c-1", "far-future", now).model_dump(mode="json")
    far_future["event"]["occurred_at"] = "9999-12-31T00:00:00Z"
    far_future["event"]["upstream"]["occurred_at"] = "9999-12-31T00:00:00Z"
    events = [
        json.dumps(far_future).encode(),
        encode(
            annotated("purchase", "c-1", "huge", now, amount=99_999_999_999_999, currency="EUR")
        ),
        encode(
            annotated(
                "purchase", "c-1", "fine", now - timedelta(days=30), amount=80, currency="EUR"
            )
        ),
    ]
    with running(SCORING, settings):
        produce(kafka_bootstrap, topics.annotated, [(b"c-1", e) for e in events])
        updates = read_committed(kafka_bootstrap, [topics.score_updates], expected=1)
        letters = read_committed(kafka_bootstrap, [topics.dead_letter], expected=2)
    assert sorted(reasons(letters)) == ["amount_out_of_range", "timestamp_out_of_range"], [
        headers_of(r)[deadletter.MESSAGE] for r in letters
    ]
    [update] = [ScoreUpdate.model_validate_json(r.value) for r in updates]
    assert update.caused_by_event_id == "fine"
    assert update.event_count == 1
    assert sorted(reasons(letters)) == ["amount_out_of_range", "timestamp_out_of_range"]


# -- the broker itself: late at start, and killed mid-stream -----------------------------------


def pipeline_env(settings: Settings, **extra: str) -> dict[str, str]:
    return service_env(settings) | {
        "RAPPORT_MAX_POLL_RECORDS": "100",
        "RAPPORT_RETRY_INITIAL_SECONDS": "0.2",
        "RAPPORT_RETRY_MAX_SECONDS": "2",
        **extra,
    }


def test_a_service_becomes_ready_when_its_broker_appears_without_a_restart(
    tmp_path: Path,
) -> None:
    port, http_port = free_port(), free_port()
    settings = service_settings(f"127.0.0.1:{port}")
    ready = f"http://127.0.0.1:{http_port}/readyz"
    env = pipeline_env(settings, RAPPORT_HTTP_PORT=str(http_port))
    broker = LocalKafkaBroker(state_dir=tmp_path / "kafka", preferred_port=port)
    with service_process("ingest", env, tmp_path / "ingest.log") as proc:
        wait_for(
            lambda: (r := get_json(ready)) and "unreachable" in r[1]["reasons"].get("started", ""),
            60,
            "readiness to say the broker is unreachable",
        )
        try:
            assert broker.start() == f"127.0.0.1:{port}"
            wait_for(lambda: get_json(ready)[0] == 200, 120, "readiness once the broker is up")
            event = upstream("free_comment", "c-1", "late-broker-1", T0)
            produce(
                broker.bootstrap_servers,
                settings.topics.raw_feedback,
                [(b"c-1", event.model_dump_json().encode())],
            )
            [out] = read_committed(broker.bootstrap_servers, [settings.topics.canonical], 1)
            assert json.loads(out.value)["event_id"] == "late-broker-1"
            assert proc.poll() is None  # the same process all along
        finally:
            broker.stop()


def test_a_broker_killed_mid_stream_and_restarted_on_its_data_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    """SIGKILL the broker while the three services run, restart it on its data and port, leave
    the services as they are: every event comes out of each stage exactly once."""
    broker = LocalKafkaBroker(state_dir=tmp_path / "kafka", preferred_port=free_port())
    servers = broker.start()
    try:
        settings = service_settings(servers, f"sqlite:///{tmp_path / 'scores.db'}")
        topics = settings.topics
        create_topics(settings)
        env = pipeline_env(settings, RAPPORT_HTTP_PORT="0")
        events = [
            upstream("free_comment", f"c-{i % 50}", f"ev-{i}", T0 + timedelta(seconds=i))
            for i in range(1_500)
        ]
        raw = [(e.customer_id.encode(), e.model_dump_json().encode()) for e in events]
        with contextlib.ExitStack() as stack:
            for name in ("ingest", "sentiment", "scoring"):
                stack.enter_context(service_process(name, env, tmp_path / f"{name}.log"))
            produce(servers, topics.raw_feedback, raw[:1_000])
            # Kill it once work is under way in every stage.
            wait_for(
                lambda: uncommitted_count(servers, topics.score_updates) > 0,
                180,
                "the first score updates",
            )
            state = broker.running_state()
            assert state is not None
            os.kill(state.pid, signal.SIGKILL)
            broker.stop()  # reaps the process; the data directory stays
            time.sleep(3)
            assert broker.start() == servers  # same data, same port
            produce(servers, topics.raw_feedback, raw[1_000:])
            for group, topic in (
                ("ingest", topics.raw_feedback),
                ("sentiment", topics.canonical),
                ("scoring", topics.annotated),
            ):
                wait_until_consumed(
                    servers, f"{settings.group_prefix}-{group}", [topic], timeout=300
                )
        expected = sorted(e.event_id for e in events)
        canonical = read_to_end(servers, [topics.canonical])
        annotated_out = read_to_end(servers, [topics.annotated])
        updates = read_to_end(servers, [topics.score_updates])
        letters = read_to_end(servers, [topics.dead_letter])
    finally:
        broker.stop()
    assert letters == []
    assert sorted(json.loads(r.value)["event_id"] for r in canonical) == expected
    assert sorted(json.loads(r.value)["event"]["event_id"] for r in annotated_out) == expected
    assert sorted(json.loads(r.value)["caused_by_event_id"] for r in updates) == expected
    processed = store.tenant_processed(create_engine(settings.database_url))
    assert sorted(event_id for _, event_id in processed) == expected
