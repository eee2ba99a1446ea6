from __future__ import annotations

import json
import logging

from services.runtime.logs import JsonFormatter


def test_json_log_lines_carry_message_level_and_extra_fields() -> None:
    record = logging.LogRecord("rapport.x", logging.WARNING, __file__, 1, "retry %d", (3,), None)
    record.service = "scoring"
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "retry 3"
    assert line["level"] == "warning"
    assert line["logger"] == "rapport.x"
    assert line["service"] == "scoring"
    assert line["ts"].endswith("+00:00")
