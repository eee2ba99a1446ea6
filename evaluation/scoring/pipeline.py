"""Raw upstream events to scores with the services' own pure functions, in one process.

``ContractPath`` runs a raw record through exactly what the services run, minus Kafka and the
database: ``services.ingest.domain.parse_raw`` (contract validation and normalisation),
``services.sentiment.domain.Annotator`` (no text on a purchase: an empty annotation) and
``services.scoring.signals.to_input`` (currency conversion, the ``Signal``).

``ModelAdapter`` calls the model through its package, ``services.scoring.model``, and finds
out how the model scores a state at a later time, so that the harness keeps working while the
model gains functions (the "time as an input" work of issue 17): a time function of the model
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
from services.scoring.signals import ScoringInput, to_input
from services.sentiment.domain import Annotator

TIME_FUNCTIONS: Final = ("scores_at", "advance_to", "at_time", "advance_state", "tick")
"""Names of a "at a later event time" function the model may offer, in order of preference,
looked up in ``services.scoring.model`` and then its ``scores`` and ``state`` modules. It takes
the state first, ``config`` by name and one time argument (a name in ``_TIME_NAMES``; integer
microseconds if its name ends in ``_us`` or its annotation says ``int``, else a datetime), and
returns ``Scores`` or a state (or a tuple whose first item is one of them)."""
_TIME_NAMES: Final = ("as_of_us", "as_of", "at_us", "at", "watermark_us", "watermark", "now_us")
_MODULES: Final = (
    "services.scoring.model",
    "services.scoring.model.scores",
    "services.scoring.model.state",
)


class ContractPath:
    """Raw JSON records of the contract -> the ``Signal`` the scoring service folds."""

    def __init__(self, config: ScoringConfig) -> None:
        self._config = config
        self._annotator = Annotator()

    def input(self, raw: bytes, kind: EventKind, received_at: datetime) -> ScoringInput:
        canonical = parse_raw(raw, kind, now=received_at)
        annotated = self._annotator.annotate(canonical)
        return to_input(annotated, self._config)

    def signal(self, raw: bytes, kind: EventKind, received_at: datetime) -> Signal:
        return self.input(raw, kind, received_at).signal


@dataclass(frozen=True, slots=True)
class _TimeCall:
    function: Callable[..., Any]
    state: str
    moment: str
    microseconds: bool

    @classmethod
    def of(cls, function: Callable[..., Any]) -> _TimeCall | None:
        parameters = inspect.signature(function).parameters
        names = list(parameters)
        moment = next((name for name in names if name in _TIME_NAMES), None)
        if not names or moment is None or "config" not in parameters:
            return None
        annotation = str(parameters[moment].annotation)
        microseconds = moment.endswith("_us") or "int" in annotation
        return cls(function, names[0], moment, microseconds)

    def __call__(self, state: CustomerState, moment: datetime, config: ScoringConfig) -> Any:
        value: Any = to_us(moment) if self.microseconds else moment
        return self.function(**{self.state: state, self.moment: value, "config": config})

    def describe(self) -> str:
        unit = "microseconds" if self.microseconds else "datetime"
        module = self.function.__module__
        return f"{module}.{self.function.__name__}({self.state}, {self.moment}=T [{unit}], config)"


@dataclass(frozen=True)
class ModelAdapter:
    config: ScoringConfig
    time_path: str
    """How ``at`` puts a state at a later time, e.g. ``scores(state, config, as_of=T)``."""
    _model: Any
    _time_call: _TimeCall | None

    @classmethod
    def detect(cls, config: ScoringConfig) -> ModelAdapter:
        model = importlib.import_module("services.scoring.model")
        modules = [importlib.import_module(name) for name in _MODULES]
        for name in TIME_FUNCTIONS:
            for module in modules:
                function = getattr(module, name, None)
                call = _TimeCall.of(function) if callable(function) else None
                if call is not None:
                    return cls(config, call.describe(), model, call)
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
        call = self._time_call
        if call is None:
            result: Scores = self._model.scores(state, self.config, as_of=moment)
            return result
        found = call(state, moment, self.config)
        if isinstance(found, tuple):  # (result, what happened on the way)
            found = found[0]
        if isinstance(found, self._model.CustomerState):
            found = self._model.scores(found, self.config)
        later: Scores = found
        return later


_SERVICE_FUNCTIONS: Final = ("CustomerRecord", "score_event", "advance_to")


@dataclass(frozen=True)
class ServicePath:
    """The scoring service's own per-customer logic, when it moves customers in time.

    A service that only re-scores on events publishes the scores of the last event
    (``ModelAdapter.published``). One with time-driven updates (``services.scoring.domain``
    offering ``score_event`` and ``advance_to(record, watermark_us, config)``, issue 17) also
    publishes when time changed the scores materially; ``held_at`` is what a subscriber then
    holds at T: every event through ``score_event``, one watermark tick at T, and the scores
    of the last update published. A real watermark ticks more often; one tick at T gives the
    same scores up to the service's materiality threshold.
    """

    config: ScoringConfig
    _domain: Any

    @classmethod
    def detect(cls, config: ScoringConfig) -> ServicePath | None:
        try:
            domain = importlib.import_module("services.scoring.domain")
        except ImportError:
            return None
        if not all(hasattr(domain, name) for name in _SERVICE_FUNCTIONS):
            return None
        return cls(config, domain)

    @property
    def description(self) -> str:
        return "services.scoring.domain: score_event per event, then advance_to(record, T)"

    def held_at(
        self, customer_id: str, inputs: Iterable[ScoringInput], moment: datetime
    ) -> Scores | None:
        """The scores of the last update published by T (None: nothing published)."""
        record = self._domain.CustomerRecord.empty(customer_id)
        held: Scores | None = None
        for scoring_input in inputs:
            outcome = self._domain.score_event(record, scoring_input, self.config)
            record = outcome.record
            if getattr(outcome, "publish", True):
                held = outcome.scores
        tick = self._domain.advance_to(record, to_us(moment), self.config)
        if tick is not None and getattr(tick, "update", None) is not None:
            held = tick.after
        return held
