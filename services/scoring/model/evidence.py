"""From a ``Signal`` to evidence: the one place that knows what an event means for the scores.

Weights live in the configuration (``events``, ``amounts``, ``ratings``, ``aspects``,
``emotions``); this module decides which of them apply to a signal and how the resulting
drivers are called in explanations. Adapting the model to a new event type means adding a
``SignalKind``, a rule in ``scoring.yaml`` and, if needed, a label here.

Three kinds of evidence:

* fixed: ``events[<rule key>]``, multiplied by ``min(count, count_cap)``; the rule key is
  ``<kind>.<variant>`` when the configuration has it, else ``<kind>``;
* per amount: ``amounts[<kind>]`` times ``amount``;
* graded: a grade x in [0, 1] of an answer, a text's sentiment or an aspect's sentiment
  (0.5 at the scale's neutral) adds, with ``ratings.grading: centred``, ``w * (2x - 1)``
  positive above the neutral or ``w * (1 - 2x)`` negative below it; with ``split`` (after
  Jøsang & Ismail) ``w * x`` positive and ``w * (1 - x)`` negative (the negative part of trust
  evidence times ``trust.negative_multiplier``); emotions add ``|w| * intensity`` with the
  polarity of the weight's sign.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from services.scoring.model.channels import Channel, Polarity
from services.scoring.model.config import Scale, ScoringConfig
from services.scoring.model.signal import Signal, SignalKind

_TONE_THRESHOLD: Final = 0.05
"""|compound| below this is a neutral text (VADER's customary threshold)."""


@dataclass(frozen=True, slots=True)
class DriverLabel:
    """How a driver is named: ``a late delivery`` / ``late deliveries``.

    ``singular`` carries its article; an uncountable label (``frustration``) has
    ``plural == singular`` and is never counted.
    """

    singular: str
    plural: str
    tone: int = 0
    """+1 for praise-like graded evidence (a promoter answer, a positive review), -1 for
    criticism-like, 0 otherwise. A driver can still move a score against its tone: loyalty is
    a weighted mix of sub-dimensions (and ``split`` grading pulls a score toward the grade);
    the summary then says so ("though milder than their loyalty so far") instead of naming
    criticism as why a score rose."""

    @classmethod
    def uncountable(cls, text: str, tone: int = 0) -> DriverLabel:
        return cls(text, text, tone)

    @property
    def countable(self) -> bool:
        return self.singular != self.plural


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of evidence: ``weight`` (>= 0) added to a channel's positive or negative sum."""

    channel: Channel
    polarity: Polarity
    weight: float
    key: str
    """The rule that produced it: ``delivery_late``, ``nps``, ``aspect.ethics_privacy``..."""
    label: DriverLabel

    @property
    def signed_weight(self) -> float:
        return self.weight if self.polarity is Polarity.POSITIVE else -self.weight


def _label(singular: str, plural: str, tone: int = 0) -> DriverLabel:
    return DriverLabel(singular, plural, tone)


EVENT_LABELS: Final[Mapping[str, DriverLabel]] = {
    "purchase": _label("a purchase", "purchases"),
    "renewal": _label("a renewal", "renewals"),
    "cancellation": _label("a cancellation", "cancellations"),
    "cancellation.company": _label("a cancellation by us", "cancellations by us"),
    "refund": _label("a refund", "refunds"),
    "refund.correction": _label("a refund of our error", "refunds of our errors"),
    "support_case_opened": _label("a support case", "support cases"),
    "support_case_resolved": _label("a resolved case", "resolved cases"),
    "support_case_resolved.fast": _label("a case resolved quickly", "cases resolved quickly"),
    "support_case_resolved.slow": _label("a case resolved slowly", "cases resolved slowly"),
    "support_case_reopened": _label("a reopened case", "reopened cases"),
    "support_case_escalated": _label("an escalated case", "escalated cases"),
    "support_wait.long": _label("a long wait for support", "long waits for support"),
    "delivery_on_time": _label("an on-time delivery", "on-time deliveries"),
    "delivery_late": _label("a late delivery", "late deliveries"),
    "delivery_failed": _label("a failed delivery", "failed deliveries"),
    "promise_made": _label("a promise", "promises"),
    "promise_kept": _label("a kept promise", "kept promises"),
    "promise_kept.late": _label("a promise kept late", "promises kept late"),
    "promise_broken": _label("a broken promise", "broken promises"),
    "company_message": _label("a message from us", "messages from us"),
    "company_message.marketing": _label("a marketing message", "marketing messages"),
    "feedback_response": _label("a response to feedback", "responses to feedback"),
    "referral": _label("a referral", "referrals"),
    "referral.converted": _label("a successful referral", "successful referrals"),
    "recommendation": _label("a recommendation", "recommendations"),
    "loyalty_enrolled": _label("a loyalty programme enrolment", "loyalty programme enrolments"),
    "loyalty_tier_changed": _label("a tier change", "tier changes"),
    "loyalty_tier_changed.up": _label("a tier upgrade", "tier upgrades"),
    "loyalty_tier_changed.down": _label("a tier downgrade", "tier downgrades"),
    "loyalty_points_redeemed": _label("a points redemption", "points redemptions"),
    "loyalty_left": _label("a loyalty programme exit", "loyalty programme exits"),
    "engagement": DriverLabel.uncountable("engagement"),
    "billing_error": _label("a billing error", "billing errors"),
    "privacy_incident": _label("a privacy incident", "privacy incidents"),
    "privacy_incident.low": _label("a minor privacy incident", "minor privacy incidents"),
    "privacy_incident.high": _label("a serious privacy incident", "serious privacy incidents"),
    "privacy_incident.critical": _label(
        "a critical privacy incident", "critical privacy incidents"
    ),
    "price_change": _label("a price change", "price changes"),
    "price_change.increase": _label("a price increase", "price increases"),
    "price_change.decrease": _label("a price decrease", "price decreases"),
    "support_case_resolved.first_contact": _label(
        "a first-contact resolution", "first-contact resolutions"
    ),
    "privacy_incident.unnotified": _label(
        "an incident we did not tell them about", "incidents we did not tell them about"
    ),
    "feedback_response.fast": _label("a quick response to feedback", "quick responses to feedback"),
    "feedback_response.slow": _label("a slow response to feedback", "slow responses to feedback"),
    "overdue.delivery": _label("an overdue delivery", "overdue deliveries"),
    "overdue.promise": _label("an overdue promise", "overdue promises"),
    "overdue.case": _label("a support case past its SLA", "support cases past their SLA"),
    "overdue.response": _label("feedback left unanswered", "pieces of feedback left unanswered"),
    # An event that settles a promise already overdue lifts that penalty: named apart from the
    # event's own evidence, so that a summary adds up to the change a subscriber sees.
    "settled.delivery": _label("an overdue delivery settled", "overdue deliveries settled"),
    "settled.promise": _label("an overdue promise settled", "overdue promises settled"),
    "settled.case": _label("an overdue support case settled", "overdue support cases settled"),
    "settled.response": _label("overdue feedback answered", "pieces of overdue feedback answered"),
    # An earlier kept promise rescored when the event brings news of its deadline or breach.
    "rescored.late": _label("a promise found kept late", "promises found kept late"),
    "rescored.kept": _label(
        "a promise no longer counted as kept late", "promises no longer counted as kept late"
    ),
    "erasure_request": _label("an erasure request", "erasure requests"),
}

_TEXT_NOUNS: Final[Mapping[SignalKind, tuple[str, str]]] = {
    SignalKind.SUPPORT_TICKET: ("support conversation", "support conversations"),
    SignalKind.CHAT: ("chat", "chats"),
    SignalKind.SOCIAL_MENTION: ("social media mention", "social media mentions"),
    SignalKind.REVIEW: ("review", "reviews"),
}

ASPECT_LABELS: Final[Mapping[str, tuple[str, str, str]]] = {
    # aspect -> (positive, negative, neutral) label, all uncountable
    "customer_service": (
        "praise for customer service",
        "criticism of customer service",
        "comments on customer service",
    ),
    "product_quality": (
        "praise for product quality",
        "criticism of product quality",
        "comments on product quality",
    ),
    "price_value": (
        "praise for value for money",
        "criticism of value for money",
        "comments on value for money",
    ),
    "delivery_reliability": (
        "praise for delivery reliability",
        "criticism of delivery reliability",
        "comments on delivery reliability",
    ),
    "communication_transparency": (
        "praise for our communication",
        "criticism of our communication",
        "comments on our communication",
    ),
    "ethics_privacy": (
        "praise for our ethics and privacy",
        "criticism of our ethics and privacy",
        "comments on our ethics and privacy",
    ),
    "brand_connection": (
        "attachment to the brand",
        "detachment from the brand",
        "comments on the brand",
    ),
    "recommendation": (
        "willingness to recommend",
        "reluctance to recommend",
        "talk of recommending",
    ),
}

EMOTION_LABELS: Final[Mapping[str, str]] = {
    "trust": "expressed trust",
    "satisfaction": "expressed satisfaction",
}


def rule_key(signal: Signal, config: ScoringConfig) -> str:
    """The ``events`` rule that applies: ``<kind>.<variant>`` if configured, else ``<kind>``."""
    kind = signal.kind.value
    variant = signal.qualifier or _derived_variant(signal, config)
    if variant is not None and f"{kind}.{variant}" in config.events:
        return f"{kind}.{variant}"
    return kind


def _derived_variant(signal: Signal, config: ScoringConfig) -> str | None:
    if signal.kind is SignalKind.SUPPORT_CASE_RESOLVED and signal.resolution_seconds is not None:
        hours = signal.resolution_seconds / 3600.0
        if hours <= config.support.fast_resolution_hours:
            return "fast"
        if hours > config.support.slow_resolution_hours:
            return "slow"
        return None
    if signal.kind is SignalKind.FEEDBACK_RESPONSE and signal.response_hours is not None:
        hours = config.weighing.response_time_hours
        if signal.response_hours <= hours:
            return "fast"
        if signal.response_hours > 7 * hours:
            return "slow"
        return None
    if (
        signal.kind is SignalKind.PRICE_CHANGE
        and signal.amount is not None
        and signal.previous_amount is not None
    ):
        if signal.amount > signal.previous_amount:
            return "increase"
        if signal.amount < signal.previous_amount:
            return "decrease"
    return None


def event_label(key: str) -> DriverLabel:
    """The label of an ``events`` rule key."""
    label = EVENT_LABELS.get(key)
    if label is not None:
        return label
    kind = key.partition(".")[0]
    if kind != key and kind in EVENT_LABELS:
        return EVENT_LABELS[kind]
    text = key.replace(".", " ").replace("_", " ")
    return _label(f"a {text} event", f"{text} events")


def _tone(compound: float) -> int:
    if compound >= _TONE_THRESHOLD:
        return 1
    if compound <= -_TONE_THRESHOLD:
        return -1
    return 0


def _graded_label(signal: Signal) -> DriverLabel:
    """One label for all graded evidence of a feedback signal (answer, stars, text)."""
    if signal.nps is not None:
        group = "promoter" if signal.nps >= 9 else "passive" if signal.nps >= 7 else "detractor"
        tone = {"promoter": 1, "passive": 0, "detractor": -1}[group]
        return _label(f"a {group} NPS answer", f"{group} NPS answers", tone)
    if signal.csat is not None:
        grade = "good" if signal.csat >= 4 else "neutral" if signal.csat == 3 else "poor"
        tone = {"good": 1, "neutral": 0, "poor": -1}[grade]
        return _label(f"a {grade} CSAT rating", f"{grade} CSAT ratings", tone)
    if signal.ces is not None:
        if signal.ces >= 5:
            return _label("an easy-effort rating", "easy-effort ratings", 1)
        if signal.ces <= 3:
            return _label("a high-effort rating", "high-effort ratings", -1)
        return _label("a neutral effort rating", "neutral effort ratings")
    if signal.stars is not None:
        grade = "positive" if signal.stars >= 4 else "mixed" if signal.stars == 3 else "negative"
        tone = {"positive": 1, "mixed": 0, "negative": -1}[grade]
        return _label(f"a {grade} review", f"{grade} reviews", tone)
    if signal.sentiment is not None:
        singular, plural = _TEXT_NOUNS.get(signal.kind, ("comment", "comments"))
        tone = _tone(signal.sentiment)
        if tone == 0:
            article = "an" if singular[0] in "aeiou" else "a"
            if signal.kind in _TEXT_NOUNS:
                return _label(f"{article} {singular}", plural)
            return _label("a neutral comment", "neutral comments")
        adjective = "positive" if tone > 0 else "negative"
        return _label(f"a {adjective} {singular}", f"{adjective} {plural}", tone)
    if signal.recommend is not None:
        return _recommend_label(signal.recommend)
    return event_label(signal.kind.value)


def subject_label(signal: Signal, config: ScoringConfig) -> DriverLabel:
    """What an event was, for an explanation in which it moved nothing: its answer or text
    ("a mixed review", "a neutral CSAT rating": centred grading gives a neutral answer no
    evidence), else its rule's label."""
    graded = (signal.nps, signal.csat, signal.ces, signal.stars, signal.sentiment)
    if any(value is not None for value in graded) or signal.recommend is not None:
        return _graded_label(signal)
    return event_label(rule_key(signal, config))


def _recommend_label(recommend: bool) -> DriverLabel:
    if recommend:
        return _label("a stated intent to recommend", "stated intents to recommend", 1)
    return _label("a refusal to recommend", "refusals to recommend", -1)


def _own_recommend_label(recommend: bool, answer: DriverLabel) -> DriverLabel:
    """A recommendation under its answer's label when they agree ("a positive review" that
    would recommend), else under its own ("a positive comment" and "a refusal to recommend")."""
    own = _recommend_label(recommend)
    return answer if own.tone == answer.tone else own


def _text_label(signal: Signal, answer: DriverLabel) -> DriverLabel:
    """The text's own label where its direction is not its answer's ("a promoter NPS answer"
    with "a negative comment"): one label for both would name praise as why a score fell. A
    faint text (within VADER's neutral band) against its answer is "a neutral comment"."""
    assert signal.sentiment is not None
    sign = (signal.sentiment > 0) - (signal.sentiment < 0)
    if sign in (0, answer.tone):
        return answer
    tone = _tone(signal.sentiment)
    if tone == 0:
        return answer if answer.tone == 0 else _label("a neutral comment", "neutral comments")
    adjective = "positive" if tone > 0 else "negative"
    return _label(f"a {adjective} comment", f"{adjective} comments", tone)


def _weighted(
    channel_weights: Mapping[Channel, float], factor: float, key: str, label: DriverLabel
) -> list[Evidence]:
    """Signed channel weights times ``factor`` (>= 0) as evidence."""
    items = []
    for channel, weight in channel_weights.items():
        amount = abs(weight) * factor
        if amount > 0:
            polarity = Polarity.POSITIVE if weight > 0 else Polarity.NEGATIVE
            items.append(Evidence(channel, polarity, amount, key, label))
    return items


def _graded(
    channel_weights: Mapping[Channel, float],
    grade: float,
    key: str,
    label: DriverLabel,
    config: ScoringConfig,
) -> list[Evidence]:
    """Graded evidence for grade x in [0, 1] (``ratings.grading``): centred, ``w * (2x - 1)``
    positive above the neutral 0.5 or ``w * (1 - 2x)`` negative below it; split, ``w * x``
    positive and ``w * (1 - x)`` negative."""
    items = []
    centred = config.ratings.grading == "centred"
    for channel, weight in channel_weights.items():
        if centred:
            positive = weight * max(0.0, 2.0 * grade - 1.0)
            negative = weight * max(0.0, 1.0 - 2.0 * grade)
        else:
            positive = weight * grade
            negative = weight * (1.0 - grade)
        if channel is Channel.TRUST:
            negative *= config.trust.negative_multiplier
        if positive > 0:
            items.append(Evidence(channel, Polarity.POSITIVE, positive, key, label))
        if negative > 0:
            items.append(Evidence(channel, Polarity.NEGATIVE, negative, key, label))
    return items


def _aspect_label(aspect: str, sentiment: float) -> DriverLabel:
    positive, negative, neutral = ASPECT_LABELS.get(
        aspect,
        (f"praise for {aspect}", f"criticism of {aspect}", f"comments on {aspect}"),
    )
    tone = _tone(sentiment)
    text = positive if tone > 0 else negative if tone < 0 else neutral
    return DriverLabel.uncountable(text, tone)


def _multiplier(signal: Signal, config: ScoringConfig) -> float:
    """How much the event's fixed evidence weighs: the count (capped), the size of a price
    change relative to the reference change, the number of earlier reopenings of a case."""
    multiplier = float(min(signal.count, config.count_cap))
    weighing = config.weighing
    if (
        signal.kind is SignalKind.PRICE_CHANGE
        and signal.amount is not None
        and signal.previous_amount
    ):
        relative = abs(signal.amount - signal.previous_amount) / signal.previous_amount
        multiplier *= min(weighing.price_change_max, relative / weighing.price_change_reference)
    if signal.kind is SignalKind.SUPPORT_CASE_REOPENED and signal.reopen_count is not None:
        multiplier *= 1.0 + weighing.reopen_step * min(3, signal.reopen_count - 1)
    return multiplier


def _extra_rule(key: str, config: ScoringConfig, factor: float = 1.0) -> list[Evidence]:
    return _weighted(config.events.get(key, {}), factor, key, event_label(key))


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """Evidence an event takes back before adding its own, at the time it was added: the
    ``overdue.<kind>`` penalty of a promise it settles after the deadline fired; or an earlier
    kept promise's rule, swapped (``added``) because the event brought news of its deadline,
    its breach or an earlier kept report (``promises.note_promise``)."""

    key: str
    """The driver's key: ``settled.<kind>`` (apart from the penalty's own ``overdue.<kind>``),
    or ``rescored.late`` / ``rescored.kept``."""
    evidence: tuple[Evidence, ...]
    at_us: int
    added: tuple[Evidence, ...] = ()
    """Evidence put in its place at the same time (a swapped rule)."""

    @property
    def label(self) -> DriverLabel:
        return event_label(self.key)


def overdue_evidence(kind: str, config: ScoringConfig) -> list[Evidence]:
    """The evidence of a promise of ``kind`` past its deadline (``overdue.<kind>``)."""
    return with_memory(_extra_rule(f"overdue.{kind}", config))


def _about_trust(signal: Signal, config: ScoringConfig) -> bool:
    return signal.about_promise or any(
        aspect in signal.aspects for aspect in config.weighing.trust_aspects
    )


_COMPANY_ACTIONS: Final = frozenset({SignalKind.COMPANY_MESSAGE, SignalKind.FEEDBACK_RESPONSE})
"""Kinds whose positive trust evidence is the company's own action, not the customer's
experience: it goes to the ``company`` channel (capped, to be confirmed)."""


def evidence_for(signal: Signal, config: ScoringConfig) -> list[Evidence]:
    """Every piece of evidence a signal carries, in a fixed order (``with_memory`` applied)."""
    return with_memory(_evidence(signal, config), company=signal.kind in _COMPANY_ACTIONS)


_EXPERIENCE_LABEL: Final = DriverLabel.uncountable("the long memory of trust")


def with_memory(items: list[Evidence], *, company: bool = False) -> list[Evidence]:
    """Route a company action's positive trust evidence to ``company``; and record the event as
    one good or bad *experience* in the long memory ``trust_long`` (by the sign of its net
    trust evidence; company actions are not experiences). Counting experiences, not weights,
    lets two years of on-time deliveries weigh against a bad week."""
    out: list[Evidence] = []
    counted: list[Evidence] = []
    net = 0.0
    for item in items:
        routed = item
        if item.channel is Channel.TRUST:
            if company and item.polarity is Polarity.POSITIVE:
                routed = Evidence(Channel.COMPANY, item.polarity, item.weight, item.key, item.label)
            else:
                net += item.signed_weight
                counted.append(item)
        out.append(routed)
    if net != 0.0:
        polarity = Polarity.POSITIVE if net > 0 else Polarity.NEGATIVE
        source = _experience_source(counted, net)
        # A full experience from half a unit of trust evidence (an on-time delivery) up;
        # slighter evidence (a 1 % price rise) is a slighter experience.
        weight = min(1.0, abs(net) / _FULL_EXPERIENCE)
        out.append(Evidence(Channel.TRUST_LONG, polarity, weight, source.key, source.label))
    return out


def _experience_source(trust: list[Evidence], net: float) -> Evidence:
    """The trust evidence an experience is filed under: the label that contributed most in the
    net's direction (a comment criticising our communication and praising our ethics, good on
    balance, is a good experience of our ethics, not of "criticism of our communication")."""
    first = trust[0]
    if all(item.label == first.label for item in trust):
        return first  # one label (nearly every event): nothing to choose
    totals: dict[DriverLabel, float] = {}
    for item in trust:
        totals[item.label] = totals.get(item.label, 0.0) + item.signed_weight
    label = max(totals, key=lambda candidate: totals[candidate] * net)
    return next(item for item in trust if item.label == label)


_FULL_EXPERIENCE: Final = 0.5


def _evidence(signal: Signal, config: ScoringConfig) -> list[Evidence]:
    items: list[Evidence] = []
    # Fixed evidence of the event.
    key = rule_key(signal, config)
    items += _weighted(
        config.events.get(key, {}), _multiplier(signal, config), key, event_label(key)
    )
    if signal.kind is SignalKind.SUPPORT_CASE_RESOLVED and signal.first_contact:
        items += _extra_rule("support_case_resolved.first_contact", config)
    if signal.kind is SignalKind.PRIVACY_INCIDENT and signal.notified is False:
        items += _extra_rule("privacy_incident.unnotified", config)
    if (
        signal.kind in (SignalKind.SUPPORT_CASE_OPENED, SignalKind.SUPPORT_CASE_RESOLVED)
        and signal.wait_seconds is not None
        and signal.wait_seconds >= 60.0 * config.support.long_wait_minutes
    ):
        wait_key = "support_wait.long"
        items += _weighted(config.events.get(wait_key, {}), 1.0, wait_key, event_label(wait_key))
    # Money. A refund correcting the company's own error gives back what should never have
    # been charged: it restores the customer's spend rather than lowering it.
    if signal.amount is not None and signal.kind in config.amounts and key != "refund.correction":
        items += _weighted(config.amounts[signal.kind], signal.amount, key, event_label(key))
    # Graded answers and text, under one label per signal.
    label = _graded_label(signal)
    ratings = config.ratings
    scales = config.scales
    graded: list[tuple[str, Mapping[Channel, float], Scale | None, float | None]] = [
        ("nps", ratings.nps, scales.nps, signal.nps),
        ("csat", ratings.csat, scales.csat, signal.csat),
        ("ces", ratings.ces, scales.ces, signal.ces),
        ("stars", ratings.stars, scales.stars, signal.stars),
    ]
    for name, weights, scale, value in graded:
        if value is not None and scale is not None:
            items += _graded(weights, scale.unit(value), name, label, config)
    if signal.stars is not None and _about_trust(signal, config):
        # A review of service or of a promise ("never received it") is a verdict on trust.
        service = {Channel.TRUST: config.weighing.service_review_trust}
        items += _graded(service, scales.stars.unit(signal.stars), "stars.trust", label, config)
    # A recommendation and a text say their own thing: under their own label where their tone
    # is not the answer's, so that each is named for what it did.
    if signal.recommend is not None:
        grade = 1.0 if signal.recommend else 0.0
        recommend_label = _own_recommend_label(signal.recommend, label)
        items += _graded(ratings.recommend, grade, "recommend", recommend_label, config)
    if signal.sentiment is not None:
        weights = ratings.sentiment.get(signal.kind.value, ratings.sentiment["default"])
        text_label = _text_label(signal, label)
        items += _graded(weights, (signal.sentiment + 1.0) / 2.0, "sentiment", text_label, config)
    # Aspects and emotions, each under its own label.
    for aspect, sentiment in sorted(signal.aspects.items()):
        aspect_weights = config.aspects.get(aspect)
        if aspect_weights:
            items += _graded(
                aspect_weights,
                (sentiment + 1.0) / 2.0,
                f"aspect.{aspect}",
                _aspect_label(aspect, sentiment),
                config,
            )
    for emotion, intensity in sorted(signal.emotions.items()):
        emotion_weights = config.emotions.get(emotion)
        if emotion_weights and intensity > 0:
            emotion_label = DriverLabel.uncountable(EMOTION_LABELS.get(emotion, emotion))
            items += _weighted(emotion_weights, intensity, f"emotion.{emotion}", emotion_label)
    return items
