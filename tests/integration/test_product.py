"""`rapport up`/`status`/`send`/`simulate`/`down` and the console, on the session's real broker.

One stack per module (started once: the services' start-up is the slow part); it runs on the
session's broker (`rapport up --bootstrap`) under its own topic prefix, consumer groups, state
directory and HTTP ports, so it shares the broker with the other tests without touching them.
The console is checked in Debian's headless Chromium; screenshots are saved under
``build/artifacts/`` (RAPPORT_TEST_ARTIFACTS).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.localkafka.broker import pid_alive
from services.product.state import StateDir, UpRecord
from services.runtime.settings import Topics
from tests.support.kafka import read_to_end, unique_prefix

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "schemas" / "examples"
ARTIFACTS = Path(os.environ.get("RAPPORT_TEST_ARTIFACTS", REPO / "build" / "artifacts"))


def free_offset() -> int:
    """A port offset under which the four default HTTP ports are all free."""
    for offset in range(1000, 20000, 211):
        ports = [9101 + offset, 9102 + offset, 9103 + offset, 9180 + offset]
        if all(_free(p) for p in ports):
            return offset
    raise RuntimeError("no free ports")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class Stack:
    env: dict[str, str]
    state: StateDir
    topics: Topics
    bootstrap: str
    offset: int
    process: subprocess.Popen[bytes]
    output: Path

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{9180 + self.offset}"

    def rapport(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def record(self) -> UpRecord:
        record = UpRecord.read(self.state.up_file)
        assert record is not None, self.output.read_text()
        return record

    def diagnosis(self) -> str:
        """What a person would look at when the console shows nothing: the console's own health
        line, the pipeline's status, what the topics hold and the end of the merged log."""
        import urllib.request

        parts = []
        try:
            with urllib.request.urlopen(self.console_url + "/api/alerts", timeout=5) as answer:
                parts.append("console: " + json.loads(answer.read())["health"])
        except Exception as error:
            parts.append(f"console: {error!r}")
        status = self.rapport("status", "--json", "--sample-seconds", "0.2", timeout=60)
        parts.append("status: " + status.stdout[-2000:] + status.stderr[-1000:])
        for topic in (self.topics.scores_latest, self.topics.score_updates, self.topics.annotated):
            keys = {r.key for r in read_to_end(self.bootstrap, [topic])}
            parts.append(f"{topic}: {len(keys)} keys, cust-48213 {b'cust-48213' in keys}")
        parts.append("log: " + self.state.log_file.read_text()[-4000:])
        return "\n".join(parts)

    def wait_all_ready(self, timeout: float = 120) -> UpRecord:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = UpRecord.read(self.state.up_file)
            if record and record.children and all(c.state == "ready" for c in record.children):
                return record
            assert self.process.poll() is None, self.output.read_text()[-3000:]
            time.sleep(0.3)
        raise TimeoutError(self.output.read_text()[-3000:])


def stack_env(bootstrap: str, prefix: str, state: Path) -> dict[str, str]:
    topics = Topics().with_prefix(prefix)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "RAPPORT_STATE_DIR": str(state),
            "RAPPORT_GROUP_PREFIX": prefix.rstrip("."),
            "RAPPORT_POLL_TIMEOUT_MS": "100",
            "COLUMNS": "200",
            **{f"RAPPORT_TOPICS__{name.upper()}": value for name, value in topics},
        }
    )
    if "RAPPORT_KAFKA_CACHE_DIR" in os.environ:
        env["RAPPORT_KAFKA_CACHE_DIR"] = os.environ["RAPPORT_KAFKA_CACHE_DIR"]
    return env


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prefix = unique_prefix()
    state = StateDir(tmp_path_factory.mktemp("state"))
    env = stack_env(kafka_bootstrap, prefix, state.root)
    offset = free_offset()
    output = state.root.parent / "up.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "services.cli", "up",
                "--bootstrap", kafka_bootstrap, "--port-offset", str(offset),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    running = Stack(
        env, state, Topics().with_prefix(prefix), kafka_bootstrap, offset, process, output
    )
    try:
        running.wait_all_ready()
        yield running
    finally:
        if process.poll() is None:
            running.rapport("down", timeout=120)
            process.wait(30)


def test_up_runs_every_service_and_status_reports_them(stack: Stack) -> None:
    result = stack.rapport("status", "--json", "--sample-seconds", "0.2")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["up"]
    assert report["healthy"]
    assert [s["name"] for s in report["services"]] == ["ingest", "sentiment", "scoring", "console"]
    assert all(s["ready"] for s in report["services"])
    assert report["console_url"] == stack.console_url + "/"
    log = stack.state.log_file.read_text()
    assert "ingest ready" in log
    assert "blocking the event loop" not in log  # kafka-python chatter stays out


def test_send_routes_validates_and_summarises(stack: Stack, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ndjson"
    broken.write_text('{"type": "purchase"}\n{"not json\n')
    result = stack.rapport("send", "--json", str(EXAMPLES / "upstream"), str(broken))
    assert result.returncode == 1, result.stderr  # some were rejected
    summary = json.loads(result.stdout)
    upstream_files = list((EXAMPLES / "upstream").glob("*.json"))
    assert summary["sent"] == len(upstream_files) == 35
    assert summary["by_topic"] == {stack.topics.raw_interactions: 26, stack.topics.raw_feedback: 9}
    assert summary["rejected"] == 2
    assert set(summary["rejected_by_reason"]) == {"missing_field", "invalid_json"}
    assert all("broken.ndjson:line" in r["location"] for r in summary["rejections"])

    records = read_to_end(
        stack.bootstrap, [stack.topics.raw_interactions, stack.topics.raw_feedback]
    )
    assert len(records) == 35
    for record in records:  # keyed by customer id, each on the topic of its kind
        document = json.loads(record.value)
        assert record.key == document["customer_id"].encode()
    customers = {r.key for r in records}
    assert customers == {b"cust-48213", b"cust-20577", b"cust-30990"}  # no erasure request


def test_send_without_validation_lets_ingest_dead_letter_the_record(
    stack: Stack, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"event_id": "nv-1", "customer_id": "cust-nv", "type": "telepathy"}))
    result = stack.rapport("send", "--no-validate", str(bad))
    assert result.returncode == 0, result.stderr
    assert "sent 1 event" in result.stdout
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dead = read_to_end(stack.bootstrap, [stack.topics.dead_letter])
        reasons = [dict(r.headers).get("rapport.dlq.reason") for r in dead]
        if b"unknown_type" in reasons:
            break
        time.sleep(1)
    else:
        raise AssertionError(f"no unknown_type dead letter: {reasons}")


def test_a_killed_service_is_restarted_by_the_supervisor(stack: Stack) -> None:
    before = next(c for c in stack.record().children if c.name == "sentiment")
    assert before.pid is not None
    os.kill(before.pid, signal.SIGKILL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        after = next(c for c in stack.record().children if c.name == "sentiment")
        if after.restarts == 1 and after.state == "ready" and after.pid != before.pid:
            break
        time.sleep(0.3)
    else:
        raise AssertionError(stack.output.read_text()[-3000:])
    assert "sentiment exited with code -9" in stack.state.log_file.read_text()


def test_simulate_reports_how_well_the_scores_rank_the_hidden_values(stack: Stack) -> None:
    result = stack.rapport(
        "simulate", "--json", "--customers", "60", "--days", "90", "--minutes", "0.1",
        "--seed", "7", "--wait", "180",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["complete"]
    assert report["scored"] == report["customers"] >= 55
    # The live pipeline (real texts through the annotator) ranks nearly as well as the model's
    # offline fold of the simulator's own sentiment, and far better than chance.
    assert report["trust_spearman"] > 0.6
    assert report["trust_spearman"] > report["offline_trust_spearman"] - 0.1
    assert report["loyalty_spearman"] > 0.5
    assert sum(report["broken"].values()) >= 0
    assert set(report["by_persona"]) <= {
        "new",
        "champion",
        "loyal",
        "drifting",
        "angry",
        "churning",
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1400,1000")
    options.binary_location = chromium
    session = webdriver.Chrome(options=options, service=Service(driver))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield session
    session.quit()


def test_the_console_lists_customers_draws_a_chart_and_feeds_new_alerts(
    stack: Stack, browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    stack.rapport("send", str(EXAMPLES / "upstream"))  # idempotent if already sent
    # Generous: the pipeline shares two cores with everything else the machine runs.
    wait = WebDriverWait(browser, 150, poll_frequency=0.5)

    def listed(driver: WebDriver) -> bool:
        driver.get(stack.console_url + "/?sort=trust")
        return "cust-48213" in driver.find_element(By.ID, "customers").text

    try:
        wait.until(listed)
    except Exception as timeout:
        raise AssertionError(stack.diagnosis()) from timeout
    rows = browser.find_elements(By.CSS_SELECTOR, "#customers tr.customer-row")
    assert len(rows) >= 3
    browser.save_screenshot(str(ARTIFACTS / "console-customers.png"))

    browser.find_element(By.LINK_TEXT, "cust-48213").click()
    chart = browser.find_element(By.CSS_SELECTOR, "#chart svg")
    assert len(chart.find_elements(By.TAG_NAME, "polyline")) == 2
    assert browser.find_elements(By.CSS_SELECTOR, "#history tr")
    browser.save_screenshot(str(ARTIFACTS / "console-customer.png"))

    # A new alert appears in the feed of an open page, without a reload.
    browser.get(stack.console_url + "/")
    marker = browser.execute_script("window.__notReloaded = true; return 1;")
    assert marker == 1
    seen = {
        li.get_attribute("data-seq") for li in browser.find_elements(By.CSS_SELECTOR, "#alerts li")
    }
    detractor = {
        "type": "survey_nps",
        "event_id": f"feed-{time.time_ns()}",
        "customer_id": "cust-feed",
        "occurred_at": "2026-03-01T10:00:00Z",
        "source": "qualtrics",
        "survey_id": "nps",
        "score": 0,
        "text": "Never again. Worst service ever.",
    }
    nps = Path(stack.state.root / "detractor.json")
    nps.write_text(json.dumps(detractor))
    assert stack.rapport("send", str(nps)).returncode == 0

    def new_alert(driver: WebDriver) -> bool:
        items = driver.find_elements(By.CSS_SELECTOR, "#alerts li")
        return any(
            li.get_attribute("data-seq") not in seen and "cust-feed" in li.text for li in items
        )

    wait.until(new_alert)
    assert browser.execute_script("return window.__notReloaded === true;")
    fed = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#alerts li")]
    assert any("cust-feed" in text and "detractor_nps · raised" in text for text in fed), fed
    browser.save_screenshot(str(ARTIFACTS / "console-live-alert.png"))


def test_the_report_is_one_file_that_opens_offline_with_its_charts(
    stack: Stack, browser: object, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)
    path = tmp_path / "report.html"
    result = stack.rapport("report", "--output", str(path))
    assert result.returncode == 0, result.stderr
    html = path.read_text()
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # nothing to fetch
    assert "<script" not in html
    browser.get(path.as_uri())
    overview = browser.find_element(By.ID, "overview").text
    assert "score updates" in overview
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart")) >= 5
    assert "cust-feed" in browser.find_element(By.ID, "alerts").text
    browser.save_screenshot(str(ARTIFACTS / "report.png"))


def test_watch_draws_services_alerts_movers_and_segments(stack: Stack) -> None:
    result = stack.rapport("watch", "--once")
    assert result.returncode == 0, result.stderr
    screen = result.stdout
    for panel in ("services", "newest alerts", "biggest recent moves", "segments ("):
        assert panel in screen
    assert "cust-feed" in screen  # the newest alert
    assert "sentiment" in screen


def test_down_stops_every_process(stack: Stack) -> None:
    record = stack.record()
    pids = [record.pid, *(c.pid for c in record.children if c.pid is not None)]
    result = stack.rapport("down", timeout=120)
    assert result.returncode == 0, result.stderr
    assert stack.process.wait(30) == 0
    assert not any(pid_alive(pid) for pid in pids)
    assert not stack.state.up_file.exists()
    log = stack.state.log_file.read_text()
    assert "scoring stopped" in log
    assert "down" in log.splitlines()[-1]


def test_up_reset_wipes_the_broker_and_the_database_together(tmp_path: Path) -> None:
    """On its own local broker (the state directory's), not the session's."""
    from kafka import KafkaAdminClient

    from services.localkafka.broker import free_port
    from services.runtime.kafka_io import ensure_topics

    if shutil.which("java") is None:
        pytest.skip("the local broker needs Java")
    state = StateDir(tmp_path / "state")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "KAFKA_"))}
    env.update({"RAPPORT_STATE_DIR": str(state.root), "COLUMNS": "200"})
    if "RAPPORT_KAFKA_CACHE_DIR" in os.environ:
        env["RAPPORT_KAFKA_CACHE_DIR"] = os.environ["RAPPORT_KAFKA_CACHE_DIR"]
    up = [
        "up", "--detach", "--no-console",
        "--kafka-port", str(free_port()), "--port-offset", str(free_offset()),
    ]  # fmt: skip

    def rapport(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.cli", *args],
            env=env, capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip

    def topics(servers: str) -> set[str]:
        admin = KafkaAdminClient(bootstrap_servers=servers)
        try:
            return set(admin.list_topics())
        finally:
            admin.close()

    try:
        # Some state: a broker with a topic of its own, and a database.
        started = rapport("kafka", "start", "--port", up[4])
        assert started.returncode == 0, started.stderr
        ensure_topics(started.stdout.strip(), ["marker.topic"], 1)
        state.database.write_text("the old database")
        refused = rapport(*up, "--reset")  # never wipe the data under a running broker
        assert refused.returncode == 1
        assert "rapport kafka stop" in refused.stderr
        assert rapport("kafka", "stop").returncode == 0
        assert (state.kafka / "data" / "meta.properties").exists()  # stop keeps the data

        reset = rapport(*up, "--reset")
        assert reset.returncode == 0, reset.stderr
        assert f"wiped {state.root}" in reset.stderr
        record = UpRecord.read(state.up_file)
        assert record is not None
        assert record.bootstrap_servers == f"127.0.0.1:{up[4]}"
        assert "marker.topic" not in topics(record.bootstrap_servers)
        assert "rapport.raw.feedback" in topics(record.bootstrap_servers)
        assert state.database.read_bytes().startswith(b"SQLite format 3")
    finally:
        rapport("down")
    assert not state.up_file.exists()
    assert state.broker().running_state() is None


def test_up_refuses_a_taken_port_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {**os.environ, "RAPPORT_STATE_DIR": str(tmp_path), "COLUMNS": "80"}
        result = subprocess.run(
            [
                sys.executable, "-m", "services.cli", "up", "--bootstrap", "127.0.0.1:1",
                "--no-console", "--port-offset", str(port - 9101),
            ],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1
    # The port after it may be taken by chance as well; then the line names both.
    assert f"port {port} (ingest)" in errors[0]
    assert "in use by another process" in errors[0]
