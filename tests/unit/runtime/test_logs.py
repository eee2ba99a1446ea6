from __future__ import annotations

import errno
import json
import logging
import sys

from services.runtime.logs import ClosedSocketFilter, JsonFormatter, configure_logging
from services.runtime.settings import LogFormat


def test_json_log_lines_carry_message_level_and_extra_fields() -> None:
    record = logging.LogRecord("rapport.x", logging.WARNING, __file__, 1, "retry %d", (3,), None)
    record.service = "scoring"
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "retry 3"
    assert line["level"] == "warning"
    assert line["logger"] == "rapport.x"
    assert line["service"] == "scoring"
    assert line["ts"].endswith("+00:00")


def _transport_error(error: Exception) -> logging.LogRecord:
    try:
        raise error
    except Exception:
        exc_info = sys.exc_info()
    return logging.LogRecord(
        "kafka.net.transport",
        logging.ERROR,
        __file__,
        1,
        "%s: Error receiving network data closing socket",
        ("<transport>",),
        exc_info,
    )


def test_a_socket_closed_under_the_network_thread_by_close_is_not_an_error_traceback() -> None:
    # kafka-python 3.0 closes sockets from the caller's thread while its network thread may be
    # about to read one: EBADF (or None for a socket), logged with a traceback though the
    # client is only closing.
    closed_sockets = ClosedSocketFilter()
    assert not closed_sockets.filter(_transport_error(OSError(errno.EBADF, "Bad file descriptor")))
    none_socket = AttributeError("'NoneType' object has no attribute 'recv'")
    assert not closed_sockets.filter(_transport_error(none_socket))
    # A connection the broker reset is still the library's error, traceback and all.
    reset = _transport_error(ConnectionResetError(errno.ECONNRESET, "reset"))
    assert closed_sockets.filter(reset)
    assert reset.exc_info is not None
    assert closed_sockets.filter(_transport_error(ValueError("a bug elsewhere")))


def test_logging_drops_closed_socket_errors_on_the_handler() -> None:
    # On the handler, not the logger: a logger's filters do not see its children's records.
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("kafka").level
    try:
        configure_logging(LogFormat.TEXT, "INFO", "scoring")
        assert any(isinstance(f, ClosedSocketFilter) for f in root.handlers[0].filters)
    finally:
        root.handlers[:], _, _ = saved
        root.setLevel(saved[1])
        logging.getLogger("kafka").setLevel(saved[2])
