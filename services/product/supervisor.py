"""``rapport up``: the whole local stack as supervised child processes, one readable log stream.

The supervisor starts (or reuses) the lasting local broker of the state directory, then runs
each service as ``rapport run NAME`` in its own process group (a Ctrl-C reaches the supervisor
only, which stops the children in order). A child that dies is restarted with capped
exponential backoff; a broker that dies is restarted on its data. Children log JSON lines, which
the supervisor renders as one stream (time, service, level, message) into the terminal and
``logs/rapport.log``; libraries' records below WARNING are dropped there, since they are
chatter to an operator. ``up.json`` records the pids for ``rapport down`` and ``rapport status``.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from services.localkafka.broker import (
    PREFERRED_PORT,
    BrokerError,
    LocalKafkaBroker,
    pid_alive,
    port_free,
    terminate,
)
from services.product.metrics import ServiceSnapshot, scrape
from services.product.state import ChildRecord, StateDir, UpRecord
from services.registry import SERVICES
from services.runtime.settings import Settings
from services.runtime.shredding import ensure_local_master_key

OUR_LOGGERS = ("services", "rapport", "schemas", "__main__")
LEVEL_STYLES = {"debug": "dim", "info": "", "warning": "yellow", "error": "red", "critical": "red"}
SERVICE_STYLES = {
    "ingest": "cyan",
    "sentiment": "magenta",
    "scoring": "green",
    "console": "blue",
    "kafka": "white",
    "rapport": "bold",
}
MAX_BACKOFF_SECONDS = 30.0
# Library lines repeated within this window are shown once: a broker outage makes every client
# log "No node available" several times a second.
REPEAT_WINDOW_SECONDS = 30.0
# How often the stream says what flowed: the services themselves log nothing per record.
ACTIVITY_EVERY_SECONDS = 30.0
# A child that ran this long before dying is restarted at once: its failure is news.
HEALTHY_RUN_SECONDS = 60.0


@dataclass(frozen=True)
class LogLine:
    service: str
    level: str
    message: str
    logger: str = ""
    at: datetime | None = None

    @property
    def ours(self) -> bool:
        return not self.logger or self.logger.split(".")[0] in OUR_LOGGERS

    def is_chatter(self) -> bool:
        """A library's record below WARNING (kafka-python, alembic, urllib3...), or kafka-python
        3's "blocking the event loop" warning, which fires whenever the service's own work
        holds the GIL for 0.1 s and asks nothing of an operator."""
        if self.ours:
            return False
        return self.level in ("debug", "info") or "blocking the event loop" in self.message

    def render(self, brief: bool = False) -> Text:
        """``brief``: a library's message without its traceback (the log file keeps it)."""
        at = (self.at or datetime.now(UTC)).astimezone().strftime("%H:%M:%S")
        level = self.level.upper()
        message = self.message.split("\n", 1)[0] if brief and not self.ours else self.message
        return Text.assemble(
            (at, "dim"),
            " ",
            (f"{self.service:<9}", SERVICE_STYLES.get(self.service, "")),
            " ",
            (f"{level:<7}", LEVEL_STYLES.get(self.level, "")),
            " ",
            message,
        )


def parse_line(service: str, raw: str) -> LogLine:
    """One line of a child's output: a JSON log record, or anything else (a traceback line)."""
    raw = raw.rstrip("\n")
    if raw.startswith("{"):
        try:
            entry = json.loads(raw)
        except ValueError:
            entry = None
        if isinstance(entry, dict) and "msg" in entry:
            message = str(entry["msg"])
            if entry.get("exc"):
                message += "\n" + str(entry["exc"])
            try:
                at: datetime | None = datetime.fromisoformat(str(entry.get("ts")))
            except ValueError:
                at = None
            return LogLine(
                service,
                str(entry.get("level", "info")).lower(),
                message,
                str(entry.get("logger", "")),
                at,
            )
    return LogLine(service, "error" if "Error" in raw or "Traceback" in raw else "info", raw)


class _Child:
    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.port = port
        self.process: subprocess.Popen[str] | None = None
        self.started_at = 0.0
        self.restarts = 0
        self.failures_in_a_row = 0
        self.restart_at: float | None = None
        self.ready = False

    def record(self) -> ChildRecord:
        alive = self.process is not None and self.process.poll() is None
        state = "ready" if alive and self.ready else "starting" if alive else "restarting"
        return ChildRecord(
            self.name, self.process.pid if alive and self.process else None, self.port,
            self.restarts, state,
        )  # fmt: skip


class Supervisor:
    def __init__(
        self,
        state: StateDir,
        services: Sequence[str],
        *,
        bootstrap: str | None = None,
        database_url: str | None = None,
        cache_dir: Path | None = None,
        console: Console | None = None,
        ports: dict[str, int] | None = None,
        kafka_port: int = PREFERRED_PORT,
    ) -> None:
        self._kafka_port = kafka_port
        self.state = state
        self.external_bootstrap = bootstrap
        self.database_url = database_url or state.database_url
        self.console = console or Console(stderr=True, highlight=False)
        ports = ports or {}
        self.children = [_Child(n, ports.get(n, SERVICES[n].default_port)) for n in services]
        self.broker: LocalKafkaBroker | None = None
        self.bootstrap = bootstrap or ""
        self._cache_dir = cache_dir
        self._lines: queue.Queue[LogLine] = queue.Queue()
        self._stopping = threading.Event()
        self.stopped = threading.Event()
        self._log_out: TextIO | None = None
        self._started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._last_status = 0.0
        self._repeats: dict[tuple[str, str], float] = {}
        self._activity: dict[str, ServiceSnapshot] = {}

    # --- lifecycle ---------------------------------------------------------------------------

    def run(
        self, on_ready: Callable[[UpRecord], None] | None = None, install_signals: bool = True
    ) -> int:
        """Until SIGTERM/SIGINT (or ``stop()`` from another thread, with ``install_signals``
        off, as the demo does)."""
        self.state.root.mkdir(parents=True, exist_ok=True)
        self.state.logs.mkdir(parents=True, exist_ok=True)
        if Settings().privacy.master_key is None:
            # The children find it through RAPPORT_STATE_DIR (services/runtime/shredding.py).
            ensure_local_master_key(self.state.root)
        other = UpRecord.read(self.state.up_file)
        if other is not None and other.alive() and other.pid != os.getpid():
            self.say("error", f"rapport is already up (pid {other.pid}); `rapport down` first")
            return 1
        if install_signals:
            # SIGHUP: the terminal closed; stop in order rather than orphan the children.
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(signum, self._request_stop)
        with self.state.log_file.open("a", encoding="utf-8") as self._log_out:
            try:
                taken = [c for c in self.children if not port_free(c.port)]
                if taken:
                    names = ", ".join(f"{c.port} ({c.name})" for c in taken)
                    self.say(
                        "error",
                        f"port {names} in use by another process; stop it, or run next to it "
                        "with `rapport up --port-offset 100`",
                    )
                    return 1
                if not self._start_broker():
                    return 1
                for child in self.children:
                    self._spawn(child)
                self._write_record()
                # A status line under the log stream, in a terminal only (not in a log file).
                live = Live(
                    self._status_line(),
                    console=self.console,
                    transient=True,
                    auto_refresh=False,
                    redirect_stdout=False,
                    redirect_stderr=False,
                )
                with live if self.console.is_terminal else nullcontext():
                    announced = False
                    while not self._stopping.is_set():
                        self._tick()
                        if self.console.is_terminal:
                            live.update(self._status_line(), refresh=True)
                        if not announced and all(c.ready for c in self.children):
                            announced = True
                            record = self._write_record()
                            self.say("info", self._ready_message())
                            if on_ready is not None:
                                on_ready(record)
                return 0
            finally:
                self._shutdown()

    def _status_line(self) -> Text:
        parts: list[tuple[str, str] | str] = [("● ", "green"), f"Kafka {self.bootstrap or '…'}"]
        for child in self.children:
            alive = child.process is not None and child.process.poll() is None
            mark, style = (
                ("✓", "green") if child.ready else ("…", "yellow") if alive else ("✗", "red")
            )
            parts += ["  ", (f"{child.name} {mark}", style)]
            if child.restarts:
                parts.append(f" ({child.restarts} restarts)")
        console = self._console_url()
        parts += [f"  {console}" if console else "", ("   Ctrl-C stops", "dim")]
        return Text.assemble(*parts)

    def _request_stop(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()

    def _ready_message(self) -> str:
        parts = [f"{c.name} :{c.port}" for c in self.children]
        console = self._console_url()
        return (
            f"up: Kafka at {self.bootstrap}, " + ", ".join(parts)
            + (f"; console {console}" if console else "")
            + " — Ctrl-C or `rapport down` stops everything"
        )  # fmt: skip

    def _console_url(self) -> str | None:
        return next(
            (f"http://127.0.0.1:{c.port}/" for c in self.children if c.name == "console"), None
        )

    def _start_broker(self) -> bool:
        if self.external_bootstrap:
            self.say("info", f"using the Kafka cluster at {self.external_bootstrap}")
            return True
        self.broker = self.state.broker(self._cache_dir, self._kafka_port)
        reused = self.broker.running_state()
        try:
            self.bootstrap = self.broker.start(detach=True)
        except BrokerError as exc:
            self.say("error", f"the local Kafka broker did not start: {exc}")
            return False
        if reused is not None:
            # Someone else (`rapport kafka start`) owns it: leave it running on the way out.
            self.say("info", f"using the running local broker at {self.bootstrap}")
            self.broker = None
        else:
            self.say("info", f"Kafka broker up at {self.bootstrap}, data in {self.state.kafka}")
        return True

    def _environment(self, child: _Child) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "RAPPORT_DATABASE_URL": self.database_url,
            "RAPPORT_INSTANCE_ID": "local",
            "RAPPORT_LOG_FORMAT": "json",
            "RAPPORT_HTTP_PORT": str(child.port),
            "RAPPORT_STATE_DIR": str(self.state.root),
            # The console shows these services' readiness as the pipeline's health.
            "RAPPORT_CONSOLE_SERVICE_URLS": json.dumps(
                {c.name: f"http://127.0.0.1:{c.port}" for c in self.children if c.name != "console"}
            ),
            "PYTHONUNBUFFERED": "1",
        }

    def _spawn(self, child: _Child) -> None:
        child.ready = False
        child.restart_at = None
        child.started_at = time.monotonic()
        child.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run", child.name],
            env=self._environment(child),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group: a Ctrl-C in the terminal reaches the supervisor only,
            # which then stops the children in order.
            process_group=0,
        )
        assert child.process.stdout is not None
        threading.Thread(
            target=self._pump, args=(child.name, child.process.stdout), daemon=True
        ).start()

    def _pump(self, name: str, stream: IO[str]) -> None:
        for raw in stream:
            if raw.strip():
                self._lines.put(parse_line(name, raw))

    def _tick(self) -> None:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self._emit(line)
        if self._stopping.is_set():
            return
        self._check_broker()
        changed = False
        for child in self.children:
            changed |= self._check_child(child)
        if changed:
            self._write_record()
        if time.monotonic() - self._last_status >= ACTIVITY_EVERY_SECONDS:
            self._report_activity()

    def _report_activity(self) -> None:
        """One line on what flowed since the last one (nothing when nothing did)."""
        self._last_status = time.monotonic()
        snapshots = {c.name: scrape(c.name, c.port, timeout=0.5) for c in self.children}
        parts = []
        for name, snapshot in snapshots.items():
            before = self._activity.get(name)
            if before is not None and snapshot.reachable:
                processed = snapshot.records_in - before.records_in
                dead = snapshot.dead_letter_total - before.dead_letter_total
                if processed > 0 or dead > 0:
                    parts.append(
                        f"{name} {processed:.0f} in"
                        + (f", {dead} dead letters" if dead else "")
                        + (f", lag {snapshot.lag:.0f}" if snapshot.lag else "")
                    )
            if snapshot.reachable:
                self._activity[name] = snapshot
        if parts:
            self.say("info", f"last {ACTIVITY_EVERY_SECONDS:.0f} s: " + "; ".join(parts))

    def _check_broker(self) -> None:
        if self.broker is None or self.broker.running_state() is not None:
            return
        self.say("warning", "the Kafka broker exited; restarting it on its data")
        try:
            self.broker.start(detach=True)
            self.say("info", f"Kafka broker back at {self.bootstrap}")
        except BrokerError as exc:
            self.say("error", f"the Kafka broker did not restart: {exc}")

    def _check_child(self, child: _Child) -> bool:
        process = child.process
        now = time.monotonic()
        if process is not None and process.poll() is None:
            if not child.ready:
                child.ready = scrape(child.name, child.port, timeout=0.3).ready
                if child.ready:
                    self.say("info", f"{child.name} ready on :{child.port}")
                    return True
            return False
        if child.restart_at is None:
            code = process.returncode if process is not None else None
            ran = now - child.started_at
            child.failures_in_a_row = 0 if ran > HEALTHY_RUN_SECONDS else child.failures_in_a_row
            delay = min(MAX_BACKOFF_SECONDS, 2.0**child.failures_in_a_row)
            child.failures_in_a_row += 1
            child.restart_at = now + delay
            child.ready = False
            self.say(
                "warning",
                f"{child.name} exited with code {code} after {ran:.0f} s; "
                f"restarting in {delay:.0f} s",
            )
            return True
        if now >= child.restart_at:
            child.restarts += 1
            self._spawn(child)
            self.say("info", f"{child.name} restarted (restart {child.restarts})")
            return True
        return False

    def _shutdown(self) -> None:
        self.say("info", "stopping: services first, then the broker")
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.say("warning", f"{child.name} ignored SIGTERM for 40 s; killing it")
                child.process.kill()
                child.process.wait(5)
        # The last words of the children (their "stopped" lines).
        time.sleep(0.2)
        while not self._lines.empty():
            self._emit(self._lines.get_nowait())
        if self.broker is not None:
            self.broker.stop()
            self.say("info", "Kafka broker stopped (its data stays for the next `rapport up`)")
        self.state.up_file.unlink(missing_ok=True)
        self.say("info", "down")
        self.stopped.set()

    # --- output ------------------------------------------------------------------------------

    def say(self, level: str, message: str) -> None:
        self._emit(LogLine("rapport", level, message, "rapport"))

    def _emit(self, line: LogLine) -> None:
        if line.is_chatter():
            return
        if not line.ours:
            key = (line.service, line.message.split("\n", 1)[0])
            now = time.monotonic()
            if now - self._repeats.get(key, -REPEAT_WINDOW_SECONDS) < REPEAT_WINDOW_SECONDS:
                return
            self._repeats[key] = now
        self.console.print(line.render(brief=True), soft_wrap=True)
        if self._log_out is not None:
            self._log_out.write(line.render().plain + "\n")
            self._log_out.flush()

    def _write_record(self) -> UpRecord:
        record = UpRecord(
            pid=os.getpid(),
            bootstrap_servers=self.bootstrap,
            database_url=self.database_url,
            log_file=str(self.state.log_file),
            console_url=self._console_url(),
            broker_owned=self.broker is not None,
            started_at=self._started_at,
            children=[c.record() for c in self.children],
        )
        record.write(self.state.up_file)
        return record


def down(state: StateDir, timeout: float = 90.0) -> str:
    """Stop a running ``rapport up`` (and anything it left behind if it was killed)."""
    record = UpRecord.read(state.up_file)
    if record is None:
        return "not up"
    if record.alive():
        terminate(record.pid, timeout)
    # A supervisor killed with SIGKILL could not stop its children and broker: do it here.
    leftovers = [c.pid for c in record.children if c.pid is not None and pid_alive(c.pid)]
    for pid in leftovers:
        terminate(pid, 40)
    if record.broker_owned:
        state.broker().stop()
    state.up_file.unlink(missing_ok=True)
    return f"stopped (supervisor pid {record.pid})"
