"""The container image, built and run for real: podman builds deploy/container/Dockerfile (on a
base image made from Debian packages, as registries are unreachable here), runs `rapport run
ingest` in it against the session's local broker, and events flow; /readyz answers; the
HEALTHCHECK passes; the final stage has no compiler and does not run as root; SIGTERM stops
it cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.localkafka.broker import free_port
from tests.support.events import variant
from tests.support.kafka import create_topics, produce, read_committed, service_settings
from tests.unit.ops.tooling import require_tool

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "container" / "Dockerfile"
IMAGE = "localhost/rapport:test"
# Debian's podman on our machines: runc, and explicit limits (the defaults exceed the sandbox's).
RUN = ["--runtime", "runc"]
LIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]


def podman(*args: str, timeout: float = 900, check: bool = True) -> str:
    done = subprocess.run(
        [require_tool("podman"), *args], capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip
    if check:
        assert done.returncode == 0, (
            f"podman {args[:3]}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return done.stdout


def test_dockerfile_passes_hadolint() -> None:
    hadolint = require_tool("hadolint")
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def image() -> str:
    require_tool("podman")
    subprocess.run(["bash", str(ROOT / "deploy" / "container" / "base-image.sh")], check=True)
    secret: list[str] = []
    # A TLS-inspecting proxy in front of PyPI: hand its CA bundle to pip as a build secret.
    bundle = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
    if bundle and Path(bundle).is_file():
        secret = ["--secret", f"id=pip-ca,src={bundle}"]
    podman(
        "build", "--format", "docker", *RUN, *LIMITS, *secret,
        "-f", str(DOCKERFILE), "-t", IMAGE, str(ROOT),
        timeout=1800,
    )  # fmt: skip
    return IMAGE


def test_the_final_stage_is_minimal_and_not_root(image: str) -> None:
    [config] = json.loads(podman("image", "inspect", image))
    assert config["Config"]["User"] == "10001:10001"
    assert "RAPPORT_HTTP_HOST=0.0.0.0" in config["Config"]["Env"]
    assert config["Healthcheck"]["Test"][-1].endswith("healthcheck.py")
    probe = podman(
        "run", "--rm", *RUN, *LIMITS, "--entrypoint", "sh", image, "-c",
        "id -u; command -v gcc cc || echo no-compiler; "
        "python3 -c 'from services.sentiment.native import implementation as i; print(i())'",
    )  # fmt: skip
    assert probe.split() == ["10001", "no-compiler", "mypyc"]


@pytest.fixture
def container(image: str, kafka_bootstrap: str) -> Iterator[tuple[str, int, object]]:
    settings = service_settings(kafka_bootstrap)
    create_topics(settings)
    port = free_port()
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "RAPPORT_HTTP_PORT": str(port),
        "RAPPORT_GROUP_PREFIX": settings.group_prefix,
        "RAPPORT_INSTANCE_ID": settings.instance_id,
        **{f"RAPPORT_TOPICS__{k.upper()}": v for k, v in settings.topics.model_dump().items()},
    }
    name = f"rapport-test-{settings.instance_id}"
    env_args = [arg for k, v in env.items() for arg in ("-e", f"{k}={v}")]
    # Host network: the broker listens on the host's loopback.
    podman(
        "run", "-d", "--name", name, *RUN, *LIMITS, "--network", "host", *env_args,
        image, "run", "ingest",
    )  # fmt: skip
    try:
        yield name, port, settings
    finally:
        podman("rm", "-f", "-t", "5", name, check=False)


def http_get(port: int, path: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_the_image_runs_a_service_against_the_local_broker(
    container: tuple[str, int, object], kafka_bootstrap: str
) -> None:
    name, port, settings = container
    topics = settings.topics  # type: ignore[attr-defined]
    deadline = time.monotonic() + 90
    status: tuple[int, dict[str, object]] | None = None
    while time.monotonic() < deadline:
        try:
            status = http_get(port, "/readyz")
            if status[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.5)
    assert status is not None, podman("logs", name)
    assert status[0] == 200, (status, podman("logs", name))
    events = [variant(i, f"c{i}", event_id=f"img-{i}") for i in range(6)]
    produce(
        kafka_bootstrap,
        topics.raw_feedback,
        [(f"c{i}".encode(), value) for i, (kind, value) in enumerate(events) if kind == "feedback"],
    )
    produce(
        kafka_bootstrap,
        topics.raw_interactions,
        [(f"c{i}".encode(), value) for i, (kind, value) in enumerate(events) if kind != "feedback"],
    )
    canonical = read_committed(kafka_bootstrap, [topics.canonical], expected=6, timeout=90)
    assert sorted(r.key for r in canonical) == sorted(f"c{i}".encode() for i in range(6))
    podman("healthcheck", "run", name)
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
    assert b'rapport_records_out_total{service="ingest"' in metrics
    assert b"process_resident_memory_bytes" in metrics
    # SIGTERM: the batch in hand is finished and committed, the process exits 0.
    podman("stop", "-t", "30", name)
    [state] = json.loads(podman("inspect", name))
    assert state["State"]["ExitCode"] == 0, podman("logs", name)
    logs = podman("logs", name) + "".join(
        subprocess.run(
            [require_tool("podman"), "logs", name], capture_output=True, text=True, check=False
        ).stderr
    )
    assert "ingest stopped" in logs
