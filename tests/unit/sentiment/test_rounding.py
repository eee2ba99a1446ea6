"""FastVader's round3/round4 are the builtin round(x, 3)/round(x, 4), bit for bit."""

from __future__ import annotations

import math
import random

from hypothesis import given
from hypothesis import strategies as st

from services.sentiment.fastvader import round3, round4


def _same(a: float, b: float) -> bool:
    # repr tells 0.0 from -0.0, which == does not.
    return repr(a) == repr(b)


def _values(seed: int) -> list[float]:
    rng = random.Random(seed)
    values = [rng.uniform(-1.0, 1.0) for _ in range(100_000)]
    values += [rng.uniform(-1e6, 1e6) for _ in range(20_000)]
    # Decimal ties and their neighbours, where the builtin's correct rounding decides.
    for k in range(-20_000, 20_000):
        for tie in (k / 1000 + 0.0005, k / 10000 + 0.00005):
            values += [tie, math.nextafter(tie, math.inf), math.nextafter(tie, -math.inf)]
    values += [0.0, -0.0, 1.0, -1.0, 0.05, -0.05, 1e-12, -1e-12, 999_999_999.99949]
    return values


def test_round3_and_round4_equal_the_builtin_on_ties_neighbours_and_random_values() -> None:
    for x in _values(20261205):
        assert _same(round3(x), round(x, 3)), x
        assert _same(round4(x), round(x, 4)), x


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_round3_and_round4_equal_the_builtin(x: float) -> None:
    assert _same(round3(x), round(x, 3))
    assert _same(round4(x), round(x, 4))
