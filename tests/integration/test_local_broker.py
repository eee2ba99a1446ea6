"""`rapport kafka start|status|stop` runs a real broker that keeps its data and port, restarts on
its data after a SIGKILL, and leaves no process behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kafka import KafkaAdminClient

from services.localkafka.broker import free_port, pid_alive, read_state
from services.runtime.kafka_io import ensure_topics

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(shutil.which("java") is None, reason="the local broker needs Java"),
]


def rapport(*args: str, cache: Path, state: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RAPPORT_KAFKA_CACHE_DIR": str(cache),
        "RAPPORT_STATE_DIR": str(state),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "kafka", *args],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
    )


def shared_jar_cache(tmp_path: Path) -> Path:
    """The jar cache of the session (fetched already), without its run state."""
    shared_jars = Path(
        os.environ.get("RAPPORT_KAFKA_CACHE_DIR", Path.home() / ".cache/rapport/kafka")
    )
    cache = tmp_path / "cache"
    cache.mkdir()
    for version_dir in shared_jars.iterdir() if shared_jars.exists() else []:
        if (version_dir / "lib").is_dir():
            (cache / version_dir.name).mkdir()
            (cache / version_dir.name / "lib").symlink_to(version_dir / "lib")
    return cache


def topics_of(servers: str) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=servers)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def test_cli_starts_reports_and_stops_a_broker_cleanly_and_keeps_its_data(
    tmp_path: Path,
) -> None:
    cache, state = shared_jar_cache(tmp_path), tmp_path / "state"
    # Not Kafka's 9092: a developer's own broker may hold it while the tests run.
    port = free_port()
    started = rapport("start", "--port", str(port), cache=cache, state=state)
    assert started.returncode == 0, started.stderr
    first = read_state(state / "kafka")
    assert first is not None
    try:
        assert started.stdout.strip() == first.bootstrap_servers == f"127.0.0.1:{port}"
        assert pid_alive(first.pid)
        status = rapport("status", "--json", cache=cache, state=state)
        assert status.returncode == 0
        assert json.loads(status.stdout)["responding"] is True
        ensure_topics(first.bootstrap_servers, ["kept.topic"], 1)

        # A SIGKILL (a crash, an OOM kill): the next start recovers the same data, same port.
        os.kill(first.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_alive(first.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        restarted = rapport("start", cache=cache, state=state)
        assert restarted.returncode == 0, restarted.stderr
        assert "on its previous data" in restarted.stderr
        assert restarted.stdout.strip() == first.bootstrap_servers
        assert "kept.topic" in topics_of(first.bootstrap_servers)

        # A clean stop and start: the same again.
        assert rapport("stop", cache=cache, state=state).returncode == 0
        assert rapport("start", cache=cache, state=state).stdout.strip() == first.bootstrap_servers
        assert "kept.topic" in topics_of(first.bootstrap_servers)

        # --fresh wipes the topics and says what that means for the local database.
        assert rapport("stop", cache=cache, state=state).returncode == 0
        fresh = rapport("start", "--fresh", cache=cache, state=state)
        assert fresh.returncode == 0, fresh.stderr
        assert "rapport up --reset" in fresh.stderr
        assert "kept.topic" not in topics_of(fresh.stdout.strip())
    finally:
        stopped = rapport("stop", cache=cache, state=state)
    assert stopped.returncode == 0, stopped.stderr
    last = read_state(state / "kafka")
    assert last is None
    assert not pid_alive(first.pid)
    assert rapport("status", cache=cache, state=state).returncode == 1


def test_a_port_taken_by_another_process_is_one_clear_line(tmp_path: Path) -> None:
    import socket

    cache, state = shared_jar_cache(tmp_path), tmp_path / "state"
    (state / "kafka" / "data").mkdir(parents=True)
    (state / "kafka" / "data" / "meta.properties").write_text("formatted\n")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        (state / "kafka" / "ports.json").write_text(
            json.dumps({"port": taken, "controller_port": free_port()})
        )
        result = rapport("start", cache=cache, state=state)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {taken}" in lines[0]
    assert "--fresh" in lines[0]
