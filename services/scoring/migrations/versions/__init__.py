"""Alembic revisions, oldest first: ``NNNN_<what>.py``."""
