"""docker-compose and the Grafana dashboard, validated (not run: no Docker engine here).

The compose file is checked against the Compose Specification's JSON schema (the copy shipped
in the docker-compose 1.29.2 wheel, which `make ops-tools` caches) and parsed by
podman-compose; the dashboard is generated from code, and every query may only use metrics the
services export.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import yaml

from services.runtime.opsdocs import metric_catalogue
from tests.unit.ops.tooling import TOOLS_DIR, require_tool

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "rapport.json"
GENERATOR = ROOT / "deploy" / "grafana" / "generate_dashboard.py"
PROMQL_WORDS = {
    "sum", "max", "min", "by", "rate", "histogram_quantile", "le", "service", "topic", "reason",
    "outcome", "check", "segment", "kind", "job", "instance", "__rate_interval",
}  # fmt: skip


def compose_schema() -> dict[str, Any]:
    wheels = sorted((TOOLS_DIR / "compose-spec").glob("docker_compose-*.whl"))
    if not wheels:
        require_tool("compose-spec.json")  # fails under CI, skips elsewhere
    schema: dict[str, Any] = json.loads(
        zipfile.ZipFile(wheels[-1]).read("compose/config/compose_spec.json")
    )
    return schema


def test_compose_file_matches_the_compose_specification() -> None:
    document = yaml.safe_load(COMPOSE.read_text())
    errors = [
        f"{list(e.path)}: {e.message}"
        for e in jsonschema.Draft7Validator(compose_schema()).iter_errors(document)
    ]
    assert not errors


def test_podman_compose_parses_it() -> None:
    podman_compose = require_tool("podman-compose")
    done = subprocess.run(
        [podman_compose, "-f", str(COMPOSE), "config"],
        cwd=COMPOSE.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "scoring" in done.stdout


def test_compose_wires_services_prometheus_and_grafana() -> None:
    document = yaml.safe_load(COMPOSE.read_text())
    services = document["services"]
    assert {"kafka", "postgres", "ingest", "sentiment", "scoring", "prometheus", "grafana"} <= set(
        services
    )
    assert services["kafka"]["image"].startswith("docker.io/apache/kafka:")
    assert services["scoring"]["environment"]["RAPPORT_DATABASE_URL"].startswith("postgresql")
    for name in ("ingest", "sentiment", "scoring"):
        assert services[name]["command"] == ["run", name]
        assert services[name]["environment"]["RAPPORT_HTTP_HOST"] == "0.0.0.0"
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE.parent / source).exists(), source
    scrape = yaml.safe_load((COMPOSE.parent / "prometheus.yml").read_text())
    jobs = [job["job_name"] for job in scrape["scrape_configs"]]
    assert all("rapport" in job for job in jobs)  # the alert rules select on it


def test_dashboard_is_generated_from_code() -> None:
    done = subprocess.run([sys.executable, str(GENERATOR), "--check"], check=False)
    assert done.returncode == 0, "run `python deploy/grafana/generate_dashboard.py`"


def test_every_panel_queries_only_exported_metrics() -> None:
    exported = {"process_cpu_seconds_total", "process_resident_memory_bytes"}
    for metric in metric_catalogue():
        exported.add(metric.name)
        if metric.kind == "histogram":
            exported |= {f"{metric.name}_{s}" for s in ("bucket", "sum", "count")}
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            expr = re.sub(r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]', "", target["expr"])
            names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)) - PROMQL_WORDS
            unknown = names - exported
            assert not unknown, f"{panel['title']}: {unknown}"
    titles = " ".join(p["title"].lower() for p in panels)
    for subject in (
        "throughput", "lag", "event-time", "dead letters", "batch", "checkpoints", "paused",
        "database", "trust", "loyalty", "segment", "alerts",
    ):  # fmt: skip
        assert subject in titles, subject


def test_deploy_yaml_passes_yamllint() -> None:
    yamllint = require_tool("yamllint")
    done = subprocess.run(
        [yamllint, "--strict", "-c", ".yamllint.yaml", "."],
        cwd=ROOT / "deploy",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
