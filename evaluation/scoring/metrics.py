"""Small statistics for the validity report: AUC, Spearman, Brier, calibration, bootstrap CIs,
and the calibration/test split. Pure functions of numpy arrays."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

SPLIT_SALT: Final = "rapport-scoring-validity-v1"
"""Customers are split by ``sha256(SPLIT_SALT + ":" + customer_id)``: stable, no data used."""


def is_test_customer(customer_id: str) -> bool:
    """The test half (True) or the calibration half (False), about 50/50."""
    digest = hashlib.sha256(f"{SPLIT_SALT}:{customer_id}".encode()).digest()
    return digest[0] % 2 == 1


def auc(scores: FloatArray, labels: BoolArray) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties count 1/2.

    The Mann-Whitney form on average ranks, so a constant score gives exactly 0.5.
    """
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both classes")
    ranks = rankdata(scores)
    rank_sum = float(ranks[labels].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def spearman(xs: FloatArray, ys: FloatArray) -> float:
    """Spearman's rank correlation (average ranks); 0 if either side is constant."""
    rx = rankdata(xs)
    ry = rankdata(ys)
    sx = rx.std()
    sy = ry.std()
    if sx == 0.0 or sy == 0.0:
        return 0.0
    return float(((rx - rx.mean()) * (ry - ry.mean())).mean() / (sx * sy))


def brier(probabilities: FloatArray, outcomes: BoolArray) -> float:
    """Mean squared error of a probability against 0/1 outcomes."""
    return float(np.mean((probabilities - outcomes.astype(np.float64)) ** 2))


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float
    low: float
    """2.5th percentile of the bootstrap."""
    high: float
    """97.5th percentile."""

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def bootstrap_indices(size: int, resamples: int, seed: int) -> IntArray:
    """``resamples`` x ``size`` row indices drawn with replacement (shared by every statistic,
    so differences between predictors are paired)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, size, size=(resamples, size), dtype=np.int64)


Statistic = Callable[[IntArray], float]


def with_ci(statistic: Statistic, size: int, indices: IntArray) -> Estimate:
    """The statistic on all rows, and its percentile bootstrap 95% interval."""
    value = statistic(np.arange(size, dtype=np.int64))
    return estimate(value, np.array([statistic(rows) for rows in indices]))


def estimate(value: float, draws: FloatArray) -> Estimate:
    """A value and the percentile 95% interval of its bootstrap draws."""
    low, high = np.percentile(draws, [2.5, 97.5])
    return Estimate(value, float(low), float(high))


def bootstrap_aucs(
    scores: FloatArray, labels: BoolArray, indices: IntArray, chunk: int = 100
) -> FloatArray:
    """The AUC of every bootstrap resample (each row of ``indices``), without ranking again:
    a resample is a count per row, and the AUC of counted rows follows from one sort of the
    scores (per group of tied scores: positives x (negatives below + half the tied ones)).
    Equal to ``auc(scores[rows], labels[rows])`` for each row of indices; ``chunk`` resamples
    at a time bound the memory."""
    order = np.argsort(scores, kind="stable")
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    positive = labels[order].astype(np.float64)
    result = np.empty(len(indices))
    for begin in range(0, len(indices), chunk):
        block = indices[begin : begin + chunk]
        counts = np.stack([np.bincount(rows, minlength=scores.size) for rows in block])
        counts_sorted = counts[:, order].astype(np.float64)
        positives = np.add.reduceat(counts_sorted * positive, starts, axis=1)
        negatives = np.add.reduceat(counts_sorted * (1.0 - positive), starts, axis=1)
        below = np.cumsum(negatives, axis=1) - negatives
        wins = (positives * (below + 0.5 * negatives)).sum(axis=1)
        result[begin : begin + len(block)] = wins / (positives.sum(axis=1) * negatives.sum(axis=1))
    return result


def spearman_table(
    predictors: Mapping[str, FloatArray], target: FloatArray, indices: IntArray
) -> dict[str, Estimate]:
    def of(values: FloatArray) -> Statistic:
        return lambda rows: spearman(values[rows], target[rows])

    return {name: with_ci(of(values), target.size, indices) for name, values in predictors.items()}


@dataclass(frozen=True, slots=True)
class CalibrationRow:
    band: str
    customers: int
    mean_predicted: float | None
    """None for an empty band."""
    observed: float | None
    """Share of the band's customers with the outcome."""


def calibration_by_band(
    probabilities: FloatArray, outcomes: BoolArray, edges: Sequence[float]
) -> list[CalibrationRow]:
    """Customers grouped by predicted probability in ``[edges[i], edges[i+1])`` (the last band
    closed): how many, the mean prediction and the observed rate. Empty bands are kept."""
    rows = []
    for i, (low, high) in enumerate(itertools.pairwise(edges)):
        last = i == len(edges) - 2
        inside = (probabilities >= low) & (
            (probabilities <= high) if last else (probabilities < high)
        )
        count = int(inside.sum())
        rows.append(
            CalibrationRow(
                band=f"{low:.2f}-{high:.2f}",
                customers=count,
                mean_predicted=float(probabilities[inside].mean()) if count else None,
                observed=float(outcomes[inside].mean()) if count else None,
            )
        )
    return rows


def calibration_by_label(
    probabilities: FloatArray, outcomes: BoolArray, labels: Sequence[str], order: Sequence[str]
) -> list[CalibrationRow]:
    """The same table grouped by a label (e.g. the churn level), in ``order``."""
    names = np.asarray(labels)
    rows = []
    for label in order:
        inside = names == label
        count = int(inside.sum())
        rows.append(
            CalibrationRow(
                band=label,
                customers=count,
                mean_predicted=float(probabilities[inside].mean()) if count else None,
                observed=float(outcomes[inside].mean()) if count else None,
            )
        )
    return rows
