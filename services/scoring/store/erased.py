"""Erasure is final: erased customers as keyed hashes of (tenant, customer id)
(``domain.erasure_mark``) with the time of their erasure, so that events dated before it are
dropped (issue 17)."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping
from typing import Final

from sqlalchemy import select
from sqlalchemy.engine import Connection

from services.scoring.domain import ERASURE_MARK_KEY_BYTES
from services.scoring.store.database import chunks, upsert
from services.scoring.store.tables import erased_customers, scoring_meta

HASH_KEY_META: Final = "erasure_hash_key"


def erasure_hash_key(conn: Connection, configured: bytes | None) -> bytes:
    """The key: ``RAPPORT_SCORING__ERASURE_HASH_KEY`` if set (keep it out of the database in
    production), else one generated once and kept in ``scoring_meta``, so that the hashes stay
    comparable across restarts and rebuilds."""
    if configured:
        return configured
    stored = conn.execute(
        select(scoring_meta.c.value).where(scoring_meta.c.key == HASH_KEY_META)
    ).scalar_one_or_none()
    if stored is not None:
        return bytes.fromhex(str(stored))
    generated = secrets.token_hex(ERASURE_MARK_KEY_BYTES)
    upsert(conn, scoring_meta, [{"key": HASH_KEY_META, "value": generated}])
    return bytes.fromhex(generated)


def remember_erasure_hash_key(conn: Connection, key: bytes) -> None:
    """Keep ``key`` as the database's (a rebuild's scratch database: its hashes must be the
    target's)."""
    upsert(conn, scoring_meta, [{"key": HASH_KEY_META, "value": key.hex()}])


def erased_at_of(conn: Connection, tenant: str, hashes: Collection[str]) -> dict[str, int]:
    """Customer hash -> erasure time (microseconds) of the erased ones among ``hashes``."""
    found: dict[str, int] = {}
    for chunk in chunks(sorted(hashes)):
        rows = conn.execute(
            select(erased_customers.c.customer_hash, erased_customers.c.erased_at_us).where(
                erased_customers.c.tenant == tenant,
                erased_customers.c.customer_hash.in_(chunk),
            )
        )
        found.update((str(r.customer_hash), int(r.erased_at_us)) for r in rows)
    return found


def save_erased(conn: Connection, tenant: str, erased: Mapping[str, int]) -> None:
    upsert(
        conn,
        erased_customers,
        [
            {"tenant": tenant, "customer_hash": digest, "erased_at_us": at}
            for digest, at in sorted(erased.items())
        ],
    )
