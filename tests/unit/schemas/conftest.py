"""Shared fixtures of the contract tests."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.export import committed_schemas


@pytest.fixture(scope="session")
def committed() -> dict[str, dict[str, Any]]:
    """The JSON Schemas committed in schemas/json, by name."""
    return committed_schemas()
