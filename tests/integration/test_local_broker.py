"""`rapport kafka start|status|stop` runs a real broker and leaves no process behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services.localkafka.broker import pid_alive, read_state

pytestmark = pytest.mark.kafka


def rapport(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAPPORT_KAFKA_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "kafka", *args],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.skipif(shutil.which("java") is None, reason="the local broker needs Java")
def test_cli_starts_reports_and_stops_a_broker_cleanly(tmp_path: Path) -> None:
    # Share the jar cache of the session (fetched already), but not its run state.
    shared_jars = Path(
        os.environ.get("RAPPORT_KAFKA_CACHE_DIR", Path.home() / ".cache/rapport/kafka")
    )
    cache = tmp_path / "cache"
    cache.mkdir()
    for version_dir in shared_jars.iterdir() if shared_jars.exists() else []:
        if (version_dir / "lib").is_dir():
            (cache / version_dir.name).mkdir()
            (cache / version_dir.name / "lib").symlink_to(version_dir / "lib")

    started = rapport("start", cache=cache)
    assert started.returncode == 0, started.stderr
    state = read_state(cache / "run")
    assert state is not None
    try:
        assert started.stdout.strip() == state.bootstrap_servers
        assert pid_alive(state.pid)
        status = rapport("status", cache=cache)
        assert status.returncode == 0
        assert status.stdout.strip() == state.bootstrap_servers
    finally:
        stopped = rapport("stop", cache=cache)
    assert stopped.returncode == 0, stopped.stderr
    assert not pid_alive(state.pid)
    assert rapport("status", cache=cache).returncode == 1
