"""``rapport scores``: migrate the scoring database, rebuild it from the topics, show a customer.

Mounted by ``services/cli.py`` as ``app.add_typer(scores_app, name="scores")``; settings come
from the ``RAPPORT_*`` variables like the services' (``RAPPORT_DATABASE_URL``...).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from services.product.cli import BootstrapOption, bootstrap_or_exit
from services.product.connect import find_database_url
from services.runtime.settings import Settings

scores_app = typer.Typer(
    help="Trust and loyalty scores: migrate the database, rebuild from the topics, show one.",
    no_args_is_help=True,
)
_err = Console(stderr=True)


def _time(value: datetime | None) -> str:
    """UTC, to the minute: what a person compares events by."""
    return "-" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M}"


TenantOption = Annotated[
    str | None,
    typer.Option(
        "--tenant",
        help="the tenant (multi-tenant deployments); default: RAPPORT_TENANCY__DEFAULT_TENANT",
    ),
]


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


@scores_app.command("migrate")
def migrate_command(
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
) -> None:
    """Upgrade the scoring database schema (alembic upgrade) to the latest revision."""
    from services.scoring import store

    settings = Settings()
    engine = store.make_engine(find_database_url(settings))
    before = store.current_revision(engine)
    store.migrate(engine, revision, default_tenant=settings.tenancy.default_tenant)
    after = store.current_revision(engine)
    _err.print(
        f"scoring database at revision {after}"
        + ("" if before == after else f" (was {before or 'empty'})")
    )


@scores_app.command("rebuild")
def rebuild_command(
    apply: Annotated[
        bool, typer.Option("--apply", help="replace the stored state by the rebuilt one")
    ] = False,
    tolerance: Annotated[
        float, typer.Option(help="trust/loyalty points below which values count as equal")
    ] = 1e-6,
    show: Annotated[int, typer.Option(help="differences to list", min=0)] = 20,
    tenant: TenantOption = None,
    bootstrap_servers: BootstrapOption = None,
) -> None:
    """Recompute every customer's state from the annotated topic; report the differences.

    Stop the scoring instances before --apply.
    """
    from services.runtime.kafka_io import TopicCatalog
    from services.runtime.kafka_security import client_security
    from services.scoring import rebuild, store
    from services.scoring.model import ScoringConfig

    settings = Settings()
    bootstrap = bootstrap_or_exit(bootstrap_servers)
    topic = settings.topics.annotated
    config = ScoringConfig.load(settings.scoring_config)
    engine = store.make_engine(find_database_url(settings))
    store.migrate(engine, default_tenant=settings.tenancy.default_tenant)
    with _err.status(f"Reading {topic} and folding…"):
        security = client_security(settings)
        partitions = rebuild.topic_partitions(bootstrap, topic, **security)
        catalog = TopicCatalog(bootstrap, **security)
        topic_id = catalog.topic_ids(refresh=True).get(topic)
        catalog.close()
        report = rebuild.rebuild(
            engine,
            settings.topics,
            config,
            rebuild.KafkaSource(bootstrap, topic, **security),
            group_offsets=rebuild.committed_offsets(
                bootstrap, f"{settings.group_prefix}-scoring", topic, partitions, **security
            ),
            partitions=partitions,
            tolerance=tolerance,
            apply=apply,
            topic_id=topic_id,
            tenancy=settings.tenancy,
            ticks=rebuild.applied_ticks_on(bootstrap, settings.topics.scoring_ticks, **security),
            erasure_hash_key=(
                None
                if settings.scoring.erasure_hash_key is None
                else settings.scoring.erasure_hash_key.get_secret_value().encode()
            ),
        )
    out = Console()
    if report.topic_recreated:
        out.print(
            f"[yellow]{topic} was recreated (or the cluster replaced) since the database was "
            "built: its stored offsets are ignored and the scores reflect the topic as it is "
            "now[/]"
        )
    out.print(
        f"read {_plural(report.records_read, 'record')} of {topic} (up to offsets "
        + ", ".join(f"{p}:{o}" for p, o in sorted(report.bounds.items()))
        + f"); {_plural(report.customers_rebuilt, 'customer')} rebuilt, "
        f"{report.customers_current:,} in the database"
    )
    for partition, start in sorted(report.truncated_partitions.items()):
        out.print(
            f"[yellow]partition {partition} starts at offset {start}: earlier events expired, "
            "the rebuild misses them[/]"
        )
    # The whole database is rebuilt (and applied) at once; --tenant narrows what is listed.
    differences = [d for d in report.differences if tenant is None or d.tenant == tenant]
    if not differences:
        out.print("[green]no differences[/]" + (f" for tenant {tenant}" if tenant else ""))
    else:
        table = Table(
            "tenant", "customer", "differs in", "database", "rebuilt", title="Differences"
        )
        for diff in differences[:show]:
            table.add_row(diff.tenant, diff.customer_id, diff.what, diff.current, diff.rebuilt)
        out.print(table)
        more = len(differences) - show
        out.print(
            f"{_plural(len(differences), 'customer')} differ"
            + (f" ({more} not shown)" if more > 0 else "")
        )
    if apply:
        out.print("[green]applied: the database now holds the rebuilt state[/]")
    elif not report.equal:
        raise typer.Exit(1)


@scores_app.command("show")
def show_command(
    customer: Annotated[str, typer.Argument(help="customer id")],
    history: Annotated[int, typer.Option(help="history rows to show", min=0)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
    tenant: TenantOption = None,
) -> None:
    """A customer's current scores, what drove them, recent history and alerts (times in UTC)."""
    from services.scoring import store
    from services.scoring.alerts import published_segment
    from services.scoring.model.signal import from_us

    settings = Settings()
    engine = store.make_engine(find_database_url(settings))
    who = (tenant or settings.tenancy.default_tenant, customer)
    row, rows, alerts = store.customer_view(engine, who, history)
    if row is None:
        _err.print(f"no scores for {customer!r} of tenant {who[0]!r}")
        raise typer.Exit(1)
    # Newest event first by when it happened, not by when it was processed (a backfill
    # arrives late).
    rows = sorted(rows, key=lambda h: (h["occurred_at"], h["event_id"]), reverse=True)
    drivers = [
        {
            "event_id": event_id,
            "type": event_type,
            "occurred_at": from_us(occurred_us),
            "trust": trust,
            "loyalty": loyalty,
        }
        for event_id, event_type, occurred_us, trust, loyalty in sorted(
            row["recent_events"], key=lambda e: -(abs(e[3]) + abs(e[4]))
        )
    ]
    if as_json:
        document = {
            "tenant": row["tenant"],
            "customer_id": row["customer_id"],
            "current": {k: v for k, v in row.items() if k != "recent_events"}
            | {"segment": published_segment(row["segment"])},
            "drivers": drivers,
            "history": rows,
            "alerts": alerts,
        }
        typer.echo(json.dumps(document, default=_json_default, indent=2))
        return
    out = Console()
    _print_current(out, row, published_segment(row["segment"]))
    table = Table("event", "type", "occurred (UTC)", "trust", "loyalty", title="Drivers")
    table.columns[0].overflow = "fold"
    for d in drivers:
        table.add_row(
            d["event_id"],
            d["type"],
            _time(d["occurred_at"]),
            f"{d['trust']:+.1f}",
            f"{d['loyalty']:+.1f}",
        )
    out.print(table)
    if rows:
        # One line of figures and one of words per event: a nine-column table wraps a word a
        # line at 80 columns.
        out.print(f"[bold]History[/] (latest {len(rows)}, newest first, UTC)")
        for h in rows:
            out.print(
                f"{_time(h['occurred_at'])}  {h['event_type']}  "
                f"trust {100 * h['trust']:.1f} ({h['trust_delta']:+.1f})  "
                f"loyalty {h['loyalty']:.1f} ({h['loyalty_delta']:+.1f})  "
                f"{published_segment(h['segment'])}",
                overflow="fold",
            )
            out.print(f"    [dim]{h['event_id']}[/]  [italic]{h['summary']}[/]")
    if alerts:
        out.print("[bold]Alerts[/]")
        for a in alerts:
            resolved = f", resolved {_time(a['resolved_at'])}" if a["resolved_at"] else ""
            out.print(
                f"{_time(a['raised_at'])}  {a['severity']} {a['kind']}, {a['state']}{resolved}"
            )
            out.print(f"    [italic]{a['resolution'] or a['message']}[/]")
            out.print(f"    [dim]{a['alert_id']}[/]", overflow="fold")


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _print_current(out: Console, row: dict[str, Any], segment: str) -> None:
    title = f"Customer {row['customer_id']} (tenant {row['tenant']})"
    table = Table(show_header=False, title=title)
    table.add_row("trust", f"{100 * row['trust']:.1f} ± {100 * row['trust_stddev']:.1f}")
    table.add_row("loyalty", f"{row['loyalty']:.1f} (uncertainty {row['loyalty_uncertainty']:.2f})")
    table.add_row("segment", segment)
    table.add_row("churn risk", f"{row['churn_risk']:.2f}")
    table.add_row("events", str(row["event_count"]))
    table.add_row("as of (UTC)", _time(row["as_of"]))
    table.add_row("first seen", _time(row["first_seen_at"]))
    table.add_row("last activity", _time(row["last_activity_at"]))
    table.add_row("configuration", str(row["config_hash"])[:12])
    out.print(table)
