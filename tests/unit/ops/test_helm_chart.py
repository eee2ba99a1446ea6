"""The Helm chart: helm lint, helm template, and kubernetes-validate --strict against two
Kubernetes versions; the rendered objects say what docs/operations.md promises."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.ops.tooling import require_tool

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "deploy" / "helm" / "rapport"
KUBERNETES_VERSIONS = ["1.29.0", "1.33.0"]
EVERYTHING = [
    "serviceMonitor.enabled=true",
    "prometheusRule.enabled=true",
    "keda.enabled=true",
    "kafka.security.protocol=SASL_SSL",
    "kafka.security.saslUsername=rapport",
    "kafka.security.existingSecret=rapport-kafka",
    "kafka.security.caFile=true",
    "kafka.security.clientCertificate=true",
    "database.existingSecret=rapport-db",
    "privacy.existingSecret=rapport-privacy",
    "kafka.topicPartitions=6",
    "services.scoring.replicas=12",
]
# Custom resources kubernetes-validate has no schema for; checked below instead.
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule", "ScaledObject"}


def helm(*args: str) -> str:
    done = subprocess.run(
        [require_tool("helm"), *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def render(settings: list[str]) -> list[dict[str, Any]]:
    sets = [arg for setting in settings for arg in ("--set", setting)]
    text = helm("template", "rel", str(CHART), "--namespace", "rapport", *sets)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def of_kind(objects: list[dict[str, Any]], kind: str) -> Iterator[dict[str, Any]]:
    return (o for o in objects if o["kind"] == kind)


@pytest.mark.parametrize("settings", [[], EVERYTHING], ids=["defaults", "everything"])
def test_helm_lint_is_clean(settings: list[str]) -> None:
    sets = [arg for setting in settings for arg in ("--set", setting)]
    helm("lint", "--strict", str(CHART), *sets)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("settings", [[], EVERYTHING], ids=["defaults", "everything"])
def test_rendered_objects_are_valid_kubernetes(
    settings: list[str], version: str, tmp_path: Path
) -> None:
    validate = require_tool("kubernetes-validate")
    objects = [o for o in render(settings) if o["kind"] not in CUSTOM_KINDS]
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(yaml.safe_dump_all(objects))
    done = subprocess.run(
        [validate, "--strict", "--kubernetes-version", version, str(manifest)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed") == len(objects), done.stdout


def test_statefulsets_keep_instance_ids_and_stop_gracefully() -> None:
    objects = render(EVERYTHING)
    statefulsets = {o["metadata"]["name"]: o for o in of_kind(objects, "StatefulSet")}
    assert set(statefulsets) == {f"rel-rapport-{s}" for s in ("ingest", "sentiment", "scoring")}
    for statefulset in statefulsets.values():
        pod = statefulset["spec"]["template"]["spec"]
        [container] = pod["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["RAPPORT_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        assert env["RAPPORT_HTTP_HOST"]["value"] == "0.0.0.0"
        shutdown = float(env["RAPPORT_SHUTDOWN_TIMEOUT_SECONDS"]["value"])
        assert pod["terminationGracePeriodSeconds"] > shutdown
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert env["RAPPORT_KAFKA_SECURITY__SASL_PASSWORD_FILE"]["value"].startswith("/var/run")
        # Every service seals dead letters: one master key, from a Secret, everywhere.
        master = env["RAPPORT_PRIVACY__MASTER_KEY"]["valueFrom"]["secretKeyRef"]
        assert master == {"name": "rapport-privacy", "key": "master-key"}
        previous = env["RAPPORT_PRIVACY__PREVIOUS_MASTER_KEYS"]["valueFrom"]["secretKeyRef"]
        assert previous["optional"] is True
        assert "resources" in container
    scoring_env = {
        e["name"]: e
        for e in statefulsets["rel-rapport-scoring"]["spec"]["template"]["spec"]["containers"][0][
            "env"
        ]
    }
    assert scoring_env["RAPPORT_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "rapport-db"
    # Existing secrets are referenced, never created.
    assert not list(of_kind(objects, "Secret"))
    assert len(list(of_kind(objects, "PodDisruptionBudget"))) == 3


def test_replicas_never_exceed_the_partition_count() -> None:
    objects = render(["kafka.topicPartitions=2", "services.scoring.replicas=5"])
    replicas = {
        o["metadata"]["name"]: o["spec"]["replicas"] for o in of_kind(objects, "StatefulSet")
    }
    assert replicas["rel-rapport-scoring"] == 2
    scaled = render(EVERYTHING)
    for scaler in of_kind(scaled, "ScaledObject"):
        assert scaler["spec"]["maxReplicaCount"] == 6
        assert scaler["spec"]["scaleTargetRef"]["kind"] == "StatefulSet"
        [trigger] = scaler["spec"]["triggers"]
        assert trigger["type"] == "kafka"


def test_prometheus_rule_holds_the_checked_rules_with_full_runbook_links(tmp_path: Path) -> None:
    [rule] = of_kind(render(EVERYTHING), "PrometheusRule")
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    done = subprocess.run(
        [require_tool("promtool"), "check", "rules", str(rules_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert alerts
    for alert in alerts:
        assert alert["annotations"]["runbook_url"].startswith("https://")
        assert alert["annotations"]["runbook_url"].endswith(f"#{alert['alert'].lower()}")
    [monitor] = of_kind(render(EVERYTHING), "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "http-metrics"


def test_the_chart_can_create_the_privacy_secret_for_a_rotation() -> None:
    old, new = "o" * 40, "n" * 40
    objects = render([f"privacy.masterKey={new}", f"privacy.previousMasterKeys={{{old}}}"])
    [secret] = [
        o for o in of_kind(objects, "Secret") if o["metadata"]["name"] == "rel-rapport-privacy"
    ]
    assert secret["stringData"]["master-key"] == new
    # The JSON list RAPPORT_PRIVACY__PREVIOUS_MASTER_KEYS takes.
    assert json.loads(secret["stringData"]["previous-master-keys"]) == [old]
    for statefulset in of_kind(objects, "StatefulSet"):
        [container] = statefulset["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        ref = env["RAPPORT_PRIVACY__MASTER_KEY"]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "rel-rapport-privacy"

    # A rotation changes the chart-made secret, and so restarts every pod (they read it once).
    def checksums(settings: list[str]) -> set[str]:
        return {
            s["spec"]["template"]["metadata"]["annotations"]["checksum/secrets"]
            for s in of_kind(render(settings), "StatefulSet")
        }

    before, after = checksums([f"privacy.masterKey={old}"]), checksums([f"privacy.masterKey={new}"])
    assert len(before) == len(after) == 1
    assert before != after
    # Without a master key, no secret and no variable (dead-letter keys stored unwrapped).
    defaults = render([])
    for statefulset in of_kind(defaults, "StatefulSet"):
        [container] = statefulset["spec"]["template"]["spec"]["containers"]
        assert "RAPPORT_PRIVACY__MASTER_KEY" not in {e["name"] for e in container["env"]}
