"""The generated table of docs/privacy.md: every copy Rapport keeps of a customer's data.

The topic rows come from the declarations the services create their topics with
(services/runtime/topic_configs.py) under the default settings, so the bounds the table promises
are the configs the topics carry. ``python -m services.runtime.privacydocs`` rewrites the table
between its markers; a test fails when the committed document differs.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from services.runtime.settings import Settings
from services.runtime.topic_configs import (
    DAY_MS,
    HOUR_MS,
    TOPICS,
    TopicDeclaration,
    bounds,
    compaction_bound_ms,
    declared_configs,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"
BEGIN = "<!-- BEGIN GENERATED copies (python -m services.runtime.privacydocs; do not edit) -->"
END = "<!-- END GENERATED copies -->"

# Which setting moves each topic's retention (the segment, compaction and tombstone times are
# RAPPORT_RETENTION__SEGMENT_HOURS, __COMPACTION_LAG_HOURS and __TOMBSTONE_HOURS for all).
RETENTION_SETTING = {
    "dead_letter": "RAPPORT_RETENTION__DEAD_LETTER_DAYS",
    "privacy_keys": "RAPPORT_PRIVACY__KEY_PERIOD_HOURS + the dead-letter bound",
    "ingest_dedup": "RAPPORT_INGEST__DEDUP_WINDOW_HOURS",
    "score_updates": "RAPPORT_RETENTION__PUBLISHED_DAYS",
    "alerts": "RAPPORT_RETENTION__PUBLISHED_DAYS",
    "erasure_completed": "RAPPORT_RETENTION__PUBLISHED_DAYS",
}


@dataclass(frozen=True)
class Copy:
    """A copy outside Kafka: described here, since no config of Rapport's bounds it."""

    where: str
    holds: str
    erased: str
    bound: str


# The scoring tables are services/scoring/store/tables.py; erasure is store.erase_customers.
ERASED_IN_THE_DATABASE = (
    "row delete on the erasure request, in the transaction that writes the tombstone; the "
    "database keeps deleted rows in free pages, its WAL and its backups (see below)"
)
OTHER_COPIES = (
    Copy(
        "database `customer_state`",
        "customer id, tenant id, scores, segment, last event id, recent events (ids and deltas)",
        ERASED_IN_THE_DATABASE,
        "scoring's lag behind the erasure request",
    ),
    Copy(
        "database `score_history`",
        "customer id, event ids and types, scores, the generated summary",
        ERASED_IN_THE_DATABASE,
        "scoring's lag behind the erasure request",
    ),
    Copy(
        "database `processed_events`",
        "customer id, event ids",
        ERASED_IN_THE_DATABASE,
        "scoring's lag behind the erasure request",
    ),
    Copy(
        "database `alert_state`, `alerts`",
        "customer id, alert trackers, alert messages, causing event ids",
        ERASED_IN_THE_DATABASE,
        "scoring's lag behind the erasure request",
    ),
    Copy(
        "database `outbox`",
        "outputs written but not yet known to be in Kafka (score updates, alerts, keyed by "
        "customer id)",
        "pruned once published (the partition's next batch); not touched by erasure",
        "until the partition's next batch after publication",
    ),
    Copy(
        "database `erasures`",
        "event id and request id of each erasure request, times; no customer id",
        "kept: it makes a re-sent erasure request a no-op",
        "none (holds personal data only if upstream puts it in those ids, which the default "
        "identifier policy rejects)",
    ),
    Copy(
        "database `erased_customers`",
        "per erased customer: a keyed hash (HMAC-SHA256) of tenant and customer id, the "
        "erasure time; no id",
        "kept: it makes erasure final (events dated before it are dropped)",
        "none without the key (RAPPORT_SCORING__ERASURE_HASH_KEY, else in `scoring_meta`)",
    ),
    Copy(
        "database `applied_offsets`, `scoring_meta`",
        "offsets, topic ids, the configuration hash, a generated erasure hash key: no customer "
        "data",
        "—",
        "—",
    ),
    Copy(
        "console (in memory)",
        "latest score, up to 500 updates and the alerts per customer; a feed of the last 1000 "
        "alerts and 2000 updates",
        "the tombstone drops the customer, their history and their alerts from the feeds, and "
        "updates or alerts read after it are ignored; the list, customer pages and movers show "
        "only customers with a latest score. A console restarted after the tombstone itself was "
        "compacted away shows the erased customer's remaining alerts in its feed",
        "at once while the tombstone is in `scores.latest`; after that, a restart shows remaining "
        "alerts until the alerts topic's bound",
    ),
    Copy(
        "dead-letter data keys in each service's memory",
        "the keys it read from or wrote to the key topic (no customer ids: keyed hashes)",
        "an erasure's tombstone is read before the instance's next dead letter (at most every "
        "10 s) or at its restart; expired keys are dropped then too",
        "until the instance's next dead letter or restart",
    ),
    Copy(
        "service logs (`logs/rapport.log` of `rapport up`, stdout of a deployment)",
        "topics, partitions, offsets, reasons, request ids; no record contents or keys by "
        "design (dead-letter messages name a field and a kind, never the value). At "
        "`RAPPORT_LOG_LEVEL=DEBUG` the Kafka client logs record bytes: never in production",
        "not erased; `rapport up` appends to one file without rotation",
        "the log store's retention (yours to set)",
    ),
    Copy(
        "metrics labels",
        "service, topic, partition, reason, kind, segment, check: no customer ids",
        "—",
        "—",
    ),
    Copy(
        "downstream subscribers",
        "whatever they copied from the published topics",
        "theirs to erase on `erasure_completed` (docs/subscribing-to-scores.md)",
        "theirs",
    ),
)


def duration(ms: int) -> str:
    """``698_700_000`` -> ``8 d 2 h 5 min`` (minutes rounded up: a bound must not shrink)."""
    days, rest = divmod(ms, DAY_MS)
    hours, rest = divmod(rest, HOUR_MS)
    minutes = -(-rest // 60_000)
    if minutes == 60:
        hours, minutes = hours + 1, 0
    if hours == 24:
        days, hours = days + 1, 0
    parts = [(days, "d"), (hours, "h"), (minutes, "min")]
    return " ".join(f"{n} {unit}" for n, unit in parts if n) or "0 min"


def _configs_cell(declaration: TopicDeclaration, configs: dict[str, str]) -> str:
    shown = [f"`{configs['cleanup.policy']}`"]
    if "retention.ms" in configs:
        setting = RETENTION_SETTING.get(declaration.field, "RAPPORT_RETENTION__PIPELINE_DAYS")
        shown.append(f"retention.ms {duration(int(configs['retention.ms']))} (`{setting}`)")
    shown.append(f"segment.ms {duration(int(configs['segment.ms']))}")
    if "max.compaction.lag.ms" in configs:
        shown.append(f"max.compaction.lag.ms {duration(int(configs['max.compaction.lag.ms']))}")
        shown.append(f"delete.retention.ms {duration(int(configs['delete.retention.ms']))}")
    return ", ".join(shown)


def _topic_row(declaration: TopicDeclaration, settings: Settings) -> str:
    name = getattr(settings.topics, declaration.field)
    configs = declared_configs(declaration, settings)
    bound = bounds(configs)
    if bound.key_readable_ms is None:
        when = f"{duration(bound.readable_ms)} after it was written"
    else:
        when = (
            f"values {duration(bound.readable_ms)} after the erasure; the key (customer id) "
            f"{duration(bound.key_readable_ms)}"
        )
    when += f" (on disk {duration(bound.on_disk_ms - bound.readable_ms)} more)"
    if declaration.field == "privacy_keys":
        # What an erasure promises: the destroyed key itself gone by compaction.
        when = (
            f"a destroyed (erased) key {duration(compaction_bound_ms(configs))} after the "
            f"erasure; any key {when}"
        )
    return (
        f"| `{name}` | {declaration.holds} | {declaration.erased}; "
        f"{_configs_cell(declaration, configs)} | {when} |"
    )


def table(settings: Settings | None = None) -> str:
    # The defaults, never this shell's environment: the document must not depend on who runs it.
    settings = settings or Settings.model_construct()
    lines = [
        "| copy | what it holds | how it is erased or expires | maximum time |",
        "|---|---|---|---|",
        *(_topic_row(d, settings) for d in TOPICS),
        *(f"| {c.where} | {c.holds} | {c.erased} | {c.bound} |" for c in OTHER_COPIES),
    ]
    return "\n".join(lines)


def render(document: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(document):
        raise ValueError(f"{DOC} lacks the markers {BEGIN!r} … {END!r}")
    return pattern.sub(lambda _: f"{BEGIN}\n{table()}\n{END}", document)


def main() -> None:
    current = DOC.read_text(encoding="utf-8")
    updated = render(current)
    if updated != current:
        DOC.write_text(updated, encoding="utf-8")
        print(f"updated {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main()
