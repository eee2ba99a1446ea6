"""Topic set-up on a real broker: missing topics are created, existing ones only checked."""

from __future__ import annotations

import pytest

from services.runtime.kafka_io import ensure_topics
from tests.support.kafka import unique_prefix

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
