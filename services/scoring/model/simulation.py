"""Synthetic customers with hidden, drifting trust and loyalty, to check that the scores rank
them right.

Each customer has a hidden trust and a hidden loyalty in [0, 1] that follow bounded (reflected)
Gaussian random walks, one step per day; loyalty is pulled a little towards trust. Every day the
customer may emit events whose odds depend on the hidden values *of that day*: good vs bad
outcomes (deliveries, promises, support cases, messages) on trust; NPS, CSAT, CES, stars,
sentiment, emotions and aspects on a mix of both; purchases, engagement, renewals vs
cancellations, referrals and loyalty programme events on loyalty. A company-wide privacy
incident (day 200, 10 % of customers, lowers their hidden trust) and a price increase (day 180)
are common shocks.

``evaluate`` folds every customer's events, in a shuffled order (events arrive out of order),
and reports Spearman's rank correlation between the published scores and the hidden values at
the end. Run ``python -m services.scoring.model.simulation`` for the report. Only the standard
library: ``random`` with a fixed seed, so runs are reproducible.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from services.scoring.model.config import ScoringConfig
from services.scoring.model.scores import scores
from services.scoring.model.signal import Signal, SignalKind
from services.scoring.model.state import CustomerState, apply

START: Final = datetime(2025, 1, 1, tzinfo=UTC)
_TRUST_ASPECTS: Final = ("communication_transparency", "delivery_reliability", "customer_service")
_LOYALTY_ASPECTS: Final = ("brand_connection", "product_quality", "price_value")
_TEXT_KINDS: Final = (
    SignalKind.FREE_COMMENT,
    SignalKind.SUPPORT_TICKET,
    SignalKind.CHAT,
    SignalKind.SOCIAL_MENTION,
    SignalKind.SURVEY_COMMENT,
)


@dataclass(frozen=True, slots=True)
class SimulationParams:
    customers: int = 1000
    days: int = 365
    seed: int = 20251122
    trust_step: float = 0.02
    """Standard deviation of the daily step of hidden trust (a year: about 0.38)."""
    loyalty_step: float = 0.02
    """Standard deviation of the daily step of hidden loyalty."""
    loyalty_pull: float = 0.005
    """Daily pull of hidden loyalty towards hidden trust."""
    interactions_per_week: float = 1.5
    """Trust-relevant interactions (deliveries, promises, support cases, messages)."""
    feedback_per_month: float = 2.0
    """Surveys, reviews, comments, conversations, mentions."""
    shuffle: bool = True
    """Fold each customer's events in a random order instead of event-time order."""


@dataclass(frozen=True, slots=True)
class SimulatedCustomer:
    customer_id: str
    hidden_trust: float
    """At the end of the simulation."""
    hidden_loyalty: float
    signals: tuple[Signal, ...]
    """In event-time order."""


@dataclass(frozen=True, slots=True)
class SimulationReport:
    customers: int
    signals: int
    trust_spearman: float
    loyalty_spearman: float
    seconds: float
    """Wall time of the fold and scoring (not the generation)."""

    def __str__(self) -> str:
        return (
            f"{self.customers} customers, {self.signals} events: "
            f"Spearman trust {self.trust_spearman:.3f}, loyalty {self.loyalty_spearman:.3f} "
            f"(fold + scores in {self.seconds:.1f} s)"
        )


def _reflect(value: float) -> float:
    """Reflect into [0, 1] (a bounded random walk)."""
    while value < 0.0 or value > 1.0:
        value = -value if value < 0.0 else 2.0 - value
    return value


def _clip(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


class _Customer:
    """The mutable generator of one customer's events."""

    def __init__(self, index: int, rng: random.Random, params: SimulationParams) -> None:
        self.rng = rng
        self.params = params
        self.customer_id = f"sim-{index:05d}"
        self.trust = rng.uniform(0.05, 0.95)
        self.loyalty = _clip(0.5 * self.trust + 0.5 * rng.uniform(0.0, 1.0), 0.0, 1.0)
        self.subscribed = rng.random() < 0.7
        self.term_phase = rng.randrange(90)
        self.enrolled = False
        self.signals: list[Signal] = []

    def emit(self, day: int, kind: SignalKind, **fields: Any) -> None:
        """An event at a random moment of ``day``."""
        seconds = self.rng.uniform(0.0, 86_400.0)
        occurred = START + timedelta(days=day, seconds=seconds)
        event_id = f"{self.customer_id}-{len(self.signals):05d}"
        self.signals.append(Signal(event_id, self.customer_id, occurred, kind, **fields))

    def step(self, day: int) -> None:
        rng = self.rng
        params = self.params
        if day == 200 and rng.random() < 0.1:
            self.trust = _reflect(self.trust - 0.15)
            self.emit(day, SignalKind.PRIVACY_INCIDENT, qualifier="high")
        if day == 180 and self.subscribed:
            self.loyalty = _reflect(self.loyalty - 0.02)
            self.emit(day, SignalKind.PRICE_CHANGE, amount=33.0, previous_amount=30.0)
        if rng.random() < params.interactions_per_week / 7.0:
            self._interaction(day)
        if rng.random() < params.feedback_per_month / 30.0:
            self._feedback(day)
        self._behaviour(day)
        self.trust = _reflect(self.trust + rng.gauss(0.0, params.trust_step))
        pull = params.loyalty_pull * (self.trust - self.loyalty)
        self.loyalty = _reflect(self.loyalty + pull + rng.gauss(0.0, params.loyalty_step))

    def _interaction(self, day: int) -> None:
        rng = self.rng
        good = rng.random() < 0.05 + 0.9 * self.trust
        roll = rng.random()
        if roll < 0.35:
            if good:
                self.emit(day, SignalKind.DELIVERY_ON_TIME)
            elif rng.random() < 0.7:
                self.emit(day, SignalKind.DELIVERY_LATE)
            else:
                self.emit(day, SignalKind.DELIVERY_FAILED)
        elif roll < 0.5:
            self.emit(day, SignalKind.PROMISE_MADE)
            later = day + rng.randrange(1, 4)
            kind = SignalKind.PROMISE_KEPT if good else SignalKind.PROMISE_BROKEN
            self.emit(later, kind)
        elif roll < 0.75:
            wait = rng.uniform(60, 1200) if good else rng.uniform(600, 7200)
            self.emit(day, SignalKind.SUPPORT_CASE_OPENED, wait_seconds=wait)
            hours = rng.uniform(1, 20) if good else rng.uniform(30, 240)
            resolved = day + int(hours // 24)
            self.emit(resolved, SignalKind.SUPPORT_CASE_RESOLVED, resolution_seconds=hours * 3600)
            if not good and rng.random() < 0.5:
                self.emit(resolved + rng.randrange(1, 6), SignalKind.SUPPORT_CASE_REOPENED)
        elif roll < 0.95:
            purpose = "service_notice" if good else "marketing"
            self.emit(day, SignalKind.COMPANY_MESSAGE, qualifier=purpose)
        elif good:
            self.emit(day, SignalKind.FEEDBACK_RESPONSE)
        else:
            self.emit(day, SignalKind.BILLING_ERROR, amount=rng.uniform(5, 80))

    def _text(self, mood: float) -> dict[str, Any]:
        """Sentiment, emotions and maybe an aspect of a text written in ``mood`` (0-1)."""
        rng = self.rng
        compound = round(_clip(2.0 * mood - 1.0 + rng.gauss(0.0, 0.35), -1.0, 1.0), 4)
        emotions: dict[str, float] = {}
        if compound > 0.2:
            emotions["joy"] = round(compound * rng.uniform(0.4, 1.0), 3)
            emotions["satisfaction"] = round(compound * rng.uniform(0.4, 1.0), 3)
        elif compound < -0.2:
            emotions["frustration"] = round(-compound * rng.uniform(0.4, 1.0), 3)
            emotions["disappointment"] = round(-compound * rng.uniform(0.2, 0.8), 3)
            if compound < -0.6:
                emotions["anger"] = round(-compound * rng.uniform(0.2, 0.8), 3)
        aspects: dict[str, float] = {}
        if rng.random() < 0.35:
            if rng.random() < 0.5:
                aspect, driver = rng.choice(_TRUST_ASPECTS), self.trust
            else:
                aspect, driver = rng.choice(_LOYALTY_ASPECTS), self.loyalty
            aspects[aspect] = round(_clip(2 * driver - 1 + rng.gauss(0.0, 0.3), -1.0, 1.0), 4)
        return {"sentiment": compound, "emotions": emotions, "aspects": aspects}

    def _feedback(self, day: int) -> None:
        rng = self.rng
        roll = rng.random()
        text_odds = 0.5
        if roll < 0.2:
            mood = 0.6 * self.trust + 0.4 * self.loyalty
            nps = round(_clip(10.0 * mood + rng.gauss(0.0, 1.5), 0.0, 10.0))
            fields: dict[str, Any] = {"nps": nps}
        elif roll < 0.35:
            mood = 0.7 * self.trust + 0.3 * self.loyalty
            fields = {"csat": round(_clip(1.0 + 4.0 * mood + rng.gauss(0.0, 0.7), 1.0, 5.0))}
        elif roll < 0.45:
            mood = self.trust
            fields = {"ces": round(_clip(1.0 + 6.0 * mood + rng.gauss(0.0, 1.0), 1.0, 7.0))}
        elif roll < 0.6:
            mood = 0.5 * self.trust + 0.5 * self.loyalty
            fields = {"stars": round(_clip(1.0 + 4.0 * mood + rng.gauss(0.0, 0.8), 1.0, 5.0))}
            text_odds = 0.8
        else:
            mood = 0.6 * self.trust + 0.4 * self.loyalty
            fields = {}
            text_odds = 1.0
        kind = {
            "nps": SignalKind.NPS,
            "csat": SignalKind.CSAT,
            "ces": SignalKind.CES,
            "stars": SignalKind.REVIEW,
        }.get(next(iter(fields), ""), rng.choice(_TEXT_KINDS))
        if rng.random() < text_odds:
            fields.update(self._text(mood))
        self.emit(day, kind, **fields)

    def _behaviour(self, day: int) -> None:
        rng = self.rng
        loyalty = self.loyalty
        if rng.random() < 0.004 + 0.05 * loyalty:
            amount = round(rng.lognormvariate(math.log(40.0), 0.6) * (0.5 + loyalty), 2)
            self.emit(day, SignalKind.PURCHASE, amount=amount)
        if rng.random() < 0.01 + 0.1 * loyalty:
            self.emit(day, SignalKind.ENGAGEMENT, count=rng.randint(1, 3))
        if day % 90 == self.term_phase:
            if self.subscribed:
                if rng.random() < 0.25 + 0.7 * loyalty:
                    self.emit(day, SignalKind.RENEWAL, amount=30.0)
                else:
                    self.subscribed = False
                    self.emit(day, SignalKind.CANCELLATION, qualifier="customer")
            elif rng.random() < 0.3 * loyalty:
                self.subscribed = True
                self.emit(day, SignalKind.RENEWAL, amount=30.0)
        if rng.random() < 0.003 * loyalty * loyalty:
            self.emit(day, SignalKind.REFERRAL)
        if rng.random() < 0.004 * loyalty:
            self.emit(day, SignalKind.RECOMMENDATION)
        if not self.enrolled and rng.random() < 0.003 * loyalty:
            self.enrolled = True
            self.emit(day, SignalKind.LOYALTY_ENROLLED)
        elif self.enrolled and rng.random() < 0.002 * (1.0 - loyalty):
            self.enrolled = False
            self.emit(day, SignalKind.LOYALTY_LEFT)


def simulate(params: SimulationParams | None = None) -> list[SimulatedCustomer]:
    """Generate the customers and their events (deterministic for a given seed)."""
    params = params or SimulationParams()
    rng = random.Random(params.seed)
    result = []
    for index in range(params.customers):
        customer = _Customer(index, rng, params)
        for day in range(params.days):
            customer.step(day)
        # Promise and support follow-ups may fall after the last day: keep the window.
        end = START + timedelta(days=params.days)
        signals = sorted(
            (s for s in customer.signals if s.occurred_at < end), key=lambda s: s.occurred_at
        )
        result.append(
            SimulatedCustomer(
                customer.customer_id, customer.trust, customer.loyalty, tuple(signals)
            )
        )
    return result


def _ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError("need two sequences of the same length, at least 2")
    n = len(xs)
    mean_x = sum(xs) / n
    mean_y = sum(ys) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    var_x = sum((x - mean_x) ** 2 for x in xs)
    var_y = sum((y - mean_y) ** 2 for y in ys)
    if var_x == 0 or var_y == 0:
        raise ValueError("a constant sequence has no rank correlation")
    return cov / math.sqrt(var_x * var_y)


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's rank correlation: Pearson's correlation of the (average) ranks."""
    return pearson(_ranks(xs), _ranks(ys))


def evaluate(
    config: ScoringConfig | None = None,
    params: SimulationParams | None = None,
    customers: Sequence[SimulatedCustomer] | None = None,
) -> SimulationReport:
    """Fold every customer's events and rank the scores against the hidden values."""
    config = config or ScoringConfig.load()
    params = params or SimulationParams()
    population = customers if customers is not None else simulate(params)
    shuffler = random.Random(params.seed + 1)
    trust: list[float] = []
    loyalty: list[float] = []
    started = time.perf_counter()
    count = 0
    for customer in population:
        signals = list(customer.signals)
        if params.shuffle:
            shuffler.shuffle(signals)
        state = CustomerState.empty(customer.customer_id)
        for signal in signals:
            state = apply(state, signal, config)
        result = scores(state, config)
        trust.append(result.trust)
        loyalty.append(result.loyalty)
        count += len(signals)
    seconds = time.perf_counter() - started
    return SimulationReport(
        customers=len(population),
        signals=count,
        trust_spearman=spearman(trust, [c.hidden_trust for c in population]),
        loyalty_spearman=spearman(loyalty, [c.hidden_loyalty for c in population]),
        seconds=seconds,
    )


def main(argv: Sequence[str] | None = None) -> None:
    defaults = SimulationParams()
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=defaults.customers)
    parser.add_argument("--days", type=int, default=defaults.days)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--config", default=None, help="scoring.yaml to use")
    args = parser.parse_args(argv)
    params = SimulationParams(customers=args.customers, days=args.days, seed=args.seed)
    started = time.perf_counter()
    report = evaluate(ScoringConfig.load(args.config), params)
    print(report)
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
