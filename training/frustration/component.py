"""The trained frustration component as its evaluation applies it (``PREREGISTRATION.md``).

It did not pass its pre-registered evaluation (``results.md``), so the annotator does not run
it: this module applies the weights after the annotator, with the decision the pre-registration
fixed (frustrated when the model's probability is at least the threshold, whatever the rules
said; nothing else changes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from services.sentiment.cx import CxAnnotator
from services.sentiment.cx.results import TextAnnotation

# The rules' facts the component reads besides the token keys, in the weights file's order.
FACTS: Final[tuple[str, ...]] = ("negative", "positive", "rules", "compound")
LABEL: Final = "frustration"


def facts_of(annotation: TextAnnotation) -> tuple[float, float, float, float]:
    """What the rules' reading says, as FACTS' values."""
    return (
        float(annotation.label == "negative"),
        float(annotation.label == "positive"),
        float(LABEL in annotation.emotions),
        annotation.compound,
    )


@dataclass(frozen=True, slots=True)
class FrustrationComponent:
    """``logit = bias + sum(weights[key] per token) + sum(facts[name] * value)``."""

    bias: float
    threshold: float
    facts: Mapping[str, float]
    weights: Mapping[str, float]

    @classmethod
    def load(cls, path: Path) -> FrustrationComponent:
        document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        if document.get("family") != "frustration_model" or set(document["facts"]) != set(FACTS):
            raise ValueError(f"{path}: not a frustration component's weights")
        return cls(
            bias=float(document["bias"]),
            threshold=float(document["threshold"]),
            facts={name: float(document["facts"][name]) for name in FACTS},
            weights={str(k): float(v) for k, v in document["weights"].items()},
        )

    def probability(self, keys: list[str], annotation: TextAnnotation) -> float:
        logit = self.bias + sum(self.weights.get(key, 0.0) for key in keys)
        logit += sum(
            self.facts[name] * value
            for name, value in zip(FACTS, facts_of(annotation), strict=True)
        )
        return 1.0 / (1.0 + math.exp(-logit))

    def emotions(self, annotator: CxAnnotator, text: str) -> frozenset[str]:
        """The annotator's emotions of ``text`` with frustration decided by the component."""
        annotation = annotator.annotate(text)
        others = frozenset(annotation.emotions) - {LABEL}
        if self.probability(annotator.token_keys(text), annotation) >= self.threshold:
            return others | {LABEL}
        return others
