"""Writes ``release_scoring_db.json``: every row of every table the release before tenant keys
stored after scoring a mixed stream (alerts, duplicates, an erasure), with its Alembic revision,
for the migration test (test_migration_tenant_keys.py).

Run with the RELEASE's code first on the path, so that the rows are what that release wrote::

    git archive <release> | tar -x -C /tmp/release
    PYTHONPATH=/tmp/release .venv/bin/python tests/unit/scoring/release_data.py \\
        tests/unit/scoring/release_scoring_db.json
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from services.scoring import store
from tests.unit.scoring.events import T0, annotated, mixed_stream
from tests.unit.scoring.harness import Scoring


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode()}
    return value


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as directory:
        scoring = Scoring(f"sqlite:///{Path(directory) / 'release.db'}")
        events = mixed_stream(customers=5, events=40, duplicates=3, seed=16)
        erased = events[0].event.customer_id
        at = max(e.event.occurred_at for e in events) + timedelta(days=1)
        events.append(annotated("erasure_request", erased, "erase-1", at, request_id="ER-16"))
        events.append(annotated("purchase", erased, "after-erasure", at + timedelta(hours=1)))
        scoring.send(events)
        scoring.run()
        assert at >= T0
        with scoring.engine.connect() as conn:
            revision = store.current_revision(scoring.engine)
            rows = {
                name: [
                    {k: _plain(v) for k, v in r._mapping.items()}
                    for r in conn.execute(select(store.metadata.tables[name]))
                ]
                for name in sorted(store.metadata.tables)  # every table that release had
            }
    document = {"revision": revision, "erased_customer": erased, "tables": rows}
    out.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
