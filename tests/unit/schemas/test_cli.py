"""``rapport validate`` and ``rapport schemas export``, through the typer objects services/cli.py
mounts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from schemas import export
from services.contract_cli import schemas_app, validate_command

app = typer.Typer()
app.add_typer(schemas_app, name="schemas")
app.command("validate")(validate_command)
runner = CliRunner()

VALID = {
    "type": "survey_nps",
    "event_id": "q:1",
    "customer_id": "cust-1",
    "occurred_at": "2026-03-01T10:00:00Z",
    "source": "qualtrics",
    "score": 9,
}


def ndjson(*events: object) -> str:
    return "".join(
        (event if isinstance(event, str) else json.dumps(event)) + "\n" for event in events
    )


def test_validate_reports_each_invalid_line_with_path_and_reason(tmp_path: Path) -> None:
    missing_customer = {k: v for k, v in VALID.items() if k != "customer_id"}
    file = tmp_path / "events.ndjson"
    file.write_text(
        ndjson(VALID, missing_customer, "", {**VALID, "score": 11, "colour": "red"}, "{oops")
    )

    result = runner.invoke(app, ["validate", str(file)])

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "line 2: customer_id: required field is missing [missing_field]" in lines
    assert (
        "line 4: score: input should be less than or equal to 10 (got 11) [schema_violation]"
        in lines
    )
    assert any(line.startswith("line 5: <root>: not valid JSON") for line in lines)
    assert lines[-1] == "4 events: 1 valid, 3 invalid"


def test_validate_warns_about_unknown_fields_and_passes(tmp_path: Path) -> None:
    file = tmp_path / "events.ndjson"
    file.write_text(ndjson(VALID, {**VALID, "event_id": "q:2", "colour": "red"}))

    result = runner.invoke(app, ["validate", str(file)])

    assert result.exit_code == 0, result.output
    assert "line 2: warning: unknown field ignored: colour" in result.output
    assert result.output.splitlines()[-1] == "2 events: 2 valid, 0 invalid, 1 warning"


def test_validate_reads_a_json_array_and_checks_the_kind(tmp_path: Path) -> None:
    file = tmp_path / "events.json"
    file.write_text(json.dumps([VALID, VALID], indent=2))

    assert runner.invoke(app, ["validate", str(file)]).exit_code == 0
    wrong_topic = runner.invoke(app, ["validate", "--kind", "interaction", str(file)])
    assert wrong_topic.exit_code == 1
    assert "item 2: type: 'survey_nps' is a feedback event" in wrong_topic.output


def test_validate_accepts_every_committed_example() -> None:
    for name in ("purchase", "chat", "review", "erasure_request"):
        result = runner.invoke(app, ["validate", str(export.example_path(name))])
        assert result.exit_code == 0, result.output


def test_validate_reads_standard_input() -> None:
    result = runner.invoke(app, ["validate", "-"], input=ndjson(VALID))
    assert result.exit_code == 0
    assert "1 event: 1 valid, 0 invalid" in result.output


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_validate_fails_on_a_file_without_events(tmp_path: Path, content: str) -> None:
    file = tmp_path / "empty.ndjson"
    file.write_text(content)
    result = runner.invoke(app, ["validate", str(file)])
    assert result.exit_code == 1
    assert "no events found" in result.output


def test_validate_applies_the_text_cap_option(tmp_path: Path) -> None:
    file = tmp_path / "long.ndjson"
    file.write_text(ndjson({**VALID, "text": "x" * 50}))
    result = runner.invoke(app, ["validate", "--max-text-chars", "10", str(file)])
    assert result.exit_code == 1
    assert "[text_too_long]" in result.output


def test_export_check_passes_on_committed_artifacts() -> None:
    result = runner.invoke(app, ["schemas", "export", "--check"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
