"""The reading commands' --json output, --version and one-line errors, without a broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[3] / "schemas" / "examples"


@pytest.fixture(autouse=True)
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RAPPORT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("RAPPORT_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    return tmp_path


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("rapport ")


def test_status_json_when_nothing_runs() -> None:
    result = runner.invoke(app, ["status", "--json", "--sample-seconds", "0"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["up"] is False
    assert report["healthy"] is False
    assert report["broker"]["running"] is False
    assert report["services"] == []


def test_kafka_status_json_when_nothing_runs() -> None:
    result = runner.invoke(app, ["kafka", "status", "--json"])
    assert result.exit_code == 1
    status = json.loads(result.stdout)
    assert status["running"] is False
    assert status["has_data"] is False


def test_send_json_lists_rejections_with_ingest_reasons(tmp_path: Path) -> None:
    file = tmp_path / "bad.ndjson"
    file.write_text('{"type": "purchase"}\n[1,\n')
    result = runner.invoke(app, ["send", "--json", str(file)])
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["sent"] == 0
    assert summary["rejected"] == 2
    assert summary["rejected_by_reason"] == {"missing_field": 1, "invalid_json": 1}
    assert summary["rejections"][0]["location"] == f"{file}:line 1"


def test_a_command_without_a_broker_says_so_in_one_line() -> None:
    result = runner.invoke(app, ["dlq", "stats", "--json"])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "rapport up" in result.stderr


def test_an_unreachable_broker_is_one_line_not_a_traceback() -> None:
    result = runner.invoke(app, ["dlq", "stats", "--bootstrap", "127.0.0.1:1"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot reach Kafka at 127.0.0.1:1" in lines[0]


def test_send_without_events_to_send_needs_no_broker(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["send", "--json", str(empty)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["sent"] == 0


def test_validate_takes_several_files_and_names_them(tmp_path: Path) -> None:
    future = tmp_path / "future.json"
    document = json.loads((EXAMPLES / "upstream" / "purchase.json").read_text())
    future.write_text(json.dumps({**document, "occurred_at": "2031-01-01T00:00:00Z"}))
    result = runner.invoke(app, ["validate", str(EXAMPLES / "upstream" / "chat.json"), str(future)])
    assert result.exit_code == 1
    assert f"{future}: line 1: occurred_at:" in result.output
    assert "years" in result.output
    assert " days, " not in result.output
    assert "2 events: 1 valid, 1 invalid" in result.output


def test_validate_json_lists_problems_and_warnings(tmp_path: Path) -> None:
    file = tmp_path / "events.ndjson"
    good = json.loads((EXAMPLES / "upstream" / "chat.json").read_text())
    file.write_text(json.dumps({**good, "colour": "red"}) + "\n" + '{"type": "purchase"}\n')
    result = runner.invoke(app, ["validate", "--json", str(file)])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert (document["events"], document["valid"], document["invalid"]) == (2, 1, 1)
    assert document["warnings"] == 1
    reasons = {p["reason"] for p in document["problems"]}
    assert reasons == {"warning", "missing_field"}
    assert all(p["location"].startswith("line ") for p in document["problems"])


def test_help_shows_no_type_after_a_flag() -> None:
    from typer.testing import CliRunner

    from services.cli import app

    result = CliRunner().invoke(app, ["dlq", "replay", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "--dry-run" in result.output
    assert "<bool>" not in result.output
    assert "TIME" in result.output  # value options keep their metavars
