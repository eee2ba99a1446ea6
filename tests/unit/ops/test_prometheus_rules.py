"""The alert and recording rules: valid, unit-tested for every alert by promtool, each with a
runbook, and written only in terms of metrics the services export."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from services.runtime.opsdocs import metric_catalogue
from tests.unit.ops.tooling import require_tool

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "deploy" / "prometheus" / "rapport-rules.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "tests" / "rapport-rules-test.yml"
CHART_RULES = ROOT / "deploy" / "helm" / "rapport" / "files" / "rapport-rules.yml"
OPERATIONS = ROOT / "docs" / "operations.md"
# Series Prometheus itself or prometheus_client's process collector provides.
STANDARD_SERIES = {"up", "process_start_time_seconds", "time"}


def rules() -> list[dict[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def alerts() -> list[dict[str, str]]:
    return [rule for rule in rules() if "alert" in rule]


def test_promtool_accepts_the_rules() -> None:
    promtool = require_tool("promtool")
    done = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_pass() -> None:
    promtool = require_tool("promtool")
    done = subprocess.run(
        [promtool, "test", "rules", RULE_TESTS.name],
        cwd=RULE_TESTS.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_promtool_test_that_expects_it_to_fire() -> None:
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert {a["alert"] for a in alerts()} <= tested


def test_every_alert_links_its_runbook_section() -> None:
    headings = {
        line[4:].strip().lower()
        for line in OPERATIONS.read_text().splitlines()
        if line.startswith("### ")
    }
    for alert in alerts():
        url = alert["annotations"]["runbook_url"]  # type: ignore[index]
        assert url == f"docs/operations.md#{alert['alert'].lower()}"
        assert alert["alert"].lower() in headings, f"no runbook for {alert['alert']}"


def test_rules_use_only_metrics_the_services_export() -> None:
    exported = set(STANDARD_SERIES)
    for metric in metric_catalogue():
        exported.add(metric.name)
        if metric.kind == "histogram":
            exported |= {f"{metric.name}_{suffix}" for suffix in ("bucket", "sum", "count")}
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    for rule in rules():
        expr = re.sub(r'"[^"]*"', "", rule["expr"])  # not label values
        expr = re.sub(r"\{[^}]*\}", "", expr)  # nor label matchers
        expr = re.sub(r"\b(by|on|without|ignoring)\s*\([^)]*\)", "", expr)  # nor label lists
        for name in re.findall(r"\b(?:rapport[:_]\w*[\w:]*|up|process_\w+)\b", expr):
            assert name in exported or name in recorded, f"{name} in {rule} is not exported"


def test_the_charts_copy_of_the_rules_is_identical() -> None:
    assert CHART_RULES.read_text() == RULES.read_text()
