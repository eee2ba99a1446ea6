"""``rapport erasure status`` and ``rapport dlq show``: privacy commands (issue 12)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from services.product.cli import BootstrapOption, JsonOption, TimeOption, bootstrap_or_exit, utc
from services.runtime import deadletter
from services.runtime.settings import Settings

if TYPE_CHECKING:
    from services.runtime.dlq_tools import DeadLetter

erasure_app = typer.Typer(help="What an erasure removed, and what remains until when.")


@contextmanager
def dead_letter_keys(settings: Settings, servers: str) -> Iterator[Any]:
    """The deployment's dead-letter keys, read from the key topic (a ``Shredder``), closed
    (its key-topic consumer with it) when the command is done with them."""
    from services.runtime import shredding
    from services.runtime.kafka_security import client_security

    shredder = shredding.connect(settings, servers, **client_security(settings))
    try:
        yield shredder
    finally:
        shredder.close()


@contextmanager
def dead_letters(
    settings: Settings, servers: str, since: datetime | None, until: datetime | None
) -> Iterator[Iterator[DeadLetter]]:
    """The dead letters failed in [since, until), sealed ones opened with the deployment's
    keys (:func:`dead_letter_keys`). On leaving, the reader is closed first, then the keys:
    a command may stop reading early (``dlq show --limit``) or fail mid-way, and the reader
    must be done before the keys it opens letters with are."""
    from services.runtime.dlq_tools import read_dead_letters
    from services.runtime.kafka_security import client_security

    with (
        dead_letter_keys(settings, servers) as keys,
        closing(
            read_dead_letters(
                servers,
                settings.topics.dead_letter,
                since,
                until,
                keys,
                **client_security(settings),
            )
        ) as letters,
    ):
        yield letters


@erasure_app.command("status")
def erasure_status(
    customer: Annotated[str, typer.Argument(help="The customer id, as in erasure requests.")],
    tenant: Annotated[
        str | None, typer.Option(metavar="TENANT", help="The customer's tenant, if any.")
    ] = None,
    bootstrap: BootstrapOption = None,
    as_json: JsonOption = False,
) -> None:
    """The customer's erasure receipts, and what the running system still holds of them."""
    from services.runtime.erasure import status
    from services.runtime.kafka_security import client_security
    from services.runtime.topic_reader import read_to_end

    settings = Settings()
    servers = bootstrap_or_exit(bootstrap)
    security = client_security(settings)

    def records(topic: str) -> list[tuple[bytes | None, bytes | None]]:
        chunks = read_to_end(servers, topic, client_id="rapport-erasure-status", **security)
        return [(r.key, r.value) for chunk in chunks for r in chunk]

    # With topics per tenant (hard isolation) the tenant's tombstone is on its own topic.
    isolated = settings.tenancy.topics_per_tenant and tenant is not None
    latest = settings.topics.for_tenant(tenant) if isolated and tenant else settings.topics
    with dead_letter_keys(settings, servers) as keys:
        found = status(
            settings,
            customer,
            tenant,
            erasure_records=records(settings.topics.erasure_completed),
            latest_records=records(latest.scores_latest),
            shredder=keys,
        )
    now = datetime.now(UTC)
    if as_json:
        typer.echo(json.dumps(found.as_json(now), indent=2))
        return
    out = Console()
    who = f"{customer}" + (f" (tenant {tenant})" if tenant else "")
    if not found.receipts:
        out.print(f"no erasure of {who} in {settings.topics.erasure_completed}")
    for completed in found.receipts:
        out.print(
            f"{who}: erased on request {completed.request_id} at "
            f"{completed.completed_at:%Y-%m-%d %H:%M:%S} UTC: {', '.join(completed.erased)}"
        )
        receipt = completed.receipt
        if receipt is None:
            out.print("  (a receipt from before contract 1.2: no details)")
            continue
        out.print(f"  database rows deleted from: {', '.join(receipt.database_tables)}")
        out.print(f"  tombstones written to: {', '.join(receipt.tombstones)}")
        out.print(
            f"  dead-letter keys destroyed: {receipt.dead_letter_keys_destroyed} "
            f"(gone from {receipt.key_topic} by {receipt.keys_removed_by:%Y-%m-%d %H:%M} UTC)"
        )
        table = Table("topic", "may still hold", "removed by (UTC)", "now")
        for copy in receipt.remaining:
            left = "gone" if copy.removed_by <= now else "held"
            if not copy.readable:
                left += ", unreadable"
            table.add_row(copy.topic, copy.holds, f"{copy.removed_by:%Y-%m-%d %H:%M}", left)
        out.print(table)
    out.print(
        f"now: {found.live_dead_letter_keys} live dead-letter key(s) of {who}; "
        f"latest score {'present' if found.latest_score_present else 'absent'} in "
        f"{settings.topics.scores_latest}"
    )


def dlq_show(
    since: TimeOption = None,
    until: TimeOption = None,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="Show at most N.")] = 20,
    bootstrap: BootstrapOption = None,
    as_json: JsonOption = False,
) -> None:
    """Dead letters, decrypted where their key still lives (not after the customer's erasure)."""
    settings = Settings()
    servers = bootstrap_or_exit(bootstrap)
    shown: list[dict[str, Any]] = []
    with dead_letters(settings, servers, utc(since), utc(until)) as letters:
        for letter in letters:
            if len(shown) >= limit:
                break
            readable = letter.unreadable is None
            shown.append(
                {
                    "partition": letter.partition,
                    "offset": letter.offset,
                    "failed_at": letter.failed_at.isoformat(),
                    "service": letter.service,
                    "reason": letter.reason,
                    "origin_topic": letter.origin_topic,
                    "readable": readable,
                    "unreadable_because": None if readable else str(letter.unreadable),
                    "message": letter.dlq_headers.get(deadletter.MESSAGE) if readable else None,
                    "key": _text(letter.key) if readable else None,
                    "value": _text(letter.value) if readable else None,
                    "headers": {k: _text(v) for k, v in letter.original_headers}
                    if readable
                    else {},
                }
            )
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
        return
    out = Console()
    for item in shown:
        where = f"{item['partition']}@{item['offset']} {item['failed_at']} {item['service']}"
        if not item["readable"]:
            out.print(f"{where} {item['reason']}: [unreadable: key {item['unreadable_because']}]")
            continue
        out.print(f"{where} {item['reason']}: {item['message']}")
        out.print(f"  key={item['key']!r} headers={item['headers']!r}")
        out.print(f"  value={item['value']!r}")


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", "replace")


def master_key_name(index: int | None) -> str:
    """How ``rapport dlq keys`` names the master key that wrapped a data key."""
    from services.runtime.shredding import STORED_UNWRAPPED

    if index == 0:
        return "current master key"
    if index == STORED_UNWRAPPED:
        return "none (stored unwrapped)"
    if index is None:
        return "unknown (no master key set here opens it)"
    return f"previous master key #{index}"


def dlq_keys(bootstrap: BootstrapOption = None, as_json: JsonOption = False) -> None:
    """The live dead-letter keys per master key, and when the last of each expires: a master key
    rotated out can leave RAPPORT_PRIVACY__PREVIOUS_MASTER_KEYS once it wraps none
    (docs/privacy.md, "Rotating the master key")."""
    from services.runtime.shredding import STORED_UNWRAPPED

    settings = Settings()
    servers = bootstrap_or_exit(bootstrap)
    with dead_letter_keys(settings, servers) as keys:
        found = keys.live_keys_by_master()
        configured = range(keys.wrapper.master_keys)  # 0 the current one, then the previous
    counted: list[tuple[str, int, datetime | None]] = []
    for index in [*configured, STORED_UNWRAPPED, None]:
        count, last_ms = found.get(index, (0, None))
        if count == 0 and index not in configured:
            continue  # no unwrapped or unknown keys: not worth a row
        last = None if last_ms is None else datetime.fromtimestamp(last_ms / 1000, UTC)
        counted.append((master_key_name(index), count, last))
    if as_json:
        rows = [
            {
                "master_key": name,
                "live_keys": count,
                "last_expires_at": None if last is None else last.isoformat(),
            }
            for name, count, last in counted
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("master key", "live data keys", "last expires (UTC)")
    for name, count, last in counted:
        table.add_row(name, str(count), "-" if last is None else f"{last:%Y-%m-%d %H:%M}")
    Console().print(table)
