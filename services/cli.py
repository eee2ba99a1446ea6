"""The ``rapport`` command."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.runtime.service import ServiceSpec
from services.runtime.settings import Settings

app = typer.Typer(
    help="Rapport: customer feedback, sentiment, trust and loyalty on Kafka.", no_args_is_help=True
)
kafka_app = typer.Typer(
    help="A local single-node Kafka broker (no Docker needed).", no_args_is_help=True
)
app.add_typer(kafka_app, name="kafka")
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
    from services.runtime.exceptions import FatalError
    from services.runtime.logs import configure_logging
    from services.runtime.service import run_service

    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; choose from {', '.join(SERVICES)}")
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level, service)
    spec: ServiceSpec = importlib.import_module(f"services.{service}.service").SPEC
    try:
        run_service(spec, settings)
    except FatalError as exc:
        logging.getLogger("rapport").error("%s stopped: %s", service, exc)
        sys.exit(2)


@app.command("demo")
def demo() -> None:
    """Start a broker, run the three services, feed sample events, print score updates, stop."""
    from services.demo import run_demo

    raise typer.Exit(run_demo(console))


if __name__ == "__main__":
    app()
