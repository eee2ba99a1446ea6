"""Alerts as scoring publishes them, for the screens that show them."""

from __future__ import annotations

from schemas import Alert, AlertState
from schemas.downstream import ESCALATED_PREFIX
from schemas.samples import alert_example


def escalated_alert() -> Alert:
    """The resolution scoring publishes when a worse alert of the same kind replaces one."""
    raised = alert_example()
    return raised.model_copy(
        update={
            "state": AlertState.RESOLVED,
            "resolved_at": raised.raised_at,
            "message": f"{ESCALATED_PREFIX}critical",
        }
    )
