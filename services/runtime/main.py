"""The process entry point of a service: settings, logging, run, and one line on a fatal error.

A supervisor (systemd, Kubernetes, ``rapport up``) reads two things when a process ends: its
exit status and its last log line. Both are stable here: every fatal error is one line in the
configured format (JSON stays JSON), and the status says what kind of failure it was:

* 0: stopped on request (SIGTERM, SIGINT);
* 65: stored state disagrees with the broker or the configuration (``StateConflictError``);
* 70: an unexpected crash (a bug; the traceback is in the line's ``exc`` field in JSON, or
  logged at DEBUG in text);
* 75: must stop but a restart may succeed, e.g. fenced by a newer instance;
* 78: a configuration error (invalid setting, port in use, non-durable database refused).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from pydantic import ValidationError

from services.runtime.exceptions import FatalError
from services.runtime.logs import configure_logging
from services.runtime.settings import LogFormat, Settings

EXIT_CRASH = 70
EXIT_CONFIG = 78

log = logging.getLogger("rapport")


def _settings_error(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"RAPPORT_{where.upper().replace('.', '__')}: {error['msg']}")
    return "invalid settings: " + "; ".join(problems)


def run_main(name: str, run: Callable[[Settings], None]) -> int:
    """Run ``run`` (a service's main, e.g. ``partial(run_service, spec)``) as this process,
    named ``name`` in its logs; returns the exit status."""
    try:
        settings = Settings()
    except ValidationError as exc:
        # The log format is itself a setting: honour the variable if it is readable at all.
        raw_format = os.environ.get("RAPPORT_LOG_FORMAT", "text").strip().lower()
        fmt = LogFormat.JSON if raw_format == LogFormat.JSON else LogFormat.TEXT
        configure_logging(fmt, "INFO", name)
        log.critical("%s", _settings_error(exc), extra={"exit_code": EXIT_CONFIG})
        return EXIT_CONFIG
    configure_logging(settings.log_format, settings.log_level, name)
    try:
        run(settings)
    except FatalError as exc:
        log.critical("%s stopped: %s", name, exc, extra={"exit_code": exc.exit_code})
        return exc.exit_code
    except Exception as exc:
        as_json = settings.log_format is LogFormat.JSON
        log.critical(
            "%s crashed: %r",
            name,
            exc,
            exc_info=exc if as_json else None,
            extra={"exit_code": EXIT_CRASH},
        )
        if not as_json:
            log.debug("traceback of the crash", exc_info=exc)
        return EXIT_CRASH
    return 0
