from __future__ import annotations

import errno
import json
import logging
import sys

import pytest

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


class Transport:
    """Stands for kafka-python's transport in a log record's arguments."""

    def __init__(self, closing: bool) -> None:
        self.closing = closing

    def is_closing(self) -> bool:
        return self.closing

    def __str__(self) -> str:
        return "<transport>"


def _transport_error(error: Exception | None, closing: bool = True) -> logging.LogRecord:
    exc_info = None
    if error is not None:
        try:
            raise error
        except Exception:
            exc_info = sys.exc_info()
    return logging.LogRecord(
        "kafka.net.transport",
        logging.ERROR,
        __file__,
        1,
        "%s: Error receiving network data closing socket"
        if error is not None
        else "%s: socket disconnected",
        (Transport(closing),),
        exc_info,
    )


def test_errors_of_a_connection_the_client_is_closing_are_dropped() -> None:
    # kafka-python 3.0 closes sockets from the caller's thread while its network thread may be
    # about to use one: EBADF, EPIPE, None for a socket, or an empty read, logged at ERROR
    # though the client is only closing.
    closed_sockets = ClosedSocketFilter()
    for error in (
        OSError(errno.EBADF, "Bad file descriptor"),
        BrokenPipeError(errno.EPIPE, "Broken pipe"),
        AttributeError("'NoneType' object has no attribute 'recv'"),
        None,  # "socket disconnected": recv after shutdown() read no bytes
    ):
        assert not closed_sockets.filter(_transport_error(error)), error


def test_errors_of_a_live_connection_still_log() -> None:
    closed_sockets = ClosedSocketFilter()
    reset = _transport_error(ConnectionResetError(errno.ECONNRESET, "reset"), closing=False)
    assert closed_sockets.filter(reset)
    assert reset.exc_info is not None
    assert closed_sockets.filter(_transport_error(None, closing=False))
    assert closed_sockets.filter(_transport_error(OSError(errno.EBADF, "bad"), closing=False))
    # A bug while closing is not a closing race: it still logs.
    assert closed_sockets.filter(_transport_error(ValueError("a bug elsewhere")))


def test_a_dropped_closing_error_does_not_hold_back_a_real_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The repeat filter lets a template through once per 10 s: a dropped record must not use
    # up that turn, so the closing filter comes first on the handler.
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("kafka").level
    try:
        configure_logging(LogFormat.TEXT, "INFO", "scoring")
        [handler] = root.handlers
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(sys.stderr)  # capsys's stream
        handler.handle(_transport_error(OSError(errno.EBADF, "Bad file descriptor")))
        handler.handle(
            _transport_error(ConnectionResetError(errno.ECONNRESET, "reset"), closing=False)
        )
        printed = capsys.readouterr().err
        assert "Bad file descriptor" not in printed
        assert "ConnectionResetError" in printed
    finally:
        root.handlers[:], _, _ = saved
        root.setLevel(saved[1])
        logging.getLogger("kafka").setLevel(saved[2])
