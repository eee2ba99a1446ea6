"""Topic set-up on a real broker: missing topics are created, existing ones only checked."""

from __future__ import annotations

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from services.ingest.service import SPEC as INGEST
from services.runtime.kafka_io import ensure_topics
from services.runtime.service import build_runner
from services.runtime.settings import Settings, TopicRetention
from services.runtime.topic_configs import DAY_MS, merged_configs, topic_configs
from services.scoring.service import SPEC as SCORING
from services.scoring.service import output_topics as scoring_output_topics
from services.sentiment.service import SPEC as SENTIMENT
from tests.support.kafka import service_settings, unique_prefix

pytestmark = pytest.mark.kafka

COMPACT = {"cleanup.policy": "compact"}


def test_a_topic_created_with_its_configuration_reports_no_difference(
    kafka_bootstrap: str,
) -> None:
    name = f"{unique_prefix()}latest"
    assert ensure_topics(kafka_bootstrap, [name], 1, {name: COMPACT}) == []
    # The second start finds it and checks it.
    assert ensure_topics(kafka_bootstrap, [name], 1, {name: COMPACT}) == []


def test_an_existing_topic_is_not_altered_but_its_difference_is_reported(
    kafka_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"{unique_prefix()}latest"
    ensure_topics(kafka_bootstrap, [name], 1)  # someone created it on the broker's defaults

    first = ensure_topics(kafka_bootstrap, [name], 1, {name: COMPACT})
    again = ensure_topics(kafka_bootstrap, [name], 1, {name: COMPACT})

    assert len(first) == 1
    assert f"topic {name} has cleanup.policy=delete, Rapport needs compact" in first[0]
    assert f"--entity-name {name} --add-config cleanup.policy=compact" in first[0]
    assert again == first  # reported, never changed
    assert first[0] in caplog.text


def _described(bootstrap: str, names: list[str]) -> dict[str, dict[str, str]]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        found = admin.describe_configs(resources, config_filter="all").get("topic", {})
    finally:
        admin.close()
    return {name: {k: v["value"] for k, v in found[name].items()} for name in names}


def test_the_services_create_their_topics_with_the_retention_docs_privacy_states(
    kafka_bootstrap: str,
) -> None:
    # Ingest and sentiment through the real start-up path; scoring's topics as tests (and a
    # scoring start) create them: together every topic of the contract.
    settings = service_settings(kafka_bootstrap, retention=TopicRetention(dead_letter_days=2))
    for spec in (INGEST, SENTIMENT):
        build_runner(spec, settings).close()
    scoring_topics = {
        name: configs
        for name, configs in merged_configs(settings, SCORING.topic_configs(settings)).items()
        if name in scoring_output_topics(settings)
    }
    ensure_topics(kafka_bootstrap, list(scoring_topics), 1, scoring_topics)

    declared = topic_configs(settings)
    actual = _described(kafka_bootstrap, list(declared))

    for name, configs in declared.items():
        for key, value in configs.items():
            assert actual[name][key] == value, (name, key)
    assert actual[settings.topics.dead_letter]["retention.ms"] == str(2 * DAY_MS)
    assert actual[settings.topics.scores_latest]["max.compaction.lag.ms"] == str(DAY_MS)
    # A second start finds every topic as declared.
    assert create_topics_drift(settings) == []


def test_an_existing_topic_with_a_weeks_segments_is_reported_not_changed(
    kafka_bootstrap: str,
) -> None:
    settings = service_settings(kafka_bootstrap)
    name = settings.topics.dead_letter
    ensure_topics(kafka_bootstrap, [name], 1)  # created before the retention was declared

    drift = ensure_topics(kafka_bootstrap, [name], 1, topic_configs(settings))

    assert any(f"topic {name} has segment.ms=604800000, Rapport needs 86400000" in m for m in drift)
    # The broker's default retention.ms is the declared week: no difference to report there.
    # Nor for the timestamp skew and file delete delay, which are Kafka 4's defaults.
    for key in ("retention.ms", "message.timestamp.after.max.ms", "file.delete.delay.ms"):
        assert not any(f" has {key}=" in m for m in drift), key
    assert _described(kafka_bootstrap, [name])[name]["segment.ms"] == "604800000"


def create_topics_drift(settings: Settings) -> list[str]:
    assert settings.kafka_bootstrap_servers
    return ensure_topics(
        settings.kafka_bootstrap_servers,
        list(settings.topics.model_dump().values()),
        settings.topic_partitions,
        topic_configs(settings),
    )
