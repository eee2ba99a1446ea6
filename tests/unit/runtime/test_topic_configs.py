"""The topic configs Rapport creates carry the bounds docs/privacy.md promises."""

from __future__ import annotations

import re

import pytest

from services.ingest.service import SPEC as INGEST
from services.runtime.privacydocs import DOC, duration, render
from services.runtime.service import ServiceSpec
from services.runtime.settings import Settings, TopicRetention
from services.runtime.topic_configs import (
    DAY_MS,
    HOUR_MS,
    TOPICS,
    bounds,
    merged_configs,
    topic_configs,
)
from services.scoring.service import SPEC as SCORING
from services.sentiment.service import SPEC as SENTIMENT

DEFAULTS = Settings.model_construct()


def test_the_privacy_table_is_generated_from_the_declarations() -> None:
    current = DOC.read_text()
    assert render(current) == current, "run `python -m services.runtime.privacydocs`"


def test_every_topic_of_the_contract_is_declared_once() -> None:
    assert sorted(d.field for d in TOPICS) == sorted(DEFAULTS.topics.model_dump())


def test_every_topic_has_a_bounded_segment_and_compacted_ones_a_compaction_bound() -> None:
    for name, configs in topic_configs(DEFAULTS).items():
        # The key topic rolls and compacts hourly: an erased customer's key goes within hours.
        lag = HOUR_MS if name == DEFAULTS.topics.privacy_keys else DAY_MS
        assert int(configs["segment.ms"]) == lag, name
        assert configs["message.timestamp.after.max.ms"] == str(HOUR_MS), name
        if configs["cleanup.policy"] == "compact":
            # Kept until compacted: the bound comes from the compaction lag, not a retention.
            assert "retention.ms" not in configs, name
        else:
            assert "retention.ms" in configs, name
        if "compact" in configs["cleanup.policy"]:
            assert configs["max.compaction.lag.ms"] == str(lag), name
            assert configs["delete.retention.ms"] == str(DAY_MS), name


def test_a_week_of_retention_is_gone_within_eight_days_not_fourteen() -> None:
    dead_letter = topic_configs(DEFAULTS)[DEFAULTS.topics.dead_letter]
    found = bounds(dead_letter)
    # 7 d retention + 1 d segment + twice 1 h timestamp skew + 5 min retention check.
    assert found.readable_ms == 8 * DAY_MS + 2 * HOUR_MS + 5 * 60_000
    assert found.on_disk_ms == found.readable_ms + 60_000
    assert duration(found.readable_ms) == "8 d 2 h 5 min"


def test_an_erased_customers_latest_score_is_compacted_within_two_days() -> None:
    latest = bounds(topic_configs(DEFAULTS)[DEFAULTS.topics.scores_latest])
    assert latest.readable_ms == 2 * DAY_MS + 15_000  # roll + lag + cleaner backoff
    assert latest.key_readable_ms == 5 * DAY_MS + 30_000  # + tombstone retention + next cleaning


def test_the_table_states_each_topics_bound() -> None:
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `([^`]+)` \|.*\| ([^|]+) \|$", DOC.read_text(), re.MULTILINE)
    }
    for name, configs in topic_configs(DEFAULTS).items():
        assert duration(bounds(configs).readable_ms) in rows[name], name


def test_the_settings_move_the_retention() -> None:
    settings = Settings.model_construct(
        retention=TopicRetention(dead_letter_days=1, pipeline_days=3, segment_hours=6)
    )
    configs = topic_configs(settings)
    assert configs[settings.topics.dead_letter]["retention.ms"] == str(DAY_MS)
    assert configs[settings.topics.canonical]["retention.ms"] == str(3 * DAY_MS)
    assert configs[settings.topics.canonical]["segment.ms"] == str(6 * HOUR_MS)
    # The duplicate window is the changelog's retention.
    window = Settings.model_construct(
        ingest=DEFAULTS.ingest.model_copy(update={"dedup_window_hours": 2})
    )
    assert topic_configs(window)[window.topics.ingest_dedup]["retention.ms"] == str(2 * HOUR_MS)


@pytest.mark.parametrize("spec", [INGEST, SENTIMENT, SCORING], ids=lambda s: s.name)
def test_no_service_overrides_a_declared_config_with_another_value(spec: ServiceSpec) -> None:
    own = spec.topic_configs(DEFAULTS)
    declared = topic_configs(DEFAULTS)
    for name, configs in own.items():
        for key, value in configs.items():
            assert declared[name].get(key, value) == value, (spec, name, key)
    merged = merged_configs(DEFAULTS, own)
    assert merged == declared  # the service adds nothing the table does not know
