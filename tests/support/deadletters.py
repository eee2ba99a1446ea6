"""Dead letters as they were before they were sealed (services/runtime/shredding.py)."""

from __future__ import annotations

from typing import Any

from services.runtime import shredding
from services.runtime.dlq_tools import DeadLetter, dead_letter_view, opened
from services.runtime.kafka_io import in_record
from services.runtime.settings import Settings


def opened_letters(settings: Settings, records: list[Any]) -> list[DeadLetter]:
    """The dead letters (as read from the topic), opened with the deployment's keys."""
    assert settings.kafka_bootstrap_servers
    keys = shredding.connect(settings, settings.kafka_bootstrap_servers)
    return [opened(dead_letter_view(in_record(record)), keys) for record in records]
