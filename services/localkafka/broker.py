"""Run the official Apache Kafka broker (KRaft, single node) from jars fetched with Maven.

The jars are downloaded once into a cache. A broker without a state directory (tests, the
demo) gets a fresh temporary storage directory and free loopback ports, and leaves nothing
behind. A broker with a state directory (``rapport kafka start``, ``rapport up``) keeps its data
and its port across stops, crashes and SIGKILLs: exported ``KAFKA_BOOTSTRAP_SERVERS`` stay
valid and the topics stay in step with the database that recorded their offsets.
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


def _two_free_ports() -> tuple[int, int]:
    while True:
        port, controller = free_port(), free_port()
        if port != controller:
            return port, controller


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


@dataclass(frozen=True)
class BrokerPorts:
    """Chosen once per data directory: clients keep their address across restarts."""

    port: int
    controller_port: int


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap_servers: str | None
    responding: bool
    problem: str | None
    state_dir: str
    log_file: str
    has_data: bool


PREFERRED_PORT = 9092
PREFERRED_CONTROLLER_PORT = 9093


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def choose_ports(preferred: int = PREFERRED_PORT) -> BrokerPorts:
    """Kafka's well-known port when it is free (tools and docs assume it), else any free one."""
    port = preferred if port_free(preferred) else free_port()
    controller = preferred + 1 if preferred == PREFERRED_PORT else free_port()
    if controller == port or not port_free(controller):
        controller = free_port()
    return BrokerPorts(port, controller)


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
    """A single-node KRaft broker in a child process; the one object that starts, stops and
    reports on it.

    Without ``state_dir``: a throw-away broker (context manager in tests and the demo) on fresh
    data and free ports. With ``state_dir``: a lasting one, whose data, cluster id and port live
    in that directory; ``start(detach=True)`` leaves it running (``rapport kafka start``) and
    records its pid, and any later ``LocalKafkaBroker(state_dir)`` can report on or stop it.
    """

    def __init__(
        self,
        state_dir: Path | None = None,
        cache_dir: Path | None = None,
        heap: str = "512m",
        progress: Progress | None = None,
        preferred_port: int = PREFERRED_PORT,
    ) -> None:
        self._owns_state_dir = state_dir is None
        self._preferred_port = preferred_port
        self.state_dir = state_dir or Path(tempfile.mkdtemp(prefix="rapport-kafka-"))
        self._cache_dir = cache_dir
        self._heap = heap
        self.progress = progress
        self._process: subprocess.Popen[bytes] | None = None
        self.bootstrap_servers = ""

    @property
    def log_file(self) -> Path:
        return self.state_dir / "broker.log"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def _ports_file(self) -> Path:
        return self.state_dir / "ports.json"

    def has_data(self) -> bool:
        """Whether the storage is formatted (a KRaft log directory has its meta.properties)."""
        return (self.data_dir / "meta.properties").exists()

    def _ports(self) -> BrokerPorts:
        if self.has_data() and self._ports_file.exists():
            ports = BrokerPorts(**json.loads(self._ports_file.read_text()))
            for port in (ports.port, ports.controller_port):
                if not port_free(port):
                    raise BrokerError(
                        f"port {port} of the local broker is in use by another process; stop "
                        "that process, or start over on new ports with "
                        "`rapport kafka start --fresh` (deletes the broker's topics)"
                    )
            return ports
        if self._owns_state_dir:
            ports = BrokerPorts(*_two_free_ports())
        else:
            ports = choose_ports(self._preferred_port)
        self._ports_file.write_text(json.dumps(asdict(ports)))
        return ports

    def wipe(self) -> None:
        """Delete the broker's data (its topics, offsets and cluster id) and its ports."""
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self._ports_file.unlink(missing_ok=True)

    def running_state(self) -> BrokerState | None:
        """The recorded broker process, if it is alive."""
        state = read_state(self.state_dir)
        return state if state is not None and pid_alive(state.pid) else None

    def status(self, timeout: float = 10.0) -> BrokerStatus:
        state = self.running_state()
        problem: str | None = None
        responding = False
        if state is not None:
            try:
                wait_until_ready(
                    state.bootstrap_servers, timeout=timeout, alive=lambda: pid_alive(state.pid)
                )
                responding = True
            except BrokerError as exc:
                problem = str(exc)
        return BrokerStatus(
            running=state is not None,
            pid=state.pid if state else None,
            bootstrap_servers=state.bootstrap_servers if state else None,
            responding=responding,
            problem=problem,
            state_dir=str(self.state_dir),
            log_file=str(self.log_file),
            has_data=self.has_data(),
        )

    def start(self, timeout: float = 90.0, detach: bool = False, fresh: bool = False) -> str:
        """Start the broker and wait until it serves clients; return its bootstrap address.

        A lasting broker restarts on its data and port (also after a SIGKILL); ``fresh`` wipes
        them first. A throw-away broker always starts fresh.
        """
        running = self.running_state()
        if running is not None:
            self.bootstrap_servers = running.bootstrap_servers
            return running.bootstrap_servers
        lib = fetch_jars(self._cache_dir, self.progress)
        java = shutil.which("java")
        if java is None:
            raise BrokerError("a Java runtime (17+) is needed to run the local Kafka broker")
        if fresh or self._owns_state_dir:
            self.wipe()
        data_dir = self.data_dir
        self.state_dir.mkdir(parents=True, exist_ok=True)
        ports = self._ports()
        port, controller_port = ports.port, ports.controller_port
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
        if not self.has_data():
            self._format(jvm, classpath, properties)
        if self.progress:
            self.progress(f"starting Kafka {KAFKA_VERSION} on 127.0.0.1:{port}")
        # Appended, not truncated: the log of a lasting broker tells what happened before a crash.
        with self.log_file.open("ab") as log_out:
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

    def _format(self, jvm: list[str], classpath: str, properties: Path) -> None:
        if self.progress:
            self.progress("formatting KRaft storage")
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

    def _write_state(self) -> None:
        assert self._process is not None
        state = BrokerState(
            self._process.pid, self.bootstrap_servers, str(self.state_dir), str(self.log_file)
        )
        (self.state_dir / "broker.json").write_text(json.dumps(asdict(state)))

    def stop(self, timeout: float = 20.0) -> int | None:
        """Stop the broker this object started, or the one recorded in the state directory;
        the data stays (unless the broker is a throw-away one). Returns the stopped pid."""
        pid: int | None = None
        if self._process is not None:
            pid = self._process.pid
            terminate(self._process.pid, timeout, wait=self._process.wait)
            self._process = None
        elif (state := self.running_state()) is not None:
            pid = state.pid
            terminate(state.pid, timeout)
        (self.state_dir / "broker.json").unlink(missing_ok=True)
        if self._owns_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        return pid

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
