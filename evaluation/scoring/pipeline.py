"""Raw upstream events to scores with the services' own pure functions, in one process.

``ContractPath`` runs a raw record through exactly what the services run, minus Kafka and the
database: ``services.ingest.domain.parse_raw`` (contract validation and normalisation),
``services.sentiment.domain.Annotator`` (no text on a purchase: an empty annotation) and
``services.scoring.signals.to_input`` (currency conversion, the ``Signal``).

``ModelAdapter`` calls the model through its public package, ``services.scoring.model``, and
finds out how the model puts a state at a later time, so that the harness keeps working while
the model gains functions (the "time as an input" work of issue 17): an exported time function
(``TIME_FUNCTIONS``, first found wins) is preferred over ``scores(state, config, as_of=...)``;
``ModelAdapter.time_path`` says which one ran, and the report prints it.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from schemas import EventKind
from services.ingest.domain import parse_raw
from services.scoring.model import CustomerState, Scores, ScoringConfig, Signal
from services.scoring.model.signal import to_us
from services.scoring.signals import to_input
from services.sentiment.domain import Annotator

TIME_FUNCTIONS: Final = ("advance_to", "at_time", "advance_state", "advance")
"""Names of a "state at a later event time" function ``f(state, moment, config)`` the model
package may export, in order of preference; ``moment`` is a datetime, or integer microseconds
if the function's annotation says ``int``."""


class ContractPath:
    """Raw JSON records of the contract -> the ``Signal`` the scoring service folds."""

    def __init__(self, config: ScoringConfig) -> None:
        self._config = config
        self._annotator = Annotator()

    def signal(self, raw: bytes, kind: EventKind, received_at: datetime) -> Signal:
        canonical = parse_raw(raw, kind, now=received_at)
        annotated = self._annotator.annotate(canonical)
        return to_input(annotated, self._config).signal


def _accepts_int(function: Callable[..., Any]) -> bool:
    parameters = list(inspect.signature(function).parameters.values())
    if len(parameters) < 2:
        return False
    annotation = parameters[1].annotation
    return annotation is int or annotation == "int"


@dataclass(frozen=True)
class ModelAdapter:
    config: ScoringConfig
    time_path: str
    """How ``at`` puts a state at a later time, e.g. ``scores(state, config, as_of=T)``."""
    _model: Any
    _time_function: Callable[..., Any] | None

    @classmethod
    def detect(cls, config: ScoringConfig) -> ModelAdapter:
        model = importlib.import_module("services.scoring.model")
        for name in TIME_FUNCTIONS:
            function = getattr(model, name, None)
            if callable(function):
                unit = "microseconds" if _accepts_int(function) else "datetime"
                path = f"scores({name}(state, T [{unit}], config), config)"
                return cls(config, path, model, function)
        if "as_of" in inspect.signature(model.scores).parameters:
            return cls(config, "scores(state, config, as_of=T)", model, None)
        raise RuntimeError("services.scoring.model offers no way to score a state at a time T")

    def fold(self, customer_id: str, signals: Iterable[Signal]) -> CustomerState:
        state: CustomerState = self._model.CustomerState.empty(customer_id)
        for signal in signals:
            state = self._model.apply(state, signal, self.config)
        return state

    def published(self, state: CustomerState) -> Scores:
        """The scores as the service publishes them after the state's latest event."""
        result: Scores = self._model.scores(state, self.config)
        return result

    def at(self, state: CustomerState, moment: datetime) -> Scores:
        """The scores of the same evidence at a later event time ``moment``."""
        function = self._time_function
        if function is None:
            result: Scores = self._model.scores(state, self.config, as_of=moment)
            return result
        argument: Any = moment
        if _accepts_int(function):
            argument = to_us(moment)
        advanced = function(state, argument, self.config)
        if isinstance(advanced, tuple):  # (state, what happened on the way)
            advanced = advanced[0]
        later: Scores = self._model.scores(advanced, self.config)
        return later
