"""The event contract on the command line: ``rapport schemas export`` and ``rapport validate``.

``rapport validate`` runs the very code ingest runs (``schemas.validation.parse_raw_event``), so
an upstream team that gets a clean run here will not see its events dead-lettered for contract
reasons.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from schemas.base import DEFAULT_MAX_TEXT_CHARS, EventKind, ValidationPolicy
from schemas.validation import ContractError, parse_raw_event

schemas_app = typer.Typer(
    help="The event contract: regenerate the JSON Schemas, AsyncAPI document, examples and "
    "doc tables from the models in schemas/.",
    no_args_is_help=True,
)
console = Console(highlight=False, soft_wrap=True)


@schemas_app.command("export")
def export_command(
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; list stale artifacts and exit 1 if any."),
    ] = False,
    allow_breaking: Annotated[
        bool,
        typer.Option(
            "--allow-breaking",
            help="Write even a non-additive change within the major version (needs the "
            "consumers' agreement; normally bump the major version instead).",
        ),
    ] = False,
) -> None:
    """Regenerate schemas/json, schemas/examples, schemas/asyncapi.yaml and the doc tables."""
    from schemas import export

    if check:
        stale = export.stale_artifacts()
        for path in stale:
            console.print(Text(f"stale: {path.relative_to(export.REPO_ROOT)}", style="yellow"))
        if stale:
            console.print("run `rapport schemas export` and commit the result")
            raise typer.Exit(1)
        console.print(Text("all generated artifacts are up to date", style="green"))
        return
    try:
        result = export.write_artifacts(allow_breaking=allow_breaking)
    except export.BreakingChangeError as exc:
        console.print(Text(str(exc), style="red"))
        console.print(
            "Make the change additive (optional field, new enum value, new type), or bump the "
            "major version in schemas/base.py (CONTRACT_VERSION)."
        )
        raise typer.Exit(1) from exc
    for path in result.written:
        console.print(f"wrote {path.relative_to(export.REPO_ROOT)}")
    for path in result.removed:
        console.print(f"removed {path.relative_to(export.REPO_ROOT)}")
    if not result.written and not result.removed:
        console.print("all generated artifacts were already up to date")


@dataclass(frozen=True)
class SourceRecord:
    location: str
    """How a person finds it in the file: ``line 3``, ``item 2``."""
    value: bytes


def validate_command(
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE...",
            help="JSON events, JSON arrays of events, or NDJSON (one event per line); "
            "- reads standard input.",
            show_default=False,
        ),
    ],
    kind: Annotated[
        EventKind | None,
        typer.Option(
            "--kind",
            help="Check that every event belongs on this raw topic (default: each event's "
            "type decides).",
            case_sensitive=False,
        ),
    ] = None,
    max_text_chars: Annotated[
        int,
        typer.Option(help="The text cap to check against.", min=1, metavar="CHARS"),
    ] = DEFAULT_MAX_TEXT_CHARS,
    multi_tenant: Annotated[
        bool,
        typer.Option(
            "--multi-tenant", help="Check as a multi-tenant deployment does: tenant_id required."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
) -> None:
    """Check events against the contract exactly as ingest would; exit 1 if any is invalid."""
    contents: list[tuple[str, bytes]] = []
    for file in files:
        try:
            contents.append(
                (file, sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes())
            )
        except OSError as exc:
            console.print(Text(f"cannot read {file}: {exc.strerror}", style="red"))
            raise typer.Exit(2) from exc
    policy = ValidationPolicy(max_text_chars=max_text_chars, require_tenant=multi_tenant)
    findings: list[Finding] = []
    valid = invalid = 0
    for file, data in contents:
        prefix = f"{file}: " if len(contents) > 1 else ""
        for record in read_records(data):
            found = _check(record, prefix, kind, policy)
            findings += found
            if any(f.reason != "warning" for f in found):
                invalid += 1
            else:
                valid += 1
    warnings = sum(f.reason == "warning" for f in findings)
    if as_json:
        document = {
            "events": valid + invalid,
            "valid": valid,
            "invalid": invalid,
            "warnings": warnings,
            "problems": [asdict(f) for f in findings],
        }
        typer.echo(json.dumps(document, indent=2))
        raise typer.Exit(1 if invalid or not valid else 0)
    for finding in findings:
        console.print(finding.line())
    _summarise(valid, invalid, warnings)


@dataclass(frozen=True)
class Finding:
    location: str
    path: str
    message: str
    reason: str
    """A reject reason code, or "warning" (an unknown field, ignored)."""

    def line(self) -> Text:
        # Text, not markup: messages contain brackets and user data that rich must not read.
        if self.reason == "warning":
            return Text.assemble(
                (self.location, "bold"), ": ", ("warning", "yellow"), f": {self.message}"
            )
        return Text.assemble(
            (self.location, "bold"), ": ", (self.path, "cyan"), ": ", self.message, " ",
            (f"[{self.reason}]", "red"),
        )  # fmt: skip


def _check(
    record: SourceRecord, prefix: str, kind: EventKind | None, policy: ValidationPolicy
) -> list[Finding]:
    """The problems of one record (none: valid), and its unknown fields as warnings."""
    location = prefix + record.location
    try:
        parsed = parse_raw_event(record.value, kind, policy)
    except ContractError as exc:
        return [Finding(location, p.path, p.message, str(p.reason)) for p in exc.problems]
    return [
        Finding(location, path, f"unknown field ignored: {path}", "warning")
        for path in parsed.unknown_fields
    ]


def _summarise(valid: int, invalid: int, warnings: int) -> None:
    total = valid + invalid
    if total == 0:
        console.print(Text("no events found", style="red"))
        raise typer.Exit(1)
    summary = f"{_count(total, 'event')}: {valid} valid, {invalid} invalid"
    if warnings:
        summary += f", {_count(warnings, 'warning')}"
    console.print(Text(summary, style="red" if invalid else "green"))
    if invalid:
        raise typer.Exit(1)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def read_records(data: bytes) -> Iterator[SourceRecord]:
    """The events of a file (``rapport validate``, ``rapport send``): one JSON document (an
    event or an array of events), or NDJSON."""
    stripped = data.strip()
    if not stripped:
        return
    try:
        document = json.loads(stripped.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        if _is_ndjson(data) or isinstance(exc, UnicodeDecodeError):
            yield from _lines(data)
        else:  # one JSON document, broken: report it once, where the parser stopped
            line = exc.lineno if isinstance(exc, json.JSONDecodeError) else 1
            yield SourceRecord(f"line {line}", stripped)
        return
    if isinstance(document, list):
        for index, item in enumerate(document, start=1):
            yield SourceRecord(f"item {index}", json.dumps(item).encode())
    else:
        yield SourceRecord("line 1", stripped)


def _is_ndjson(data: bytes) -> bool:
    """Whether the first non-blank line is a JSON document of its own."""
    for line in data.splitlines():
        if line.strip():
            try:
                json.loads(line)
            except (UnicodeDecodeError, json.JSONDecodeError):
                return False
            return True
    return False


def _lines(data: bytes) -> Iterator[SourceRecord]:
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            yield SourceRecord(f"line {number}", line)
