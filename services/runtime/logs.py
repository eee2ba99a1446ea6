"""Structured logging: human-readable text by default, one JSON object per line on request."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from services.runtime.settings import LogFormat

# Attributes every LogRecord has; anything else was passed through ``extra=`` and is data.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(
            {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and k[0] != "_"}
        )
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(fmt: LogFormat, level: str, service: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt is LogFormat.JSON:
        handler.setFormatter(JsonFormatter())
    else:
        prefix = f"[{service}] " if service else ""
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)-7s {prefix}%(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # kafka-python logs every connection and rebalance step at INFO, and the same warning many
    # times a second while a broker or a topic is gone: one line per kind per 10 s is enough.
    # (A filter on the handler: a logger's own filters do not see its children's records.)
    logging.getLogger("kafka").setLevel(max(logging.WARNING, root.level))
    # First: a dropped record must not count as shown for the repeat filter, or a real error
    # with the same template would be held back behind it.
    handler.addFilter(ClosedSocketFilter())
    handler.addFilter(RepeatFilter(interval_seconds=10.0, prefix="kafka"))
    # Alembic narrates every plugin it loads at INFO, on every start.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))


class ClosedSocketFilter(logging.Filter):
    """Drops kafka-python's errors about a connection that the client's own ``close()`` is
    closing under its network thread.

    Why: kafka-python 3.0 closes a client's sockets from the thread that calls ``close()``: it
    marks the transport closing, shuts the socket down, sets it to None and closes it. The
    client's network thread may meanwhile be past the selector and about to ``recv`` or
    ``send``. Depending on the instant, that call reads nothing ("socket disconnected"), fails
    (EPIPE, EBADF) or finds no socket at all (an AttributeError on None), and the library logs
    it at ERROR, mostly with a traceback, although nothing is wrong: the client is closing.

    Only records that name a transport which says it is closing (``is_closing()``, set before
    any of the above) are dropped. A broker that resets a live connection, and any error of a
    transport that is not closing, still log as the library meant. (kafka-python's DEBUG lines
    are never shown, see ``configure_logging``, so there is no level to demote them to.)"""

    _LOGGER = "kafka.net.transport"

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != self._LOGGER or not isinstance(record.args, tuple) or not record.args:
            return True
        is_closing = getattr(record.args[0], "is_closing", None)
        if not callable(is_closing) or not is_closing():
            return True
        if record.exc_info:
            return not isinstance(record.exc_info[1], OSError | AttributeError)
        return record.msg != _SOCKET_DISCONNECTED


_SOCKET_DISCONNECTED: Final = "%s: socket disconnected"
"""kafka-python's template for a read of no bytes (``kafka/net/transport.py``)."""


class RepeatFilter(logging.Filter):
    """Lets a message template of the loggers under ``prefix`` through at most once per
    interval (per logger); other loggers' records pass untouched."""

    def __init__(
        self, interval_seconds: float, prefix: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._prefix = prefix
        self._interval = interval_seconds
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != self._prefix and not record.name.startswith(self._prefix + "."):
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            return False
        self._last[key] = now
        return True


class RateLimitedLog:
    """Logs one kind of error at most once per interval, with how many were suppressed.

    A broker or a topic that is gone fails every send and every poll; a line each time would
    bury everything else an operator needs to read (and fill the disk).
    """

    def __init__(
        self,
        logger: logging.Logger,
        interval_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval_seconds
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def _due(self, key: str) -> int | None:
        """None while suppressed; else how many were suppressed since the last line."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._suppressed.pop(key, 0)

    def _log(self, level: int, key: str, msg: str, args: tuple[Any, ...], exc: bool) -> None:
        suppressed = self._due(key)
        if suppressed is None:
            return
        if suppressed:
            msg += f" ({suppressed} more like it in the last {self._interval:g}s)"
        self._logger.log(level, msg, *args, exc_info=exc, stacklevel=3)

    def warning(self, key: str, msg: str, *args: Any) -> None:
        self._log(logging.WARNING, key, msg, args, exc=False)

    def error(self, key: str, msg: str, *args: Any) -> None:
        self._log(logging.ERROR, key, msg, args, exc=False)

    def exception(self, key: str, msg: str, *args: Any) -> None:
        self._log(logging.ERROR, key, msg, args, exc=True)
