"""Alembic migrations of the scoring database (``rapport scores migrate``; run at start-up)."""
