"""The product commands of ``rapport``: up, down, status, send, simulate, watch, report.

Mounted by ``services/cli.py`` with ``register(app)``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from services.product.connect import BrokerUnreachableError, require_bootstrap
from services.product.state import StateDir, UpRecord
from services.registry import PIPELINE, SERVICES
from services.runtime.settings import Settings, Topics

# soft_wrap: an error is one line however narrow the terminal (a pipe, a CI log).
err = Console(stderr=True, highlight=False, soft_wrap=True)

BootstrapOption = Annotated[
    str | None,
    typer.Option(
        "--bootstrap",
        metavar="HOST:PORT",
        help="Kafka bootstrap servers (default: KAFKA_BOOTSTRAP_SERVERS, else the local stack).",
    ),
]
TimeOption = Annotated[
    datetime | None,
    typer.Option(
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        metavar="TIME",
        help="ISO time, e.g. 2026-03-01T12:00:00 (UTC unless it has an offset).",
    ),
]


def utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        metavar="DIR",
        help="Broker data, database and logs (default: RAPPORT_STATE_DIR or "
        "~/.local/state/rapport).",
    ),
]


def state_dir(option: Path | None) -> StateDir:
    return StateDir(option or Settings().state_dir)


def bootstrap_or_exit(explicit: str | None) -> str:
    try:
        return require_bootstrap(explicit, Settings())
    except BrokerUnreachableError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc


def up_command(
    *,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset", help="Wipe the state directory first (broker topics, database, logs)."
        ),
    ] = False,
    detach: Annotated[
        bool,
        typer.Option("--detach", "-d", help="Run in the background; logs go to the state dir."),
    ] = False,
    bootstrap: BootstrapOption = None,
    no_console: Annotated[
        bool, typer.Option("--no-console", help="Do not run the web console.")
    ] = False,
    state: StateDirOption = None,
    kafka_port: Annotated[
        int,
        typer.Option(
            metavar="PORT", help="The local broker's port when it is free (chosen once, then kept)."
        ),
    ] = 9092,
    port_offset: Annotated[
        int,
        typer.Option(
            metavar="N",
            help="Add N to every service's HTTP port (ingest 9101, sentiment 9102, scoring "
            "9103, console 9180), to run next to another stack.",
        ),
    ] = 0,
) -> None:
    """Run the whole local stack (broker, ingest, sentiment, scoring, console) until Ctrl-C or
    `rapport down`; restarts a service that dies."""
    from services.product.supervisor import Supervisor

    directory = state_dir(state)
    record = UpRecord.read(directory.up_file)
    if record is not None and record.alive():
        err.print(f"rapport is already up (pid {record.pid}); `rapport down` stops it")
        raise typer.Exit(1)
    if reset:
        running = directory.broker().running_state()
        if running is not None:
            err.print(f"the local broker runs (pid {running.pid}): `rapport kafka stop` first")
            raise typer.Exit(1)
        directory.reset()
        err.print(f"wiped {directory.root} (broker topics, database, logs)")
    settings = Settings()
    database_url = settings.database_url if "database_url" in settings.model_fields_set else None
    services = [*PIPELINE, *([] if no_console else ["console"])]
    if detach:
        extra = ["--kafka-port", str(kafka_port), "--port-offset", str(port_offset)]
        _up_detached(directory, bootstrap, no_console, extra)
        return
    supervisor = Supervisor(
        directory,
        services,
        bootstrap=bootstrap,
        database_url=database_url,
        cache_dir=settings.kafka_cache_dir,
        console=err,
        ports={name: SERVICES[name].default_port + port_offset for name in services},
        kafka_port=kafka_port,
    )
    raise typer.Exit(supervisor.run())


def _up_detached(
    directory: StateDir, bootstrap: str | None, no_console: bool, extra: list[str]
) -> None:
    directory.logs.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "services.cli", "up", "--state-dir", str(directory.root)]
    command += ["--bootstrap", bootstrap] if bootstrap else []
    command += ["--no-console"] if no_console else []
    command += extra
    with (directory.logs / "up.out").open("ab") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    with err.status("starting the stack…"):
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if process.poll() is not None:
                err.print(f"[red]error:[/] `rapport up` exited; see {directory.logs / 'up.out'}")
                raise typer.Exit(1)
            record = UpRecord.read(directory.up_file)
            if record and record.children and all(c.state == "ready" for c in record.children):
                break
            time.sleep(0.5)
        else:
            err.print("[yellow]the stack is not ready after 180 s;[/] see `rapport status`")
    err.print(f"up in the background (pid {process.pid}); logs: {directory.log_file}")
    _print_next_steps(UpRecord.read(directory.up_file))


def _print_next_steps(record: UpRecord | None) -> None:
    if record and record.console_url:
        err.print(f"console: {record.console_url}")
    err.print("next: `rapport simulate`, `rapport watch`, `rapport status`, `rapport down`")


def down_command(state: StateDirOption = None) -> None:
    """Stop what `rapport up` started (services, console, and the broker it started)."""
    from services.product.supervisor import down

    err.print(down(state_dir(state)))


def status_command(
    as_json: JsonOption = False,
    state: StateDirOption = None,
    sample_seconds: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="Seconds between the two metric readings behind the rates."
        ),
    ] = 2.0,
) -> None:
    """Broker, services (ready, rates, lag), dead letters; exit 1 if something is down."""
    from services.product.status import collect

    report = collect(state_dir(state), sample_seconds)
    if as_json:
        typer.echo(json.dumps(asdict(report), indent=2))
    else:
        _print_status(report)
    raise typer.Exit(0 if report.healthy else 1)


def _print_status(report: Any) -> None:
    out = Console(highlight=False)
    broker = report.broker
    if broker["running"]:
        answer = "answers" if broker["responding"] else f"does not answer ({broker['problem']})"
        out.print(f"broker   {broker['bootstrap_servers']} pid {broker['pid']}, {answer}")
    elif report.bootstrap_servers:
        out.print(f"broker   {report.bootstrap_servers} (not the local one)")
    else:
        out.print("broker   [red]not running[/] (`rapport up`)")
    if not report.up:
        out.print("services not up (`rapport up`)")
        return
    table = Table("service", "state", "pid", "restarts", "in/s", "out/s", "lag", "dead letters")
    for s in report.services:
        state = "[green]ready[/]" if s["ready"] else f"[yellow]{s['state']}[/]"
        table.add_row(
            s["name"],
            state,
            str(s["pid"] or "-"),
            str(s["restarts"]),
            f"{s['in_per_second']:.1f}",
            f"{s['out_per_second']:.1f}",
            f"{s['lag']:.0f}",
            str(s["dead_letters"]),
        )
    out.print(table)
    if report.dead_letters_by_reason:
        reasons = ", ".join(f"{r} {n}" for r, n in report.dead_letters_by_reason.items())
        out.print(f"dead letters: {reasons} (`rapport dlq stats`)")
    if report.console_url:
        out.print(f"console  {report.console_url}")
    out.print(f"logs     {report.log_file}")


def send_command(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE|DIR|-...",
            help="JSON events, JSON arrays, NDJSON files, folders of them; - reads stdin.",
            show_default=False,
        ),
    ],
    no_validate: Annotated[
        bool,
        typer.Option("--no-validate", help="Send invalid events too (to see ingest reject them)."),
    ] = False,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant",
            metavar="TENANT_ID",
            help="Send every event as this tenant's (sets tenant_id, replacing any other).",
        ),
    ] = None,
    bootstrap: BootstrapOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send upstream events to their raw topics (by type, keyed by customer: tenant|customer in
    a multi-tenant deployment), validated exactly as ingest would; exit 1 if any was rejected."""
    from rich.progress import Progress

    from services.ingest.service import ingest_policy
    from services.product.send import SendSummary, expand_paths, plan, send

    settings = Settings()
    # Ingest's own policy: the same identifier rule and the same personal-data kinds.
    ingesting = ingest_policy(settings)
    try:
        outgoing, rejected = plan(
            expand_paths(paths),
            settings.topics,
            validate=not no_validate,
            tenancy=settings.tenancy,
            tenant=tenant,
            identifiers=ingesting.identifier_personal_data,
            identifier_kinds=ingesting.pii_kinds,
        )
    except OSError as exc:
        err.print(f"[red]error:[/] cannot read {exc.filename}: {exc.strerror}")
        raise typer.Exit(2) from exc
    summary = SendSummary(rejected=rejected)
    if outgoing:
        servers = bootstrap_or_exit(bootstrap)
        with Progress(console=err, transient=True, disable=as_json) as progress:
            task = progress.add_task("sending", total=len(outgoing))
            summary.by_topic = send(servers, outgoing, lambda n: progress.advance(task, n))
        summary.sent = sum(summary.by_topic.values())
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        _print_send_summary(summary)
    raise typer.Exit(1 if rejected else 0)


def _print_send_summary(summary: Any) -> None:
    out = Console(highlight=False)
    topics = ", ".join(f"{n} to {t}" for t, n in summary.by_topic.most_common())
    out.print(
        f"sent {summary.sent} event{'' if summary.sent == 1 else 's'}"
        + (f" ({topics})" if topics else "")
    )
    if summary.rejected:
        reasons = ", ".join(f"{r} {n}" for r, n in summary.rejected_by_reason.most_common())
        out.print(f"[red]rejected {len(summary.rejected)}[/] ({reasons}):")
        for rejection in summary.rejected[:20]:
            out.print(
                f"  {rejection.location}: {rejection.message} [{rejection.reason}]", markup=False
            )
        if len(summary.rejected) > 20:
            out.print(f"  … and {len(summary.rejected) - 20} more (--json lists all)")


def simulate_command(
    *,
    customers: Annotated[
        int, typer.Option(min=3, metavar="N", help="How many simulated customers.")
    ] = 500,
    minutes: Annotated[
        float,
        typer.Option(
            min=0.05, metavar="MINUTES", help="Spread the traffic over this many minutes."
        ),
    ] = 2.0,
    days: Annotated[
        int, typer.Option(min=7, metavar="DAYS", help="Days of customer history, ending now.")
    ] = 120,
    rate: Annotated[
        float | None,
        typer.Option(
            min=1, metavar="PER_SECOND", help="Events per second (default: all within --minutes)."
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(metavar="N", help="Same seed, same customers and events.")
    ] = 20251122,
    bad_share: Annotated[
        float,
        typer.Option(
            min=0, max=0.5, metavar="SHARE", help="Share of broken records (dead letters)."
        ),
    ] = 0.01,
    duplicate_share: Annotated[
        float,
        typer.Option(
            min=0, max=0.5, metavar="SHARE", help="Share of events sent twice (dropped by ingest)."
        ),
    ] = 0.01,
    wait: Annotated[
        float,
        typer.Option(
            min=0, metavar="SECONDS", help="Seconds to wait for the scores after sending."
        ),
    ] = 300.0,
    bootstrap: BootstrapOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send realistic, seeded traffic of simulated customers with hidden personas; at the end,
    how well the published scores rank their hidden trust and loyalty."""
    from services.product.simulate_run import run_simulation

    servers = bootstrap_or_exit(bootstrap)
    result = run_simulation(
        servers,
        Settings().topics,
        customers=customers,
        days=days,
        seed=seed,
        rate=rate,
        minutes=minutes,
        bad_share=bad_share,
        duplicate_share=duplicate_share,
        wait_seconds=wait,
        console=None if as_json else err,
    )
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    raise typer.Exit(0 if result["complete"] else 1)


ViewTenantOption = Annotated[
    str | None,
    typer.Option(
        "--tenant",
        help="Only this tenant's customers (multi-tenant deployments).",
    ),
]


def topics_or_exit(settings: Settings, tenant: str | None) -> Topics:
    """The published topics to read for ``tenant``; exits with the reason if it cannot be."""
    from services.console.view import tenant_topics

    try:
        return tenant_topics(settings, tenant)
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def watch_command(
    bootstrap: BootstrapOption = None,
    state: StateDirOption = None,
    refresh: Annotated[
        float, typer.Option(metavar="SECONDS", min=0.2, help="Seconds between redraws.")
    ] = 2.0,
    once: Annotated[
        bool, typer.Option("--once", help="Draw one screen (after reading the topics) and exit.")
    ] = False,
    tenant: ViewTenantOption = None,
) -> None:
    """A live view: service rates, lag and dead letters, the newest alerts, the biggest trust
    and loyalty moves, segment counts. Ctrl-C leaves it."""
    from rich.live import Live

    from services.console.view import ScoreView, Subscription
    from services.product.watch import WatchScreen

    servers = bootstrap_or_exit(bootstrap)
    directory = state_dir(state)
    record = UpRecord.read(directory.up_file)
    topics = topics_or_exit(Settings(), tenant)
    view = ScoreView(topics)
    subscription = Subscription(servers, view, "rapport-watch", tenant=tenant).start()
    screen = WatchScreen(view, record if record and record.alive() else None)
    out = Console()
    try:
        if once:
            # Rates need two scrapes: take the first now, the second at least a second later.
            first_sample_at = time.monotonic()
            screen.render()
            subscription.wait_caught_up(30)
            time.sleep(max(0.0, 1.0 - (time.monotonic() - first_sample_at)))
            out.print(screen.render(), height=40)
            return
        with Live(screen.render(), console=out, screen=True, auto_refresh=False) as live:
            while True:
                time.sleep(refresh)
                live.update(screen.render(), refresh=True)
    except KeyboardInterrupt:
        pass
    finally:
        subscription.stop()


def report_command(
    since: TimeOption = None,
    until: TimeOption = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Default: rapport-report-<time>.html"),
    ] = None,
    bootstrap: BootstrapOption = None,
    tenant: ViewTenantOption = None,
) -> None:
    """Write a self-contained HTML report of a time window (default: the last 24 hours): trust
    and loyalty distributions, segment flows, top drivers, alerts, dead letters (opens offline)."""
    from services.console.view import Subscription
    from services.privacy_cli import dead_letters
    from services.product.report import ReportData, render
    from services.runtime.dlq_tools import summarize

    servers = bootstrap_or_exit(bootstrap)
    settings = Settings()
    end = utc(until) or datetime.now(UTC)
    start = utc(since) or end - timedelta(hours=24)
    data = ReportData(topics_or_exit(settings, tenant), start, end)
    with err.status("reading the published topics…"):
        subscription = Subscription(servers, data, "rapport-report", tenant=tenant).start()
        try:
            if not subscription.wait_caught_up(120):
                err.print(f"[red]error:[/] could not read the topics: {subscription.error}")
                raise typer.Exit(2)
        finally:
            subscription.stop()
        # Sealed dead letters opened with the deployment's keys (issue 12).
        with dead_letters(settings, servers, start, end) as letters:
            dead = summarize(letters)
    path = output or Path(f"rapport-report-{end:%Y%m%d-%H%M}.html")
    path.write_text(render(data, dead), encoding="utf-8")
    err.print(f"wrote {path} ({len(data.updates)} score updates, {len(data.alerts)} alerts)")
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.command("up")(up_command)
    app.command("down")(down_command)
    app.command("status")(status_command)
    app.command("send")(send_command)
    app.command("simulate")(simulate_command)
    app.command("watch")(watch_command)
    app.command("report")(report_command)
