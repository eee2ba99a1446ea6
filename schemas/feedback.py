"""Feedback events: what the customer said.

Upstream systems send them to the raw feedback topic. Free text is in fields named ``text``
(and ``title`` for reviews); conversations carry their messages in order.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from schemas.base import Channel, ContractModel, FeedbackBase, FreeText, Id, ShortText, Timestamp

# --- surveys --------------------------------------------------------------------------------------


class SurveyNps(FeedbackBase):
    """An answer to the Net Promoter Score question ("How likely are you to recommend us?")."""

    type: Literal["survey_nps"] = "survey_nps"
    score: int = Field(ge=0, le=10)
    """0 to 10; 0-6 are detractors, 7-8 passives, 9-10 promoters."""
    text: FreeText | None = None
    """The free-text answer to the follow-up question, if any."""
    survey_id: Id | None = None
    """The survey (campaign) the answer belongs to."""


class SurveyCsat(FeedbackBase):
    """A customer satisfaction rating ("How satisfied were you with ...?")."""

    type: Literal["survey_csat"] = "survey_csat"
    score: int = Field(ge=1, le=5)
    """1 (very dissatisfied) to 5 (very satisfied)."""
    text: FreeText | None = None
    """The free-text comment, if any."""
    survey_id: Id | None = None
    """The survey (campaign) the answer belongs to."""
    subject_id: Id | None = None
    """What was rated: the support case, order or visit id."""


class SurveyCes(FeedbackBase):
    """A Customer Effort Score answer ("How easy was it to ...?")."""

    type: Literal["survey_ces"] = "survey_ces"
    score: int = Field(ge=1, le=7)
    """1 (very difficult) to 7 (very easy)."""
    text: FreeText | None = None
    """The free-text comment, if any."""
    survey_id: Id | None = None
    """The survey (campaign) the answer belongs to."""
    subject_id: Id | None = None
    """What was rated: the support case, order or visit id."""


class SurveyComment(FeedbackBase):
    """A free-text answer to an open survey question."""

    type: Literal["survey_comment"] = "survey_comment"
    text: FreeText
    """The answer."""
    survey_id: Id | None = None
    """The survey (campaign) the answer belongs to."""
    question: ShortText | None = None
    """The question asked."""


# --- reviews, mentions, comments ------------------------------------------------------------------


class Review(FeedbackBase):
    """A product or service review, on the company's site or a review platform."""

    type: Literal["review"] = "review"
    stars: int = Field(ge=1, le=5)
    """The rating, 1 to 5 stars."""
    title: ShortText | None = None
    """The review's title."""
    text: FreeText | None = None
    """The review's body."""
    review_id: Id | None = None
    """The review's id on the platform, to reply to it."""
    product_id: Id | None = None
    """The product reviewed, if not the company as a whole."""
    verified_purchase: bool | None = None
    """True if the platform verified that the reviewer bought the product."""
    would_recommend: bool | None = None
    """The reviewer's answer to "would you recommend it?", where the platform asks."""


URL_PATTERN = r"^https?://[^\s]+$"
Url = Annotated[str, StringConstraints(max_length=2048, pattern=URL_PATTERN)]


class SocialMention(FeedbackBase):
    """A public social-media post that mentions the company, matched to the customer."""

    type: Literal["social_mention"] = "social_mention"
    platform: ShortText
    """The network, e.g. ``mastodon``, ``instagram``."""
    text: FreeText
    """The post's text."""
    post_id: Id | None = None
    """The post's id on the platform."""
    url: Url | None = None
    """Link to the post."""


class FreeComment(FeedbackBase):
    """Unsolicited feedback left in a feedback form, an app or on a web page."""

    type: Literal["free_comment"] = "free_comment"
    text: FreeText
    """The comment."""
    location: ShortText | None = None
    """Where it was left, e.g. ``checkout page`` or ``app settings``."""


# --- conversations --------------------------------------------------------------------------------


class MessageAuthor(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"


class ConversationMessage(ContractModel):
    """One message of a support ticket or chat."""

    author: MessageAuthor
    """Who wrote it; only customer messages count towards the customer's sentiment."""
    text: FreeText
    """The message."""
    sent_at: Timestamp
    """When it was sent."""
    message_id: Id | None = None
    """The upstream message id."""


MAX_MESSAGES = 1000


class ConversationFeedback(FeedbackBase):
    """A support ticket or chat: feedback made of messages."""

    conversation_id: Id
    """The ticket's or chat's id."""
    channel: Channel
    """Where the conversation took place."""
    messages: tuple[ConversationMessage, ...] = Field(min_length=1, max_length=MAX_MESSAGES)
    """The messages, in the order they were sent (ingest sorts them by ``sent_at`` if not)."""
    case_id: Id | None = None
    """The support case this conversation belongs to, as in the support case events."""


class SupportTicket(ConversationFeedback):
    """A support ticket thread (e-mail, web form), with every message so far."""

    type: Literal["support_ticket"] = "support_ticket"
    subject: ShortText | None = None
    """The ticket's subject line."""


class Chat(ConversationFeedback):
    """A chat or messaging conversation with an agent or a bot."""

    type: Literal["chat"] = "chat"


FEEDBACK_TYPES: tuple[type[FeedbackBase], ...] = (
    SurveyNps,
    SurveyCsat,
    SurveyCes,
    SurveyComment,
    Review,
    SupportTicket,
    Chat,
    SocialMention,
    FreeComment,
)
