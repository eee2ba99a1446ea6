"""``rapport simulate``: the scoring model's simulated customers, sent as real upstream traffic.

The customers, their hidden trust and loyalty and their events come from the scoring model's
own simulator (``services.scoring.model.simulation``); this module only dresses each simulated
``Signal`` as the upstream event a shop, help desk or survey tool would send (the contract's
example of that type, with the signal's numbers, ids and times, and a written text whose tone
follows the simulated sentiment, for the annotator to read), adds a small share of broken
records and duplicates, and paces them at a rate. At the end it reads the published scores as a
downstream team would and measures how well they rank the hidden values: the live twin of the
simulator's offline ``evaluate``.

Evaluation tooling, not production code: nothing in the services imports it.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from schemas.base import EventKind
from schemas.samples import upstream_examples
from schemas.upstream import AnyUpstreamEvent, kind_of_type
from services.scoring.model.signal import Signal, SignalKind
from services.scoring.model.simulation import (
    START,
    SimulatedCustomer,
    SimulationParams,
    simulate,
    spearman,
)

PERSONAS = ("new", "champion", "loyal", "drifting", "angry", "churning")

_TYPE_OF_KIND = {
    SignalKind.NPS: "survey_nps",
    SignalKind.CSAT: "survey_csat",
    SignalKind.CES: "survey_ces",
}

# Phrase banks by topic and tone; a text is an opener, a topic sentence and a closer, so a few
# dozen phrases give thousands of different texts, with negation, intensifiers, emoji and
# customer-service idioms for the annotator's rules to work on.
_TOPICS = {
    "delivery": {
        2: ["The parcel arrived a day early and perfectly packed.", "Delivery was super fast!!"],
        1: ["Delivery was on time.", "The courier was friendly and the box was fine."],
        0: ["The parcel arrived.", "Delivery took the usual three days."],
        -1: ["The delivery was late again.", "The parcel was not delivered on the promised day."],
        -2: [
            "My order never arrived and nobody can tell me where it is.",
            "Delivery failed TWICE.",
        ],
    },
    "support": {
        2: ["The agent solved my problem in five minutes, fantastic service!"],
        1: ["Support answered quickly and was helpful.", "Thanks for sorting out my question."],
        0: ["I contacted support about my invoice.", "I asked support to change my address."],
        -1: ["I waited forty minutes on hold.", "Support did not really understand my issue."],
        -2: ["Nobody called back as promised. Terrible support.", "Still no answer after a week!"],
    },
    "product": {
        2: ["I absolutely love this product :)", "Best purchase I made this year."],
        1: ["The product works well.", "Good quality for the price."],
        0: ["The product is OK.", "It does what it says."],
        -1: ["The product broke after a month.", "Quality is not what it used to be."],
        -2: ["Cheap junk, it fell apart immediately.", "This is the worst product I ever bought."],
    },
    "price": {
        2: ["Great value, honestly a bargain."],
        1: ["The price is fair.", "Happy with the discount."],
        0: ["The price went up a little.", "The plan costs the same as last year."],
        -1: ["It is getting too expensive.", "The new price is not worth it."],
        -2: ["You doubled the price without telling me. Unacceptable.", "A total rip-off."],
    },
    "app": {
        2: ["The new app update is brilliant!", "The budget planner makes my day easier."],
        1: ["The app is easy to use.", "Login works smoothly now."],
        0: ["I use the app every week.", "I changed my settings in the app."],
        -1: ["The app keeps logging me out.", "The app is slow and confusing."],
        -2: ["The app crashed and I lost my data. Awful.", "The app is completely broken!!!"],
    },
}
_OPENERS = {
    2: ["Wow.", "Honestly,", "Just wanted to say:", ""],
    1: ["", "Overall,", "Thanks!"],
    0: ["", "FYI:", "Hello,"],
    -1: ["", "Hmm.", "To be honest,"],
    -2: ["", "Seriously?", "I am so disappointed."],
}
_CLOSERS = {
    2: ["Thank you so much!", "Keep it up!", "I recommend you to all my friends.", ""],
    1: ["Thanks.", "Good job.", ""],
    0: ["", "Regards.", "Let me know if you need anything."],
    -1: ["Please fix this.", "Not great.", "I expected better."],
    -2: ["I want a refund.", "I am cancelling my subscription.", "Never again."],
}


def _tone(sentiment: float | None, rng: random.Random) -> int:
    value = rng.uniform(-0.3, 0.3) if sentiment is None else sentiment
    return (
        2
        if value > 0.6
        else 1
        if value > 0.15
        else 0
        if value > -0.15
        else -1
        if value > -0.6
        else -2
    )


def write_text(sentiment: float | None, rng: random.Random, topic: str | None = None) -> str:
    tone = _tone(sentiment, rng)
    topic = topic or rng.choice(list(_TOPICS))
    parts = [
        rng.choice(_OPENERS[tone]),
        rng.choice(_TOPICS[topic][tone]),
        rng.choice(_CLOSERS[tone]),
    ]
    return " ".join(p for p in parts if p)


def persona(customer: SimulatedCustomer, new_share_cutoff: datetime | None = None) -> str:
    """The hidden persona, from the hidden values at the end (and when the customer started)."""
    first = customer.signals[0].occurred_at if customer.signals else None
    if new_share_cutoff is not None and first is not None and first >= new_share_cutoff:
        return "new"
    trust, loyalty = customer.hidden_trust, customer.hidden_loyalty
    if trust < 0.25:
        return "angry"
    if loyalty < 0.3:
        return "churning"
    if trust > 0.7 and loyalty > 0.7:
        return "champion"
    if loyalty > 0.55:
        return "loyal"
    return "drifting"


@dataclass(frozen=True)
class Outgoing:
    kind: EventKind
    key: bytes | None
    value: bytes
    customer_id: str | None
    scored: bool
    """A valid, first-time event: scoring will count it."""


class EventWriter:
    """Dresses signals as upstream events of the contract."""

    def __init__(self, rng: random.Random, shift: timedelta) -> None:
        self._templates: dict[str, AnyUpstreamEvent] = {
            event.type: event for event in upstream_examples()
        }
        self._rng = rng
        self._shift = shift
        # Per customer: their cases, orders and promises are numbered, so that a delivery names
        # the customer's latest order (the templates' ids would make every customer's orders one
        # order and every promise one promise). A kept or broken promise settles the customer's
        # oldest open one: pairing it with the latest left earlier promises overdue for ever.
        self._cases: dict[str, int] = Counter()
        self._orders: dict[str, int] = Counter()
        self._promises: dict[str, int] = Counter()
        self._open_promises: dict[str, deque[str]] = defaultdict(deque)

    def event(self, signal: Signal) -> AnyUpstreamEvent:
        event_type = _TYPE_OF_KIND.get(signal.kind, signal.kind.value)
        template = self._templates[event_type]
        occurred = signal.occurred_at + self._shift
        moved = occurred - template.occurred_at
        data = {
            name: (value + moved if isinstance(value, datetime) else value)
            for name, value in template.model_dump().items()
        }
        data.update(
            event_id=f"sim:{signal.event_id}", customer_id=signal.customer_id, occurred_at=occurred
        )
        data.update(self._fields(signal, event_type, data, moved))
        return type(template).model_validate(data)

    def _fields(
        self, signal: Signal, event_type: str, data: dict[str, Any], moved: timedelta
    ) -> dict[str, Any]:
        rng = self._rng
        money = None if signal.amount is None else Decimal(f"{signal.amount:.2f}")
        customer = signal.customer_id
        case_id = f"{customer}-case-{self._cases[customer]}"
        match signal.kind:
            case SignalKind.PURCHASE:
                self._orders[customer] += 1
                order = f"{customer}-order-{self._orders[customer]}"
                return {"amount": money or Decimal("30.00"), "currency": "EUR", "order_id": order}
            case SignalKind.RENEWAL | SignalKind.BILLING_ERROR:
                return {"amount": money or Decimal("30.00"), "currency": "EUR"}
            case (
                SignalKind.DELIVERY_ON_TIME | SignalKind.DELIVERY_LATE | SignalKind.DELIVERY_FAILED
            ):
                return {"order_id": f"{customer}-order-{max(1, self._orders[customer])}"}
            case SignalKind.PROMISE_MADE:
                self._promises[customer] += 1
                promise = f"{customer}-promise-{self._promises[customer]}"
                self._open_promises[customer].append(promise)
                return {"promise_id": promise}
            case SignalKind.PROMISE_KEPT | SignalKind.PROMISE_BROKEN:
                waiting = self._open_promises[customer]
                if waiting:
                    return {"promise_id": waiting.popleft()}
                return {"promise_id": f"{customer}-promise-{max(1, self._promises[customer])}"}
            case SignalKind.PRICE_CHANGE:
                return {
                    "old_amount": Decimal(f"{signal.previous_amount or 30:.2f}"),
                    "new_amount": money,
                    "currency": "EUR",
                }
            case SignalKind.CANCELLATION:
                return {"initiated_by": signal.qualifier or "customer", "currency": "EUR"}
            case SignalKind.PRIVACY_INCIDENT:
                return {"severity": signal.qualifier or "high"}
            case SignalKind.COMPANY_MESSAGE:
                return {"purpose": signal.qualifier or "service_notice"}
            case SignalKind.ENGAGEMENT:
                return {"count": signal.count}
            case SignalKind.SUPPORT_CASE_OPENED:
                self._cases[signal.customer_id] += 1
                case_id = f"{signal.customer_id}-case-{self._cases[signal.customer_id]}"
                return {"case_id": case_id, "wait_seconds": signal.wait_seconds}
            case SignalKind.SUPPORT_CASE_RESOLVED:
                return {
                    "case_id": case_id,
                    "resolution_seconds": signal.resolution_seconds,
                    "wait_seconds": signal.wait_seconds,
                }
            case SignalKind.SUPPORT_CASE_REOPENED:
                return {"case_id": case_id}
            case SignalKind.NPS:
                return {"score": signal.nps, "text": self._text(signal, None), "language": "en"}
            case SignalKind.CSAT | SignalKind.CES:
                score = signal.csat if signal.kind is SignalKind.CSAT else signal.ces
                return {"score": score, "text": self._text(signal, "support"), "language": "en"}
            case SignalKind.REVIEW:
                return {
                    "stars": signal.stars,
                    "title": None,
                    "text": self._text(signal, "product"),
                    "language": "en",
                }
            case SignalKind.SUPPORT_TICKET | SignalKind.CHAT:
                messages = [dict(m) for m in data["messages"]]
                for message in messages:
                    if message["author"] == "customer":
                        message["text"] = write_text(signal.sentiment, rng, "support")
                return {"messages": messages, "language": "en"}
            case SignalKind.SURVEY_COMMENT | SignalKind.SOCIAL_MENTION | SignalKind.FREE_COMMENT:
                return {"text": write_text(signal.sentiment, rng), "language": "en"}
        return {}

    def _text(self, signal: Signal, topic: str | None) -> str | None:
        # The simulator gives a text (a sentiment) to part of the surveys and reviews only.
        return None if signal.sentiment is None else write_text(signal.sentiment, self._rng, topic)


Breaker = Callable[[dict[str, Any]], bytes]
_BROKEN: tuple[tuple[str, Breaker], ...] = (
    ("invalid_json", lambda doc: json.dumps(doc)[:-7].encode()),
    (
        "missing_field",
        lambda doc: json.dumps({k: v for k, v in doc.items() if k != "customer_id"}).encode(),
    ),
    ("unknown_type", lambda doc: json.dumps({**doc, "type": "telepathy"}).encode()),
    (
        "timestamp_in_future",
        lambda doc: json.dumps({**doc, "occurred_at": "2099-01-01T00:00:00Z"}).encode(),
    ),
)


@dataclass
class Traffic:
    customers: list[SimulatedCustomer]
    personas: dict[str, str]
    records: list[Outgoing]
    expected_events: Counter[str] = field(default_factory=Counter)
    """Per customer: the valid, unique events scoring will count."""
    broken: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0


def build_traffic(
    customers: int,
    days: int,
    seed: int,
    *,
    bad_share: float = 0.01,
    duplicate_share: float = 0.01,
    new_share: float = 0.1,
    now: datetime | None = None,
) -> Traffic:
    """Every record to send, in event-time order, the last day ending now."""
    params = SimulationParams(customers=customers, days=days, seed=seed)
    population = simulate(params)
    rng = random.Random(seed + 7)
    now = now or datetime.now(UTC)
    shift = now - timedelta(minutes=1) - (START + timedelta(days=days))
    # "New" customers: their history starts in the last tenth of the window.
    recent = START + timedelta(days=days * 0.9)
    trimmed: list[SimulatedCustomer] = []
    for simulated in population:
        customer = simulated
        if rng.random() < new_share:
            kept = tuple(s for s in simulated.signals if s.occurred_at >= recent)
            customer = SimulatedCustomer(
                simulated.customer_id, simulated.hidden_trust, simulated.hidden_loyalty, kept
            )
        if customer.signals:
            trimmed.append(customer)
    personas = {c.customer_id: persona(c, recent) for c in trimmed}
    writer = EventWriter(rng, shift)
    traffic = Traffic(trimmed, personas, [])
    signals = sorted((s for c in trimmed for s in c.signals), key=lambda s: s.occurred_at)
    for signal in signals:
        event = writer.event(signal)
        document = event.model_dump(mode="json", by_alias=True, exclude_none=True)
        kind = kind_of_type(event.type) or EventKind.FEEDBACK
        key = signal.customer_id.encode()
        roll = rng.random()
        if roll < bad_share:
            reason, breaker = rng.choice(_BROKEN)
            traffic.broken[reason] += 1
            traffic.records.append(Outgoing(kind, key, breaker(document), None, False))
        value = json.dumps(document).encode()
        traffic.records.append(Outgoing(kind, key, value, signal.customer_id, True))
        traffic.expected_events[signal.customer_id] += 1
        if rng.random() < duplicate_share:
            traffic.duplicates += 1
            traffic.records.append(Outgoing(kind, key, value, signal.customer_id, False))
    return traffic


def paced(
    records: Sequence[Outgoing], rate: float, clock: Callable[[], float] = time.monotonic
) -> Iterator[Outgoing]:
    """``records`` at ``rate`` per second (sleeping between ticks of 0.1 s)."""
    started = clock()
    for index, record in enumerate(records):
        due = started + index / rate
        delay = due - clock()
        if delay > 0:
            time.sleep(delay)
        yield record


@dataclass(frozen=True)
class Ranking:
    customers: int
    scored: int
    trust_spearman: float
    loyalty_spearman: float
    by_persona: dict[str, dict[str, float]]

    def as_dict(self) -> dict[str, object]:
        return {
            "customers": self.customers,
            "scored": self.scored,
            "trust_spearman": round(self.trust_spearman, 4),
            "loyalty_spearman": round(self.loyalty_spearman, 4),
            "by_persona": self.by_persona,
        }


def rank(traffic: Traffic, published: dict[str, tuple[float, float, str]]) -> Ranking:
    """Spearman's rank correlation of published trust and loyalty with the hidden values, and
    each persona's mean published scores. ``published``: customer -> (trust, loyalty, segment)."""
    both = [c for c in traffic.customers if c.customer_id in published]
    trust = [published[c.customer_id][0] for c in both]
    loyalty = [published[c.customer_id][1] for c in both]
    groups: dict[str, list[tuple[float, float, str]]] = {}
    for c in both:
        groups.setdefault(traffic.personas[c.customer_id], []).append(published[c.customer_id])
    by_persona = {
        name: {
            "customers": len(rows),
            "mean_trust": round(sum(r[0] for r in rows) / len(rows), 1),
            "mean_loyalty": round(sum(r[1] for r in rows) / len(rows), 1),
            "at_risk_or_detractor": round(
                sum(r[2] in ("at_risk", "detractor") for r in rows) / len(rows), 3
            ),
        }
        for name in PERSONAS
        if (rows := groups.get(name))
    }
    enough = len(both) >= 3
    return Ranking(
        customers=len(traffic.customers),
        scored=len(both),
        trust_spearman=spearman(trust, [c.hidden_trust for c in both]) if enough else float("nan"),
        loyalty_spearman=spearman(loyalty, [c.hidden_loyalty for c in both])
        if enough
        else float("nan"),
        by_persona=by_persona,
    )
