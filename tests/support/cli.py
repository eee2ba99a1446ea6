"""The ``rapport`` command in a process of its own, pointed at a test's broker and topics."""

from __future__ import annotations

import os
import subprocess
import sys

from services.runtime.settings import Settings


def cli_env(settings: Settings, **variables: str) -> dict[str, str]:
    """This process's environment without its RAPPORT_ variables, plus the test's broker and
    topics (and ``variables``): the command sees the test's deployment only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["KAFKA_BOOTSTRAP_SERVERS"] = settings.kafka_bootstrap_servers or ""
    env["COLUMNS"] = "200"  # rich tables unwrapped, whatever the terminal
    for field, name in settings.topics.model_dump().items():
        env[f"RAPPORT_TOPICS__{field.upper()}"] = name
    return env | variables


def rapport(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """``rapport ARGS``; what it printed. Fails the test on a non-zero exit."""
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
