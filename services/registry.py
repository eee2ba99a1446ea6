"""Every process ``rapport run NAME`` starts, by name: an explicit list, so that a typo cannot
import an arbitrary module and a new service is one visible line here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.runtime.service import ServiceSpec
from services.runtime.settings import Settings


def _ingest() -> ServiceSpec:
    from services.ingest.service import SPEC

    return SPEC


def _sentiment() -> ServiceSpec:
    from services.sentiment.service import SPEC

    return SPEC


def _scoring() -> ServiceSpec:
    from services.scoring.service import SPEC

    return SPEC


def _console(settings: Settings) -> None:
    from services.console.service import run_console

    run_console(settings)


@dataclass(frozen=True)
class Runnable:
    name: str
    default_port: int
    """Its /metrics, /healthz and /readyz (and the console's pages), unless RAPPORT_HTTP_PORT."""
    description: str
    spec: Callable[[], ServiceSpec] | None = None
    """A pipeline service: the runtime runs its spec."""
    main: Callable[[Settings], None] | None = None
    """A downstream service with its own main."""


SERVICES: dict[str, Runnable] = {
    runnable.name: runnable
    for runnable in (
        Runnable("ingest", 9101, "validates, normalises and redacts raw events", spec=_ingest),
        Runnable("sentiment", 9102, "annotates texts", spec=_sentiment),
        Runnable("scoring", 9103, "keeps trust and loyalty, publishes updates", spec=_scoring),
        Runnable("console", 9180, "the downstream web console (read-only)", main=_console),
    )
}
PIPELINE: tuple[str, ...] = ("ingest", "sentiment", "scoring")
