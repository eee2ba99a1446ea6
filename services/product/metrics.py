"""What a running service says about itself on /metrics and /readyz, read over HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families


@dataclass
class ServiceSnapshot:
    name: str
    port: int
    reachable: bool = False
    ready: bool = False
    checks: dict[str, bool] = field(default_factory=dict)
    records_in: float = 0.0
    records_out: float = 0.0
    lag: float = 0.0
    dead_letters: Counter[str] = field(default_factory=Counter)

    @property
    def dead_letter_total(self) -> int:
        return int(sum(self.dead_letters.values()))


def _get(url: str, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


def scrape(name: str, port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> ServiceSnapshot:
    snapshot = ServiceSnapshot(name, port)
    try:
        status, body = _get(f"http://{host}:{port}/readyz", timeout)
        snapshot.reachable = True
        snapshot.ready = status == 200
        snapshot.checks = dict(json.loads(body).get("checks", {}))
        _, text = _get(f"http://{host}:{port}/metrics", timeout)
    except (OSError, ValueError):
        return snapshot
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "rapport_records_in_total":
                snapshot.records_in += sample.value
            elif sample.name == "rapport_records_out_total":
                snapshot.records_out += sample.value
            elif sample.name == "rapport_consumer_lag":
                snapshot.lag += sample.value
            elif sample.name == "rapport_dead_letters_total":
                snapshot.dead_letters[sample.labels.get("reason", "unknown")] += int(sample.value)
    return snapshot


@dataclass(frozen=True)
class Rates:
    records_in_per_s: float
    records_out_per_s: float


def rates(before: ServiceSnapshot, after: ServiceSnapshot, seconds: float) -> Rates:
    if seconds <= 0 or not (before.reachable and after.reachable):
        return Rates(0.0, 0.0)
    return Rates(
        max(0.0, after.records_in - before.records_in) / seconds,
        max(0.0, after.records_out - before.records_out) / seconds,
    )
