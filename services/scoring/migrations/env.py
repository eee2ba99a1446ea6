"""Alembic environment of the scoring database.

Run programmatically by ``services.scoring.store.migrate`` (which passes an open connection in
``config.attributes["connection"]``), or by the ``alembic`` command from ``services/scoring``
(``alembic.ini`` there; the URL comes from ``RAPPORT_DATABASE_URL``), e.g. to write a new
revision: ``alembic revision --autogenerate -m "what changed"``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from services.scoring.store import make_engine, metadata

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite alters tables by copying them; Alembic's batch mode does that.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    return (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("RAPPORT_DATABASE_URL")
        or "sqlite:///rapport.db"
    )


def run() -> None:
    if context.is_offline_mode():
        context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as conn:
            _configure(conn)
    finally:
        engine.dispose()


run()
