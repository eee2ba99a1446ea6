"""Errors the runtime understands. Domain code raises these; the loop decides what happens next."""

from __future__ import annotations


class RapportError(Exception):
    """Base of every error Rapport raises on purpose."""


class PermanentError(RapportError):
    """The record can never be processed as it is: it goes to the dead-letter topic.

    ``reason`` is a stable machine-readable code (``invalid_json``, ``schema_violation``, ...) that
    operators filter and replay by; the message is for the person reading the dead letter.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class TransientError(RapportError):
    """A dependency is unavailable (broker, database): retry the same records later, never skip."""


class FatalError(RapportError):
    """The process must stop, e.g. another instance took over our transactional id.

    ``exit_code`` is the process's exit status (sysexits.h), documented in docs/operations.md:
    a supervisor may restart on 75, while 78 and 65 need a person to act first.
    """

    exit_code: int = 75  # EX_TEMPFAIL: a restart may succeed (e.g. fenced by a newer instance)


class ConfigurationError(FatalError):
    """Settings or environment are wrong (a bad value, a port in use, a non-durable database):
    restarting alone will not help."""

    exit_code = 78  # EX_CONFIG


class StateConflictError(FatalError):
    """Stored state disagrees with the world it describes (a recreated topic, another scoring
    configuration): processing on would skip or double-count events. A person must choose the
    remedy the message names."""

    exit_code = 65  # EX_DATAERR
