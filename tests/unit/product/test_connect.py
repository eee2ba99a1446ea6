"""Which broker and database the tools use next to a local stack (`rapport up`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.product.connect import find_database_url
from services.product.state import StateDir, UpRecord
from services.runtime.settings import Settings


def test_the_tools_read_the_database_of_the_running_local_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAPPORT_DATABASE_URL", raising=False)
    monkeypatch.setenv("RAPPORT_STATE_DIR", str(tmp_path))
    assert find_database_url(Settings()) == Settings().database_url  # nothing running
    stack = f"sqlite:///{tmp_path / 'rapport.db'}"
    record = UpRecord(os.getpid(), "127.0.0.1:9092", stack, "log", None, True, "now")
    record.write(StateDir(tmp_path).up_file)
    assert find_database_url(Settings()) == stack
    monkeypatch.setenv("RAPPORT_DATABASE_URL", "postgresql://db/rapport")  # explicit wins
    assert find_database_url(Settings()) == "postgresql://db/rapport"
