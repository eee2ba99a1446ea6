"""A real Prometheus server (Debian's ``prometheus`` package) on loopback, for alert tests."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from services.localkafka.broker import free_port, terminate

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rapport-rules.yml"


def fast_rules(
    text: str,
    window: str = "15s",
    hold: str = "3s",
    thresholds: dict[str, str] | None = None,
) -> str:
    """The production rules with every ``for:`` shortened to ``hold``, every range window to
    ``window``, and the given threshold expressions replaced (each must occur), so alerts fire
    and resolve within seconds."""
    text = re.sub(r"\[\d+[smhd]\]", f"[{window}]", text)
    text = re.sub(r"(\n\s+for: )\S+", rf"\g<1>{hold}", text)
    for old, new in (thresholds or {}).items():
        assert old in text, f"{old!r} is not in the rules any more"
        text = text.replace(old, new)
    return text


class Prometheus:
    def __init__(self, targets: dict[str, str], rules_text: str) -> None:
        """``targets``: job name -> host:port of a /metrics endpoint."""
        self.dir = Path(tempfile.mkdtemp(prefix="rapport-prometheus-"))
        (self.dir / "rules.yml").write_text(rules_text)
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(self.dir / "rules.yml")],
            "scrape_configs": [
                {
                    "job_name": job,
                    "scrape_timeout": "900ms",
                    "static_configs": [{"targets": [address]}],
                }
                for job, address in targets.items()
            ],
        }
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Prometheus:
        binary = shutil.which("prometheus") or "prometheus"
        log = (self.dir / "prometheus.log").open("wb")
        self._process = subprocess.Popen(
            [
                binary,
                f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("prometheus did not become ready:\n" + self.log_tail())

    def log_tail(self) -> str:
        return (self.dir / "prometheus.log").read_text(errors="replace")[-3000:]

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
            return json.load(response)["data"]

    def alerts(self) -> dict[str, list[dict[str, Any]]]:
        """Active alerts by name, each with its labels and state (pending or firing)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for alert in self.get("/api/v1/alerts")["alerts"]:
            found.setdefault(alert["labels"]["alertname"], []).append(alert)
        return found

    def query(self, expr: str) -> list[dict[str, Any]]:
        from urllib.parse import quote

        result: list[dict[str, Any]] = self.get(f"/api/v1/query?query={quote(expr)}")["result"]
        return result

    def stop(self) -> None:
        if self._process is not None:
            terminate(self._process.pid, 10.0, wait=self._process.wait)
            self._process = None
        shutil.rmtree(self.dir, ignore_errors=True)
