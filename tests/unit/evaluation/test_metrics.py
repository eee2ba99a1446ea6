"""The validity report's statistics against their definitions."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.scoring.metrics import (
    auc,
    bootstrap_aucs,
    bootstrap_indices,
    brier,
    calibration_by_band,
    calibration_by_label,
    estimate,
    is_test_customer,
    spearman,
    with_ci,
)


def _pairwise_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """The definition: P(positive outranks negative), a tie counting one half."""
    positives = scores[labels]
    negatives = scores[~labels]
    wins = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((wins + 0.5 * ties) / (positives.size * negatives.size))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_auc_is_the_pairwise_probability_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=300).astype(float)  # many ties
    labels = rng.random(300) < 0.3
    assert auc(scores, labels) == pytest.approx(_pairwise_auc(scores, labels))


def test_auc_extremes() -> None:
    labels = np.array([False, False, True, True])
    assert auc(np.array([1.0, 2.0, 3.0, 4.0]), labels) == 1.0
    assert auc(np.array([4.0, 3.0, 2.0, 1.0]), labels) == 0.0
    assert auc(np.full(4, 0.5), labels) == 0.5
    with pytest.raises(ValueError, match="both classes"):
        auc(np.array([1.0, 2.0]), np.array([True, True]))


def test_spearman_known_values() -> None:
    assert spearman(np.array([1.0, 2, 3, 4, 5]), np.array([2.0, 1, 4, 3, 5])) == pytest.approx(0.8)
    # Average ranks for ties: x = 1, 2.5, 2.5, 4.
    assert spearman(np.array([1.0, 2, 2, 3]), np.array([1.0, 2, 3, 4])) == pytest.approx(
        0.9486832980505138
    )
    assert spearman(np.full(4, 1.0), np.array([1.0, 2, 3, 4])) == 0.0


def test_brier() -> None:
    outcomes = np.array([True, False, True, False])
    assert brier(np.array([1.0, 0.0, 1.0, 0.0]), outcomes) == 0.0
    assert brier(np.full(4, 0.5), outcomes) == 0.25


def test_calibration_bands_count_every_customer_once() -> None:
    risk = np.array([0.0, 0.05, 0.1, 0.55, 1.0])
    lapsed = np.array([False, True, True, True, True])
    rows = calibration_by_band(risk, lapsed, (0.0, 0.1, 0.5, 1.0))
    assert [r.customers for r in rows] == [2, 1, 2]  # 0.1 opens its band; 1.0 closes the last
    assert rows[0].observed == 0.5
    assert rows[2].mean_predicted == pytest.approx(0.775)
    empty = calibration_by_band(risk, lapsed, (0.2, 0.3, 0.4))
    assert empty[0].customers == 0
    assert empty[0].observed is None


def test_calibration_by_label_keeps_the_order_and_empty_labels() -> None:
    rows = calibration_by_label(
        np.array([0.1, 0.4, 0.5]),
        np.array([False, True, True]),
        ["low", "medium", "medium"],
        ("low", "medium", "high"),
    )
    assert [(r.band, r.customers) for r in rows] == [("low", 1), ("medium", 2), ("high", 0)]
    assert rows[1].mean_predicted == pytest.approx(0.45)


def test_split_is_stable_and_about_half() -> None:
    ids = [f"cdnow-{i:05d}" for i in range(1, 10_001)]
    test_share = sum(map(is_test_customer, ids)) / len(ids)
    assert 0.48 < test_share < 0.52
    assert [is_test_customer(i) for i in ids[:50]] == [is_test_customer(i) for i in ids[:50]]


def test_bootstrap_interval_covers_the_estimate_and_is_reproducible() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(size=500)
    indices = bootstrap_indices(500, 200, seed=3)
    assert np.array_equal(indices, bootstrap_indices(500, 200, seed=3))
    estimate = with_ci(lambda rows: float(values[rows].mean()), 500, indices)
    assert estimate.low < estimate.value < estimate.high
    # The standard error of a mean of 500 unit normals is about 0.045: the 95% interval ~0.18.
    assert 0.1 < estimate.high - estimate.low < 0.3


@pytest.mark.parametrize("seed", [4, 9])
def test_bootstrap_aucs_equal_the_auc_of_each_resample(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 8, size=400).astype(float)  # ties across the classes
    labels = rng.random(400) < 0.35
    indices = bootstrap_indices(400, 25, seed=seed)
    expected = [auc(scores[rows], labels[rows]) for rows in indices]
    assert bootstrap_aucs(scores, labels, indices, chunk=7) == pytest.approx(expected, abs=1e-12)


def test_estimate_is_the_value_and_the_middle_95_percent_of_the_draws() -> None:
    draws = np.arange(1001, dtype=float) / 1000.0
    result = estimate(0.5, draws)
    assert (result.value, result.low, result.high) == pytest.approx((0.5, 0.025, 0.975))
