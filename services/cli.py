"""The ``rapport`` command."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.contract_cli import schemas_app, validate_command
from services.runtime.service import ServiceSpec
from services.runtime.settings import Settings
from services.scoring.cli import scores_app

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
console = Console(stderr=True)

SERVICES = ("ingest", "sentiment", "scoring")


def _state_dir() -> Path:
    return Settings().kafka_cache_dir / "run"


@kafka_app.command("fetch")
def kafka_fetch() -> None:
    """Download the broker jars from Maven Central into the cache (once)."""
    from services.localkafka.broker import fetch_jars

    with console.status("Fetching Kafka jars with Maven…") as status:
        lib = fetch_jars(Settings().kafka_cache_dir, progress=status.update)
    console.print(f"Kafka jars in {lib}")


@kafka_app.command("start")
def kafka_start() -> None:
    """Start a broker in the background; prints its bootstrap address."""
    from services.localkafka.broker import LocalKafkaBroker, pid_alive, read_state

    state = read_state(_state_dir())
    if state and pid_alive(state.pid):
        console.print(f"already running (pid {state.pid})")
        typer.echo(state.bootstrap_servers)
        return
    with console.status("Starting Kafka…") as status:
        broker = LocalKafkaBroker(
            state_dir=_state_dir(), cache_dir=Settings().kafka_cache_dir, progress=status.update
        )
        servers = broker.start(detach=True)
    console.print(f"Kafka running, logs in {broker.log_file}. Point Rapport at it with:")
    console.print(f"  export KAFKA_BOOTSTRAP_SERVERS={servers}")
    typer.echo(servers)


@kafka_app.command("stop")
def kafka_stop() -> None:
    """Stop the background broker (SIGTERM, then SIGKILL after 20 s)."""
    from services.localkafka.broker import pid_alive, read_state, terminate

    state = read_state(_state_dir())
    if state is None or not pid_alive(state.pid):
        console.print("not running")
        return
    terminate(state.pid, timeout=20)
    (_state_dir() / "broker.json").unlink(missing_ok=True)
    console.print(f"stopped (pid {state.pid})")


@kafka_app.command("status")
def kafka_status() -> None:
    """Whether the background broker runs and answers metadata requests."""
    from services.localkafka.broker import BrokerError, pid_alive, read_state, wait_until_ready

    state = read_state(_state_dir())
    if state is None or not pid_alive(state.pid):
        console.print("not running")
        raise typer.Exit(1)
    try:
        wait_until_ready(state.bootstrap_servers, timeout=10, alive=lambda: pid_alive(state.pid))
    except BrokerError as exc:
        console.print(f"pid {state.pid} runs but does not answer: {exc}")
        raise typer.Exit(1) from exc
    console.print(f"running, pid {state.pid}, logs in {state.log_file}")
    typer.echo(state.bootstrap_servers)


@app.command("run")
def run(
    service: Annotated[str, typer.Argument(help="ingest, sentiment or scoring")],
) -> None:
    """Run one service until SIGTERM/SIGINT (settings from RAPPORT_* variables)."""
    from services.runtime.main import run_main

    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; choose from {', '.join(SERVICES)}")
    spec: ServiceSpec = importlib.import_module(f"services.{service}.service").SPEC
    raise typer.Exit(run_main(spec))


def _bootstrap(settings: Settings) -> str:
    if not settings.kafka_bootstrap_servers:
        raise typer.BadParameter("set KAFKA_BOOTSTRAP_SERVERS (e.g. $(rapport kafka start))")
    return settings.kafka_bootstrap_servers


TimeOption = Annotated[
    datetime | None,
    typer.Option(
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        help="ISO time (UTC unless it has an offset)",
    ),
]


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dlq_app.command("stats")
def dlq_stats(since: TimeOption = None, until: TimeOption = None) -> None:
    """Dead letters by reason, service and origin topic."""
    from rich.table import Table

    from services.runtime.dlq_tools import read_dead_letters, summarize

    settings = Settings()
    stats = summarize(
        read_dead_letters(
            _bootstrap(settings), settings.topics.dead_letter, _utc(since), _utc(until)
        )
    )
    out = Console()
    out.print(
        f"{stats.total} dead letters in {settings.topics.dead_letter}"
        + (
            f", failed between {stats.first:%Y-%m-%d %H:%M:%S} and "
            f"{stats.last:%Y-%m-%d %H:%M:%S} UTC"
            if stats.first and stats.last
            else ""
        )
    )
    table = Table("reason", "count", "example message")
    for reason, count in stats.by_reason.most_common():
        table.add_row(reason, str(count), stats.example_message.get(reason, "")[:100])
    out.print(table)
    for title, counter in (("service", stats.by_service), ("origin topic", stats.by_origin)):
        by = Table(title, "count")
        for name, count in counter.most_common():
            by.add_row(name, str(count))
        out.print(by)


@dlq_app.command("replay")
def dlq_replay(
    reason: Annotated[list[str] | None, typer.Option(help="only these reason codes")] = None,
    since: TimeOption = None,
    until: TimeOption = None,
    limit: Annotated[int | None, typer.Option(min=1)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count, do not send")] = False,
) -> None:
    """Re-send dead letters to the topic they came from (after the cause is fixed)."""
    from services.runtime.dlq_tools import replay

    settings = Settings()
    report = replay(
        _bootstrap(settings),
        settings.topics.dead_letter,
        reasons=set(reason or []),
        since=_utc(since),
        until=_utc(until),
        limit=limit,
        dry_run=dry_run,
    )
    verb = "would replay" if dry_run else "replayed"
    total = sum(report.replayed.values())
    console.print(
        f"{verb} {total} dead letters"
        + "".join(f"\n  {r}: {n}" for r, n in report.replayed.most_common())
    )
    if report.skipped_no_origin:
        console.print(f"skipped {report.skipped_no_origin} without an origin topic header")


@app.command("demo")
def demo() -> None:
    """Start a broker, run the three services, feed sample events, print score updates, stop."""
    from services.demo import run_demo

    raise typer.Exit(run_demo(console))


if __name__ == "__main__":
    app()
