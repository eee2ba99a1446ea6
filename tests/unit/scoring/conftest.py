from __future__ import annotations

import pytest

from services.scoring.model import ScoringConfig


@pytest.fixture(scope="session")
def config() -> ScoringConfig:
    return ScoringConfig.load()
