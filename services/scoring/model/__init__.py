"""Rapport's trust and loyalty model: pure functions of events, no database, no Kafka.

::

    config = ScoringConfig.load()                      # services/scoring/config/scoring.yaml
    state = CustomerState.empty("c-42")
    state, explanation = fold(state, signal, config)   # or apply(...) without explanation
    result = scores(state, config)                     # Scores(trust, loyalty, segment, ...)
    row = state.to_row(); state = CustomerState.from_row(row)
    whole = merge(part_a, part_b, config)              # associative and commutative

See ``docs/scoring.md`` for the formulas and the configuration reference.
"""

from services.scoring.model.channels import Channel, Polarity
from services.scoring.model.config import MODEL_VERSION, ScoringConfig
from services.scoring.model.evidence import DriverLabel, Evidence, evidence_for
from services.scoring.model.explain import Driver, Explanation, WindowSummary, fold, summarize
from services.scoring.model.scores import ChurnLevel, Scores, Segment, scores
from services.scoring.model.signal import Signal, SignalKind
from services.scoring.model.state import (
    ABS_TOL,
    REL_TOL,
    CustomerState,
    StateMismatchError,
    apply,
    apply_all,
    merge,
    of_signal,
)

__all__ = [
    "ABS_TOL",
    "MODEL_VERSION",
    "REL_TOL",
    "Channel",
    "ChurnLevel",
    "CustomerState",
    "Driver",
    "DriverLabel",
    "Evidence",
    "Explanation",
    "Polarity",
    "Scores",
    "ScoringConfig",
    "Segment",
    "Signal",
    "SignalKind",
    "StateMismatchError",
    "WindowSummary",
    "apply",
    "apply_all",
    "evidence_for",
    "fold",
    "merge",
    "of_signal",
    "scores",
    "summarize",
]
