"""The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): the
classic baseline for "who buys again", fitted by maximum likelihood.

A customer buys at Poisson rate lambda ~ Gamma(r, alpha) while alive and dies after each
purchase with probability p ~ Beta(a, b). Per customer: ``x`` repeat purchases (purchase days
after the first), ``t_x`` the time of the last one and ``T`` the time observed, both from the
first purchase, in any unit (weeks here).

``python -m evaluation.scoring.bgnbd`` fits the 2,357-customer CDNOW sample that ships with the
data and prints the parameters beside the published ones (r 0.243, alpha 4.414, a 0.793,
b 2.426), a check of this implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

from evaluation.scoring.metrics import FloatArray

PUBLISHED_CDNOW_SAMPLE: Final = (0.243, 4.414, 0.793, 2.426)
"""r, alpha, a, b of the CDNOW sample, 39-week calibration, weeks (Fader, Hardie & Lee 2005)."""


@dataclass(frozen=True, slots=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float

    def _odds_dead(self, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
        """(a / (b + x - 1)) ((alpha + T) / (alpha + t_x))^(r + x) for x > 0, else 0."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        repeat = x > 0
        safe_x = np.where(repeat, x, 1.0)
        odds = (a / (b + safe_x - 1.0)) * np.exp(
            (r + safe_x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
        )
        result: FloatArray = np.where(repeat, odds, 0.0)
        return result

    def p_alive(self, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
        result: FloatArray = 1.0 / (1.0 + self._odds_dead(x, t_x, big_t))
        return result

    def expected_purchases(
        self, horizon: float, x: FloatArray, t_x: FloatArray, big_t: FloatArray
    ) -> FloatArray:
        """E[purchases in (T, T + horizon] | x, t_x, T] (equation 10 of the paper)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = horizon / (alpha + big_t + horizon)
        head = (a + b + x - 1.0) / (a - 1.0)
        tail = 1.0 - ((alpha + big_t) / (alpha + big_t + horizon)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1.0, z
        )
        result: FloatArray = head * tail / (1.0 + self._odds_dead(x, t_x, big_t))
        return result


def log_likelihood(params: BgNbd, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
    """Each customer's log-likelihood (equation 6 of the paper)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    survived = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + big_t)
    repeat = x > 0
    safe_x = np.where(repeat, x, 1.0)
    died = betaln(a + 1.0, b + safe_x - 1.0) - betaln(a, b) - (r + x) * np.log(alpha + t_x)
    died = np.where(repeat, died, -np.inf)
    result: FloatArray = common + np.logaddexp(survived, died)
    return result


def fit(x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> BgNbd:
    """Maximum likelihood (Nelder-Mead on the log parameters)."""

    def negative(log_params: FloatArray) -> float:
        params = BgNbd(*np.exp(log_params))
        total = float(log_likelihood(params, x, t_x, big_t).sum())
        return -total if np.isfinite(total) else float("inf")

    start = np.log(np.array([0.5, float(np.mean(big_t)) or 1.0, 1.0, 1.0]))
    result = minimize(
        negative,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 4000, "maxfev": 8000},
    )
    return BgNbd(*(float(v) for v in np.exp(result.x)))


def main() -> None:
    from evaluation.scoring.cdnow import DEFAULT_CACHE, fetch

    path = fetch(DEFAULT_CACHE).with_name("CDNOW_sample.txt")
    if not path.exists():
        import zipfile

        from evaluation.scoring.cdnow import WHEEL_FILE

        with zipfile.ZipFile(DEFAULT_CACHE / "wheels" / WHEEL_FILE) as archive:
            path.write_bytes(archive.read("lifetimes/datasets/CDNOW_sample.txt"))
    # Columns: master id, sample id, date, CDs, dollars. Purchases on one day count once.
    days: dict[str, set[int]] = {}
    for line in path.read_text(encoding="ascii").splitlines():
        fields = line.split()
        if len(fields) == 5:
            day = np.datetime64(f"{fields[2][:4]}-{fields[2][4:6]}-{fields[2][6:]}")
            days.setdefault(fields[1], set()).add(int(day.astype(np.int64)))
    end = int(np.datetime64("1997-09-30").astype(np.int64))  # 39 weeks from 1 January 1997
    xs, txs, ts = [], [], []
    for seen in days.values():
        first = min(seen)
        within = sorted(d for d in seen if d <= end)
        xs.append(len(within) - 1)
        txs.append((within[-1] - first) / 7.0)
        ts.append((end - first) / 7.0)
    params = fit(np.array(xs, float), np.array(txs, float), np.array(ts, float))
    r, alpha, a, b = PUBLISHED_CDNOW_SAMPLE
    print(f"{len(xs)} customers of the CDNOW sample, 39-week calibration:")
    print(f"fitted    r {params.r:.3f} alpha {params.alpha:.3f} a {params.a:.3f} b {params.b:.3f}")
    print(f"published r {r:.3f} alpha {alpha:.3f} a {a:.3f} b {b:.3f}")


if __name__ == "__main__":
    main()
