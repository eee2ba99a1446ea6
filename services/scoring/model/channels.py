"""The evidence channels of the model and their polarity.

A channel is one sum of decayed evidence in a customer's state (two sums: positive and
negative). ``trust`` is the Beta reputation of the company in the customer's eyes; the other
channels are the sub-dimensions of loyalty.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Channel(StrEnum):
    """Where a piece of evidence goes."""

    TRUST = "trust"
    """Beta reputation: promises kept or broken, issues resolved or reopened, incidents..."""
    COMMITMENT = "commitment"
    """Behavioural loyalty: renewals, loyalty programme enrolment vs cancellations, leaving."""
    ACTIVITY = "activity"
    """Behavioural loyalty: purchases and engagement (frequency). Positive only."""
    SPEND = "spend"
    """Behavioural loyalty: money spent (monetary value); refunds are negative."""
    ADVOCACY = "advocacy"
    """Referrals, recommendations and recommendation intent (NPS, the recommendation aspect)."""
    SATISFACTION = "satisfaction"
    """Attitudinal loyalty: CSAT, CES, stars, sentiment of what the customer writes."""
    EMOTION = "emotion"
    """Attitudinal loyalty: satisfaction and delight vs frustration and disappointment."""
    CONNECTION = "connection"
    """Attitudinal loyalty: emotional connection to the brand."""
    COMPANY = "company"
    """Company-side trust actions (messages, apologies, responses): counted towards trust with
    diminishing returns, up to a cap, and only as far as the customer's own reaction confirms
    them (``weighing.company_*``). Positive only."""
    TRUST_LONG = "trust_long"
    """The long memory of trust: the same evidence as ``trust`` (and ``company``) with a long
    half-life; a prior that cushions an incident in a long good relationship."""


class Polarity(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"


CHANNELS: Final = tuple(Channel)
ATTITUDINAL: Final = (Channel.SATISFACTION, Channel.EMOTION, Channel.CONNECTION, Channel.ADVOCACY)
"""The channels pooled into the "attitude" used by the detractor rule."""


def accumulator_index(channel: Channel, polarity: Polarity) -> int:
    """Position of a (channel, polarity) sum in ``CustomerState.sums``."""
    return 2 * _CHANNEL_INDEX[channel] + (0 if polarity is Polarity.POSITIVE else 1)


def accumulator_name(index: int) -> str:
    """Column name of a sum, e.g. ``trust_pos``, ``trust_neg``."""
    channel = CHANNELS[index // 2]
    return f"{channel.value}_{'pos' if index % 2 == 0 else 'neg'}"


_CHANNEL_INDEX: Final = {channel: i for i, channel in enumerate(CHANNELS)}
ACCUMULATORS: Final = 2 * len(CHANNELS)
