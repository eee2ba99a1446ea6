"""/healthz, /readyz and /metrics over real HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from services.runtime.health import HealthServer, Liveness
from services.runtime.metrics import ServiceMetrics


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served() -> Iterator[tuple[HealthServer, Clock, dict[str, bool]]]:
    clock = Clock()
    metrics = ServiceMetrics("svc")
    metrics.records_in.labels("svc", "in").inc(3)
    state = {"assigned": False}
    server = HealthServer(
        "127.0.0.1",
        0,
        metrics.registry,
        Liveness(10, clock),
        {"partitions_assigned": lambda: state["assigned"], "broken": lambda: 1 / 0 == 0},
    )
    server.start()
    yield server, clock, state
    server.stop()


def get(server: HealthServer, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_healthz_fails_when_the_loop_stops_beating(
    served: tuple[HealthServer, Clock, dict[str, bool]],
) -> None:
    server, clock, _ = served
    assert get(server, "/healthz")[0] == 200
    clock.now = 11
    status, body = get(server, "/healthz")
    assert status == 503
    assert json.loads(body)["seconds_since_progress"] == 11


def test_readyz_reports_each_check_and_a_failing_check_is_not_ready(
    served: tuple[HealthServer, Clock, dict[str, bool]],
) -> None:
    server, _, state = served
    state["assigned"] = True
    status, body = get(server, "/readyz")
    assert status == 503  # the check that raises counts as not ready
    assert json.loads(body)["checks"] == {"partitions_assigned": True, "broken": False}


def test_metrics_exposes_prometheus_text(
    served: tuple[HealthServer, Clock, dict[str, bool]],
) -> None:
    server, _, _ = served
    status, body = get(server, "/metrics")
    assert status == 200
    assert 'rapport_records_in_total{service="svc",topic="in"} 3.0' in body
    assert get(server, "/nope")[0] == 404
