"""BG/NBD: recovers the parameters of customers it simulates, and forecasts their future."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.scoring.bgnbd import BgNbd, fit

TRUE = BgNbd(r=0.5, alpha=4.0, a=0.8, b=2.5)


def _simulate(
    params: BgNbd, customers: int, observed: float, horizon: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x, t_x, T over ``observed`` weeks, and the purchases in the ``horizon`` after."""
    rng = np.random.default_rng(seed)
    xs, t_xs, future = [], [], []
    for _ in range(customers):
        rate = rng.gamma(params.r, 1.0 / params.alpha)
        death = rng.beta(params.a, params.b)
        t, x, t_x, later, alive = 0.0, 0, 0.0, 0, True
        while alive:
            t += rng.exponential(1.0 / rate)
            if t > observed + horizon:
                break
            if t <= observed:
                x, t_x = x + 1, t
            else:
                later += 1
            alive = rng.random() >= death  # may drop out after each repeat purchase
        xs.append(x)
        t_xs.append(t_x)
        future.append(later)
    big_t = np.full(customers, observed)
    return np.array(xs, float), np.array(t_xs), big_t, np.array(future, float)


def test_fit_recovers_the_simulated_parameters_and_forecasts_the_holdout() -> None:
    x, t_x, big_t, future = _simulate(TRUE, 4000, observed=39.0, horizon=39.0, seed=11)
    fitted = fit(x, t_x, big_t)
    assert fitted.r == pytest.approx(TRUE.r, rel=0.25)
    assert fitted.alpha == pytest.approx(TRUE.alpha, rel=0.35)
    assert fitted.a == pytest.approx(TRUE.a, rel=0.5)
    assert fitted.b == pytest.approx(TRUE.b, rel=0.6)
    expected = fitted.expected_purchases(39.0, x, t_x, big_t)
    assert expected.sum() == pytest.approx(future.sum(), rel=0.1)
    # Customers forecast to buy more do buy more.
    top = expected >= np.quantile(expected, 0.8)
    assert future[top].mean() > 3 * future[~top].mean()


def test_p_alive_is_one_without_repeat_purchases_and_falls_with_silence() -> None:
    x = np.array([0.0, 3.0, 3.0])
    t_x = np.array([0.0, 30.0, 5.0])
    big_t = np.full(3, 39.0)
    alive = TRUE.p_alive(x, t_x, big_t)
    assert alive[0] == 1.0
    assert 0.0 < alive[2] < alive[1] < 1.0
