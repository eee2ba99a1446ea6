"""Run the official Apache Kafka broker (KRaft, single node) from jars fetched with Maven.

The jars are downloaded once into a cache; each broker gets a fresh storage directory, free
loopback ports and a small heap, so a start takes seconds and leaves nothing behind.
"""

from __future__ import annotations

import atexit
import base64
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

KAFKA_VERSION = "4.1.2"  # keep in step with deploy/kafka/pom.xml
DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
_COMPLETE_MARKER = ".complete"
_DOWNLOADED = re.compile(r"Downloaded from \S+: (\S+)")

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


class BrokerError(RuntimeError):
    pass


def default_cache_dir() -> Path:
    return Path(os.environ.get("RAPPORT_KAFKA_CACHE_DIR", Path.home() / ".cache/rapport/kafka"))


def fetch_jars(
    cache_dir: Path | None = None, progress: Progress | None = None, maven: str = "mvn"
) -> Path:
    """Return the directory of broker jars, downloading them with Maven on first use."""
    lib = (cache_dir or default_cache_dir()) / KAFKA_VERSION / "lib"
    if (lib / _COMPLETE_MARKER).exists():
        return lib
    if shutil.which(maven) is None:
        raise BrokerError("Maven (mvn) is needed once to fetch the Kafka jars; install it first")
    # Download into a sibling and rename at the end: an interrupted fetch must not leave a
    # half-filled lib directory that a later start would trust.
    lib.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="lib-", dir=lib.parent))
    command = [
        maven,
        "-B",
        "-f",
        str(DEPLOY_DIR / "pom.xml"),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
    ]
    downloaded = 0
    output: list[str] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            match = _DOWNLOADED.search(line)
            if match:
                downloaded += 1
                if progress:
                    artifact = match.group(1).rsplit("/", 1)[-1]
                    progress(f"{downloaded} artifacts downloaded, last {artifact}")
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError("Maven could not fetch the Kafka jars:\n" + "".join(output[-30:]))
    (staging / _COMPLETE_MARKER).write_text(KAFKA_VERSION)
    if lib.exists():
        shutil.rmtree(lib)
    staging.rename(lib)
    return lib


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def random_cluster_id() -> str:
    """A KRaft cluster id as Kafka's Uuid.randomUuid() makes them: URL-safe base64 of 16 random
    bytes, never starting with '-', which the storage tool would read as an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        # One node: every replication factor and min.isr must be 1 or nothing can be written.
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # The defaults (50 partitions each) make the first group join and the first
        # transaction take seconds on a small machine.
        "offsets.topic.num.partitions": "3",
        "transaction.state.log.num.partitions": "3",
        "num.partitions": "3",
        # Nobody else is coming to join: start consuming at once.
        "group.initial.rebalance.delay.ms": "0",
        # Transactions of a killed producer that nobody re-initialises are aborted soon after
        # their timeout, so read_committed consumers are not held back for long.
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": "2000",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "auto.create.topics.enable": "false",
        "log.segment.bytes": str(64 * 1024 * 1024),
    }
    return "".join(f"{k}={v}\n" for k, v in settings.items())


@dataclass
class BrokerState:
    pid: int
    bootstrap_servers: str
    state_dir: str
    log_file: str


def wait_until_ready(bootstrap_servers: str, timeout: float, alive: Callable[[], bool]) -> None:
    """Wait until a metadata request succeeds: an open port alone does not mean the broker has
    finished its controller election and can serve clients."""
    # Deferred: importing kafka-python costs ~0.3 s, which `rapport kafka stop` need not pay.
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaConfigurationError

    deadline = time.monotonic() + timeout
    host, _, port = bootstrap_servers.split(",", maxsplit=1)[0].rpartition(":")
    # Poll the port cheaply first: a client that meets a refused connection backs off for
    # seconds, which would double the start-up time.
    while not _port_open(host, int(port)):
        if not alive():
            raise BrokerError("the broker process exited during start-up")
        if time.monotonic() > deadline:
            raise BrokerError(f"broker port {port} not open after {timeout:.0f}s")
        time.sleep(0.05)
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if not alive():
            raise BrokerError("the broker process exited during start-up")
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=3000)
            try:
                admin.describe_cluster()
                return
            finally:
                admin.close()
        except KafkaConfigurationError:
            raise
        except Exception as exc:  # not up yet: refused, no metadata, timeout
            last_error = exc
            time.sleep(0.2)
    raise BrokerError(f"broker not ready after {timeout:.0f}s: {last_error!r}")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class LocalKafkaBroker:
    """A single-node KRaft broker in a child process.

    Use as a context manager (tests, demo), or ``start(detach=True)`` for ``rapport kafka start``,
    which leaves it running and records its pid in ``state_dir/broker.json``.
    """

    def __init__(
        self,
        state_dir: Path | None = None,
        cache_dir: Path | None = None,
        heap: str = "512m",
        progress: Progress | None = None,
    ) -> None:
        self._owns_state_dir = state_dir is None
        self.state_dir = state_dir or Path(tempfile.mkdtemp(prefix="rapport-kafka-"))
        self._cache_dir = cache_dir
        self._heap = heap
        self._progress = progress
        self._process: subprocess.Popen[bytes] | None = None
        self.bootstrap_servers = ""

    @property
    def log_file(self) -> Path:
        return self.state_dir / "broker.log"

    def start(self, timeout: float = 90.0, detach: bool = False) -> str:
        lib = fetch_jars(self._cache_dir, self._progress)
        java = shutil.which("java")
        if java is None:
            raise BrokerError("a Java runtime (17+) is needed to run the local Kafka broker")
        data_dir = self.state_dir / "data"
        shutil.rmtree(data_dir, ignore_errors=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        port, controller_port = free_port(), free_port()
        properties = self.state_dir / "server.properties"
        properties.write_text(server_properties(data_dir, port, controller_port))
        classpath = f"{lib}/*"
        jvm = [
            java,
            f"-Xms{self._heap}",
            f"-Xmx{self._heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={DEPLOY_DIR / 'log4j2.yaml'}",
            "-cp",
            classpath,
        ]
        if self._progress:
            self._progress("formatting KRaft storage")
        formatted = subprocess.run(
            [
                jvm[0],
                # A one-shot tool: C1 alone starts faster, and it never runs long enough for C2.
                "-XX:TieredStopAtLevel=1",
                "-cp",
                classpath,
                f"-Dlog4j2.configurationFile={DEPLOY_DIR / 'log4j2.yaml'}",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                random_cluster_id(),
                "-c",
                str(properties),
                "--standalone",
            ],
            check=False,
            capture_output=True,
            text=True,
        )
        if formatted.returncode != 0:
            raise BrokerError(
                f"formatting KRaft storage failed:\n{formatted.stdout}{formatted.stderr}"
            )
        if self._progress:
            self._progress(f"starting Kafka {KAFKA_VERSION} on 127.0.0.1:{port}")
        with self.log_file.open("wb") as log_out:
            # Own session: a Ctrl-C in the terminal goes to us, and we stop the broker in order.
            self._process = subprocess.Popen(
                [*jvm, "kafka.Kafka", str(properties)],
                stdout=log_out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.bootstrap_servers = f"127.0.0.1:{port}"
        if not detach:
            # A test session or demo that dies without reaching stop() must not leave a broker
            # running behind it.
            atexit.register(self.stop)
        try:
            wait_until_ready(
                self.bootstrap_servers,
                timeout,
                lambda: self._process is not None and self._process.poll() is None,
            )
        except BrokerError as exc:
            tail = self.log_file.read_text(errors="replace").splitlines()[-20:]
            self.stop()
            raise BrokerError(f"{exc}\n--- broker log tail ---\n" + "\n".join(tail)) from exc
        self._write_state()
        return self.bootstrap_servers

    def _write_state(self) -> None:
        assert self._process is not None
        state = BrokerState(
            self._process.pid, self.bootstrap_servers, str(self.state_dir), str(self.log_file)
        )
        (self.state_dir / "broker.json").write_text(json.dumps(asdict(state)))

    def stop(self, timeout: float = 20.0) -> None:
        if self._process is not None:
            terminate(self._process.pid, timeout, wait=self._process.wait)
            self._process = None
        if self._owns_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> LocalKafkaBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def terminate(pid: int, timeout: float, wait: Callable[[float], object] | None = None) -> None:
    """SIGTERM lets the broker close its logs cleanly; SIGKILL if it has not exited in time."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    if wait is not None:
        try:
            wait(timeout)
            return
        except subprocess.TimeoutExpired:
            pass
    else:
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.1)
    log.warning("broker pid %d ignored SIGTERM for %.0fs; killing it", pid, timeout)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if wait is not None:
        wait(5)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers signal 0; treat a reaped-or-zombie process as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def read_state(state_dir: Path) -> BrokerState | None:
    path = state_dir / "broker.json"
    if not path.exists():
        return None
    return BrokerState(**json.loads(path.read_text()))
