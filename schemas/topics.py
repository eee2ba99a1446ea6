"""The topics of the contract: one name each, overridable per deployment.

Part of the contract (the AsyncAPI document is generated from it), so it lives here; the
runtime's settings read the overrides (``RAPPORT_TOPICS__CANONICAL=my.canonical``).
"""

from __future__ import annotations

from pydantic import BaseModel


class Topics(BaseModel):
    """Topic names; override one with e.g. ``RAPPORT_TOPICS__CANONICAL=my.canonical``."""

    raw_interactions: str = "rapport.raw.interactions"
    raw_feedback: str = "rapport.raw.feedback"
    canonical: str = "rapport.canonical"
    annotated: str = "rapport.annotated"
    score_updates: str = "rapport.score-updates"
    # Compacted: the latest score update per customer, so a new subscriber starts complete.
    scores_latest: str = "rapport.scores.latest"
    alerts: str = "rapport.alerts"
    erasure_completed: str = "rapport.erasure-completed"
    dead_letter: str = "rapport.dead-letter"
    # Compacted changelog of ingest's duplicate-suppression window, co-partitioned with the
    # raw topics.
    ingest_dedup: str = "rapport.ingest.dedup-changelog"
    # The data keys that seal dead letters (crypto-shredding): compacted, tombstoned on erasure.
    privacy_keys: str = "rapport.privacy.keys"
    # Scoring's own: wall-clock ticks of idle annotated partitions and where they were applied
    # (issue 17; docs/decisions/0002-scoring-ticks.md). Not for subscribers.
    scoring_ticks: str = "rapport.scoring.ticks"

    def for_tenant(self, tenant: str) -> Topics:
        """The topics of one tenant under hard isolation (``Tenancy.topics_per_tenant``): its
        own score-update, latest-score and alert topics, ``<topic>.<tenant>``; the others are
        shared (events arrive mixed, dead letters and erasure notices are the operator's)."""
        return self.model_copy(
            update={
                name: f"{getattr(self, name)}.{tenant}"
                for name in ("score_updates", "scores_latest", "alerts")
            }
        )

    def with_prefix(self, prefix: str) -> Topics:
        """Namespaced copy; tests and demos use it to share one broker without collisions."""
        return Topics(**{name: f"{prefix}{value}" for name, value in self.model_dump().items()})
