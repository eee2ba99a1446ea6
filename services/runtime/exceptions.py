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
    """The process must stop, e.g. another instance took over our transactional id."""
