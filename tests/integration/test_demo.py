"""The README's demo, end to end against the session's broker."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.kafka


def test_demo_prints_score_updates_for_every_sample_customer(kafka_bootstrap: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for customer in ("cust-ada", "cust-bo", "cust-cy", "cust-di"):
        assert customer in result.stderr
    assert "dead letter invalid_json" in result.stderr
    assert "demo complete" in result.stderr
    # It stops waiting once every output is in (it once waited out its whole deadline).
    assert "gave up waiting" not in result.stderr
