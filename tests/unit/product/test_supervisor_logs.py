"""The supervisor's merged log stream: JSON records rendered, library chatter dropped."""

from __future__ import annotations

import json

from services.product.supervisor import parse_line


def record(logger: str, level: str, msg: str, **extra: object) -> str:
    return json.dumps(
        {"ts": "2026-03-01T10:00:00.000+00:00", "level": level, "logger": logger, "msg": msg}
        | extra
    )


def test_a_json_record_becomes_a_line_with_service_level_and_message() -> None:
    line = parse_line("scoring", record("services.scoring.service", "info", "scoring ready"))
    assert (line.service, line.level, line.message) == ("scoring", "info", "scoring ready")
    assert not line.is_chatter()
    rendered = line.render().plain
    assert "scoring" in rendered
    assert "INFO" in rendered
    assert rendered.endswith("scoring ready")


def test_library_info_and_event_loop_warnings_are_chatter_but_library_errors_are_not() -> None:
    assert parse_line("ingest", record("kafka.conn", "info", "connected")).is_chatter()
    assert parse_line("ingest", record("alembic.runtime", "info", "Running upgrade")).is_chatter()
    assert parse_line(
        "ingest",
        record("kafka.net.selector", "warning", "Task ran 0.1s. It is blocking the event loop"),
    ).is_chatter()
    assert not parse_line("ingest", record("kafka.conn", "error", "broker down")).is_chatter()


def test_a_library_traceback_is_one_line_in_the_terminal() -> None:
    line = parse_line(
        "ingest", record("kafka.net", "error", "receive failed", exc="Traceback...\nOSError")
    )
    assert line.render(brief=True).plain.endswith("receive failed")
    assert "OSError" in line.render().plain


def test_anything_else_is_shown_as_it_is() -> None:
    line = parse_line("sentiment", "Traceback (most recent call last):\n")
    assert line.level == "error"
    assert line.message == "Traceback (most recent call last):"
