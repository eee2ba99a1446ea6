"""Generates deploy/grafana/rapport.json, Rapport's Grafana dashboard, from the panel list below.

    python deploy/grafana/generate_dashboard.py          # rewrite rapport.json
    python deploy/grafana/generate_dashboard.py --check  # exit 1 if rapport.json is stale

tests/unit/ops/test_grafana_dashboard.py checks that every query uses only metrics the services
export (services/runtime/opsdocs.py lists them) and that the committed JSON is fresh.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parent / "rapport.json"
RATE = "$__rate_interval"

# (title, unit, [(expression, legend)], panel type); rows start with a title only.
Panel = tuple[str, str, list[tuple[str, str]], str]
LAYOUT: list[str | Panel] = [
    "Pipeline",
    (
        "Throughput per stage (records/s)",
        "ops",
        [
            (f"sum by (service) (rate(rapport_records_in_total[{RATE}]))", "{{service}} in"),
            (f"sum by (service) (rate(rapport_records_out_total[{RATE}]))", "{{service}} out"),
        ],
        "timeseries",
    ),
    (
        "Consumer lag (records)",
        "short",
        [("sum by (service, topic) (rapport_consumer_lag_records)", "{{service}} {{topic}}")],
        "timeseries",
    ),
    (
        "Event-time lag (age of the newest processed record)",
        "s",
        [("max by (service, topic) (rapport_event_time_lag_seconds)", "{{service}} {{topic}}")],
        "timeseries",
    ),
    (
        "Dead letters by reason (records/s)",
        "ops",
        [
            (
                f"sum by (service, reason) (rate(rapport_dead_letters_total[{RATE}]))",
                "{{service}} {{reason}}",
            )
        ],
        "timeseries",
    ),
    (
        "Batch processing time (p50, p99)",
        "s",
        [
            (
                f"histogram_quantile({q}, sum by (service, le) "
                f"(rate(rapport_batch_processing_seconds_bucket[{RATE}])))",
                f"{{{{service}}}} p{int(q * 100)}",
            )
            for q in (0.5, 0.99)
        ],
        "timeseries",
    ),
    (
        "Checkpoints by outcome (/s)",
        "ops",
        [
            (
                f"sum by (service, outcome) (rate(rapport_checkpoints_total[{RATE}]))",
                "{{service}} {{outcome}}",
            )
        ],
        "timeseries",
    ),
    (
        "Partitions: assigned and paused in retries",
        "short",
        [
            ("sum by (service) (rapport_assigned_partitions)", "{{service}} assigned"),
            ("sum by (service) (rapport_paused_partitions)", "{{service}} paused"),
        ],
        "timeseries",
    ),
    (
        "Retried records and producer errors (/s)",
        "ops",
        [
            (
                f"sum by (service) (rate(rapport_records_retried_total[{RATE}]))",
                "{{service}} retried",
            ),
            (
                f"sum by (service) (rate(rapport_producer_errors_total[{RATE}]))",
                "{{service}} producer errors",
            ),
        ],
        "timeseries",
    ),
    (
        "Readiness checks (1 = passing)",
        "short",
        [("min by (service, check) (rapport_readiness_check)", "{{service}} {{check}}")],
        "timeseries",
    ),
    "Scoring database",
    (
        "Database statement time (p50, p99)",
        "s",
        [
            (
                f"histogram_quantile({q}, sum by (le) "
                f"(rate(rapport_db_query_seconds_bucket[{RATE}])))",
                f"p{int(q * 100)}",
            )
            for q in (0.5, 0.99)
        ],
        "timeseries",
    ),
    (
        "Outbox (records not yet known to be in Kafka) and database errors",
        "short",
        [
            ("max(rapport_scoring_outbox_records)", "outbox"),
            (f"sum(rate(rapport_db_errors_total[{RATE}]))", "errors/s"),
        ],
        "timeseries",
    ),
    "Customers",
    (
        "Trust distribution (customers per trust bucket)",
        "short",
        [("max by (le) (rapport_scoring_customer_trust_bucket)", "{{le}}")],
        "bargauge",
    ),
    (
        "Loyalty distribution (customers per loyalty bucket)",
        "short",
        [("max by (le) (rapport_scoring_customer_loyalty_bucket)", "{{le}}")],
        "bargauge",
    ),
    (
        "Customers by segment",
        "short",
        [("max by (segment) (rapport_scoring_customers)", "{{segment}}")],
        "piechart",
    ),
    (
        "Open customer alerts by kind",
        "short",
        [("max by (kind) (rapport_scoring_open_alerts)", "{{kind}}")],
        "bargauge",
    ),
    "Ingest and processes",
    (
        "Ingest: duplicates, redactions, dedup evictions (/s)",
        "ops",
        [
            (f"sum(rate(rapport_ingest_duplicates_total[{RATE}]))", "duplicates"),
            (
                f"sum by (kind) (rate(rapport_ingest_pii_redactions_total[{RATE}]))",
                "redacted {{kind}}",
            ),
            (f"sum(rate(rapport_ingest_dedup_evictions_total[{RATE}]))", "dedup evictions"),
        ],
        "timeseries",
    ),
    (
        "CPU and memory per instance",
        "short",
        [
            (f'rate(process_cpu_seconds_total{{job=~".*rapport.*"}}[{RATE}])', "{{instance}} cpu"),
            ('process_resident_memory_bytes{job=~".*rapport.*"} / 2^20', "{{instance}} MiB"),
        ],
        "timeseries",
    ),
]


def dashboard() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y, column, panel_id = 0, 0, 0
    for item in LAYOUT:
        panel_id += 1
        if isinstance(item, str):
            y += 0 if column == 0 else 8
            column = 0
            panels.append(
                {
                    "id": panel_id,
                    "type": "row",
                    "title": item,
                    "collapsed": False,
                    "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                    "panels": [],
                }
            )
            y += 1
            continue
        title, unit, queries, kind = item
        panels.append(
            {
                "id": panel_id,
                "type": kind,
                "title": title,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": column * 12, "y": y},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {},
                "targets": [
                    {
                        "refId": chr(ord("A") + index),
                        "datasource": {"type": "prometheus", "uid": "${datasource}"},
                        "expr": expr,
                        "legendFormat": legend,
                        **({"format": "heatmap"} if "_bucket" in expr else {}),
                    }
                    for index, (expr, legend) in enumerate(queries)
                ],
            }
        )
        column = 1 - column
        if column == 0:
            y += 8
    return {
        "uid": "rapport",
        "title": "Rapport",
        "description": "Rapport's pipeline, database and customers (generated by "
        "deploy/grafana/generate_dashboard.py)",
        "tags": ["rapport"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Prometheus",
                    "current": {"text": "Prometheus", "value": "prometheus"},
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(0 if OUTPUT.read_text() == render() else 1)
    OUTPUT.write_text(render())
