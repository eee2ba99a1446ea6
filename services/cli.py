"""The ``rapport`` command."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from functools import partial
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperOption

from services import privacy_cli
from services.contract_cli import schemas_app, validate_command
from services.product.cli import (
    BootstrapOption,
    JsonOption,
    StateDirOption,
    TimeOption,
    bootstrap_or_exit,
    utc,
)
from services.product.cli import register as register_product_commands
from services.product.state import StateDir
from services.registry import SERVICES
from services.runtime.settings import Settings
from services.scoring.cli import scores_app

if TYPE_CHECKING:
    from services.localkafka.broker import LocalKafkaBroker


def _flags_show_no_type(option: TyperOption, ctx: Any) -> str | None:
    """typer 0.29 prints ``<bool>`` after every flag (``--dry-run <bool>``, even ``--help``),
    which reads as if the flag took a value. Flags take none, so they show no type; every
    other option keeps typer's rendering (and its metavars: ``--since TIME``)."""
    return None if option.is_flag else _typer_display_type(option, ctx)


_typer_display_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _flags_show_no_type  # type: ignore[method-assign, assignment]

app = typer.Typer(
    help="Rapport: customer feedback, sentiment, trust and loyalty on Kafka.", no_args_is_help=True
)
kafka_app = typer.Typer(
    help="A local single-node Kafka broker (no Docker needed).", no_args_is_help=True
)
app.add_typer(kafka_app, name="kafka")
app.add_typer(schemas_app, name="schemas")
app.add_typer(scores_app, name="scores")
app.command("validate")(validate_command)
dlq_app = typer.Typer(help="Inspect and replay the dead-letter topic.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
register_product_commands(app)
# --- issue 12: privacy commands (services/privacy_cli.py) ---
app.add_typer(privacy_cli.erasure_app, name="erasure")
dlq_app.command("show")(privacy_cli.dlq_show)
dlq_app.command("keys")(privacy_cli.dlq_keys)
# --- end of issue 12 ---
console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rapport {package_version('rapport')}")
        raise typer.Exit


@app.callback()
def main(
    bootstrap: BootstrapOption = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Rapport: customer feedback, sentiment, trust and loyalty on Kafka."""
    if bootstrap:
        # Every subcommand (also `rapport scores ...`) reads the cluster from the settings.
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap


def _kafka(state: Path | None = None, port: int = 9092) -> LocalKafkaBroker:
    """The lasting local broker of the state directory (``rapport up`` uses the same)."""
    settings = Settings()
    return StateDir(state or settings.state_dir).broker(settings.kafka_cache_dir, port)


@kafka_app.command("fetch")
def kafka_fetch() -> None:
    """Download the broker jars from Maven Central into the cache (once)."""
    from services.localkafka.broker import fetch_jars

    with console.status("Fetching Kafka jars with Maven…") as status:
        lib = fetch_jars(Settings().kafka_cache_dir, progress=status.update)
    console.print(f"Kafka jars in {lib}")


@kafka_app.command("start")
def kafka_start(
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Delete the broker's data (topics, offsets) and start over."),
    ] = False,
    state: StateDirOption = None,
    port: Annotated[
        int,
        typer.Option(
            metavar="PORT",
            help="The port on first start, if free (kept afterwards; --fresh chooses again).",
        ),
    ] = 9092,
) -> None:
    """Start the local broker in the background on its data and port; prints its address."""
    from services.localkafka.broker import BrokerError

    broker = _kafka(state, port)
    running = broker.running_state()
    if running is not None:
        if fresh:
            console.print(f"the broker runs (pid {running.pid}): `rapport kafka stop` first")
            raise typer.Exit(1)
        console.print(f"already running (pid {running.pid})")
        typer.echo(running.bootstrap_servers)
        return
    had_data = broker.has_data()
    with console.status("Starting Kafka…") as status:
        broker.progress = status.update
        try:
            servers = broker.start(detach=True, fresh=fresh)
        except BrokerError as exc:
            console.print(f"[red]error:[/] {str(exc).splitlines()[0]}", soft_wrap=True)
            raise typer.Exit(2) from exc
    if fresh and had_data:
        database = StateDir(state or Settings().state_dir).database
        console.print(
            "[yellow]started on empty data:[/] every topic and committed offset is gone. A "
            f"scoring database that recorded the old topics (e.g. {database} of `rapport up`) "
            "no longer matches them: wipe it with `rapport up --reset`, or rebuild it with "
            "`rapport scores rebuild --apply`."
        )
    state_note = "on its previous data" if had_data and not fresh else "on new data"
    console.print(f"Kafka running {state_note}, logs in {broker.log_file}. Point Rapport at it:")
    console.print(f"  export KAFKA_BOOTSTRAP_SERVERS={servers}")
    typer.echo(servers)


@kafka_app.command("stop")
def kafka_stop(state: StateDirOption = None) -> None:
    """Stop the background broker (SIGTERM, then SIGKILL after 20 s); its data stays."""
    pid = _kafka(state).stop(timeout=20)
    console.print("not running" if pid is None else f"stopped (pid {pid}); data kept")


@kafka_app.command("status")
def kafka_status(as_json: JsonOption = False, state: StateDirOption = None) -> None:
    """Whether the background broker runs and answers metadata requests."""
    status = _kafka(state).status()
    if as_json:
        typer.echo(json.dumps(asdict(status), indent=2))
    elif not status.running:
        console.print("not running" + (" (its data is kept)" if status.has_data else ""))
    elif not status.responding:
        console.print(f"pid {status.pid} runs but does not answer: {status.problem}")
    else:
        console.print(f"running, pid {status.pid}, logs in {status.log_file}")
        typer.echo(status.bootstrap_servers)
    if not status.responding:
        raise typer.Exit(1)


@app.command("run")
def run(
    service: Annotated[
        str,
        typer.Argument(
            metavar="SERVICE", help=f"One of: {', '.join(SERVICES)}.", show_default=False
        ),
    ],
) -> None:
    """Run one service until SIGTERM/SIGINT (settings from RAPPORT_* variables)."""
    from services.runtime.main import run_main

    runnable = SERVICES.get(service)
    if runnable is None:
        raise typer.BadParameter(f"unknown service {service!r}; choose from {', '.join(SERVICES)}")
    if runnable.spec is not None:
        from services.runtime.service import run_service

        raise typer.Exit(run_main(service, partial(run_service, runnable.spec())))
    assert runnable.main is not None
    raise typer.Exit(run_main(service, runnable.main))


@dlq_app.command("stats")
def dlq_stats(
    since: TimeOption = None,
    until: TimeOption = None,
    bootstrap: BootstrapOption = None,
    as_json: JsonOption = False,
) -> None:
    """Dead letters by reason, service and origin topic."""
    from rich.table import Table

    from services.runtime.dlq_tools import summarize

    settings = Settings()
    servers = bootstrap_or_exit(bootstrap)
    # Sealed letters opened with the deployment's keys (issue 12).
    with privacy_cli.dead_letters(settings, servers, utc(since), utc(until)) as letters:
        stats = summarize(letters)
    if as_json:
        document = {
            "topic": settings.topics.dead_letter,
            "total": stats.total,
            "first": stats.first.isoformat() if stats.first else None,
            "last": stats.last.isoformat() if stats.last else None,
            "by_reason": dict(stats.by_reason.most_common()),
            "by_service": dict(stats.by_service.most_common()),
            "by_origin": dict(stats.by_origin.most_common()),
            "example_message": stats.example_message,
            "unreadable": dict(stats.unreadable),
        }
        typer.echo(json.dumps(document, indent=2))
        return
    out = Console()
    out.print(
        f"{stats.total} dead letter{'' if stats.total == 1 else 's'} in "
        f"{settings.topics.dead_letter}"
        + (
            f", failed between {stats.first:%Y-%m-%d %H:%M:%S} and "
            f"{stats.last:%Y-%m-%d %H:%M:%S} UTC"
            if stats.first and stats.last
            else ""
        )
    )
    # The message column wraps (at word boundaries) instead of being cut mid-word.
    table = Table("reason", "count", "example message")
    table.columns[0].no_wrap = True
    table.columns[2].overflow = "fold"
    for reason, count in stats.by_reason.most_common():
        table.add_row(reason, str(count), stats.example_message.get(reason, ""))
    out.print(table)
    if stats.unreadable:
        out.print(f"unreadable (key destroyed): {dict(stats.unreadable)}")
    for title, counter in (("service", stats.by_service), ("origin topic", stats.by_origin)):
        by = Table(title, "count")
        for name, count in counter.most_common():
            by.add_row(name, str(count))
        out.print(by)


@dlq_app.command("replay")
def dlq_replay(
    *,
    reason: Annotated[
        list[str] | None,
        typer.Option(metavar="REASON", help="Only this reason code (repeat for several)."),
    ] = None,
    since: TimeOption = None,
    until: TimeOption = None,
    limit: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Replay at most this many.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, do not send.")] = False,
    bootstrap: BootstrapOption = None,
) -> None:
    """Re-send dead letters to the topic they came from (after the cause is fixed)."""
    from services.runtime.dlq_tools import replay
    from services.runtime.kafka_security import client_security

    settings = Settings()
    servers = bootstrap_or_exit(bootstrap)
    with privacy_cli.dead_letter_keys(settings, servers) as keys:  # issue 12
        report = replay(
            servers,
            settings.topics.dead_letter,
            reasons=set(reason or []),
            since=utc(since),
            until=utc(until),
            limit=limit,
            dry_run=dry_run,
            shredder=keys,
            **client_security(settings),
        )
    verb = "would replay" if dry_run else "replayed"
    total = sum(report.replayed.values())
    console.print(
        f"{verb} {total} dead letters"
        + "".join(f"\n  {r}: {n}" for r, n in report.replayed.most_common())
    )
    if report.skipped_no_origin:
        console.print(f"skipped {report.skipped_no_origin} without an origin topic header")
    for why, count in report.skipped_unreadable.items():
        console.print(f"skipped {count} whose key is {why} (an erased customer's, or expired)")


@app.command("demo")
def demo() -> None:
    """Start a broker, run the three services, feed sample events, print score updates, stop."""
    from services.demo import run_demo

    raise typer.Exit(run_demo(console))


if __name__ == "__main__":
    app()
