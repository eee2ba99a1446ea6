"""Do trust, loyalty and churn risk predict what real customers do next?

On the CDNOW purchase history (``evaluation/scoring/cdnow.py``): every order before a cut-off
date goes through the services' own pure functions (contract -> ingest -> sentiment -> scoring
signal -> the model's fold), and the scores are read per customer:

* **as published**: at the customer's last event before the cut-off, what a subscriber of
  ``rapport.scores.latest`` holds when the service only re-scores on events;
* **at the cut-off**: the same state evaluated at the common cut-off date;
* **held with time updates**: when the service publishes time-driven updates, what a
  subscriber holds at the cut-off (``pipeline.ServicePath``).

The outcome is what each customer does in the ``--horizon-weeks`` after the cut-off: buys again
or not (AUC), how many purchase days (Spearman), lapses or not (churn risk as a probability:
calibration table, Brier score). Baselines: recency, frequency, and the BG/NBD model fitted on
the calibration half. Customers are split by a salted hash (``metrics.is_test_customer``) into a
calibration half, the only one on which ``scoring.yaml`` may be tuned (``--split calibration``),
and a test half, on which results are reported (the default).

``python -m evaluation.scoring.validity [--config path] [--json]``; README.md beside this file
has the report.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import shlex
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
from scipy.optimize import minimize

import services.scoring.model as model_package
from evaluation.scoring import bgnbd, cdnow
from evaluation.scoring.metrics import (
    BoolArray,
    CalibrationRow,
    Estimate,
    FloatArray,
    auc,
    bootstrap_aucs,
    bootstrap_indices,
    brier,
    calibration_by_band,
    calibration_by_label,
    estimate,
    is_test_customer,
    spearman_table,
)
from evaluation.scoring.pipeline import ContractPath, ModelAdapter, ServicePath
from schemas import EventKind
from services.scoring.model import ScoringConfig
from services.scoring.signals import ScoringInput

DEFAULT_CUTOFF: Final = date(1997, 10, 1)
"""39 weeks after the cohort's first day: the classic CDNOW calibration/holdout split."""
DEFAULT_HORIZON_WEEKS: Final = 39
RISK_BANDS: Final = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
CHURN_LEVELS: Final = ("low", "medium", "high")
_DAY: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    test: bool
    purchase_days_before: tuple[date, ...]
    """Distinct purchase days before the cut-off."""
    days_to_purchases: tuple[int, ...]
    """Distinct purchase days after the cut-off (within the longer of the two horizons), as
    whole days from the cut-off: 0 is the cut-off's own day."""

    def purchases_within(self, days: int) -> int:
        return sum(1 for offset in self.days_to_purchases if offset < days)

    published: Mapping[str, Any]
    """Scores at the customer's last event before the cut-off."""
    at_cutoff: Mapping[str, Any]
    """Scores of the same state at the cut-off."""
    held: Mapping[str, Any] | None = None
    """What a subscriber holds at the cut-off from a service with time-driven updates (None:
    the service has none, see ``ServicePath``)."""


def _timings(customers: Sequence[Customer]) -> list[tuple[str, str]]:
    """(field, label) of the score readings the report has."""
    timings = [("published", "at last event"), ("at_cutoff", "at cut-off")]
    if customers and all(c.held is not None for c in customers):
        timings.append(("held", "held with time updates"))
    return timings


def _score_fields(scores: Any) -> dict[str, Any]:
    return {
        "trust": float(scores.trust),
        "loyalty": float(scores.loyalty),
        "churn_risk": float(scores.churn_risk),
        "churn_level": str(scores.churn_level),
        "segment": str(scores.segment),
    }


def build_customers(
    orders: Sequence[cdnow.Order],
    config: ScoringConfig,
    adapter: ModelAdapter,
    cutoff: datetime,
    window: timedelta,
    *,
    service: ServicePath | None = None,
) -> list[Customer]:
    """Every customer with an order before the cut-off, scored through the contract path."""
    contract = ContractPath(config)
    inputs: dict[str, list[ScoringInput]] = defaultdict(list)
    before: dict[str, set[date]] = defaultdict(set)
    after: dict[str, set[date]] = defaultdict(set)
    for order, occurred_at, raw in cdnow.raw_events(orders):
        customer_id = cdnow.customer_id(order)
        if occurred_at < cutoff:
            received = occurred_at + timedelta(seconds=1)
            inputs[customer_id].append(contract.input(raw, EventKind.INTERACTION, received))
            before[customer_id].add(order.day)
        elif occurred_at < cutoff + window:
            after[customer_id].add(order.day)
    customers = []
    for customer_id in sorted(inputs):
        ordered = sorted(
            inputs[customer_id], key=lambda i: (i.signal.occurred_at, i.signal.event_id)
        )
        state = adapter.fold(customer_id, [i.signal for i in ordered])
        held = None if service is None else service.held_at(customer_id, ordered, cutoff)
        customers.append(
            Customer(
                customer_id=customer_id,
                test=is_test_customer(customer_id),
                purchase_days_before=tuple(sorted(before[customer_id])),
                days_to_purchases=tuple(
                    sorted((day - cutoff.date()).days for day in after.get(customer_id, ()))
                ),
                published=_score_fields(adapter.published(state)),
                at_cutoff=_score_fields(adapter.at(state, cutoff)),
                held=None if held is None else _score_fields(held),
            )
        )
    return customers


def _column(customers: Sequence[Customer], timing: str, name: str) -> FloatArray:
    return np.array([float(getattr(c, timing)[name]) for c in customers])


def _rfm(customers: Sequence[Customer], cutoff: date) -> tuple[FloatArray, FloatArray, FloatArray]:
    """BG/NBD inputs in weeks: repeat purchase days x, time of the last t_x, observed T."""
    x = np.array([len(c.purchase_days_before) - 1 for c in customers], dtype=np.float64)
    t_x = np.array(
        [(c.purchase_days_before[-1] - c.purchase_days_before[0]).days / 7 for c in customers]
    )
    big_t = np.array([((cutoff - _DAY) - c.purchase_days_before[0]).days / 7 for c in customers])
    return x, t_x, big_t


def _platt(scores: FloatArray, outcomes: BoolArray) -> tuple[float, float]:
    """Logistic recalibration p = 1 / (1 + exp(-(a + b * score))) by maximum likelihood."""
    y = outcomes.astype(np.float64)

    def negative(params: FloatArray) -> float:
        z = params[0] + params[1] * scores
        return float(np.sum(np.logaddexp(0.0, z) - y * z))

    result = minimize(negative, np.zeros(2), method="BFGS")
    return float(result.x[0]), float(result.x[1])


def _logit(p: FloatArray) -> FloatArray:
    clipped = np.clip(p, 1e-9, 1 - 1e-9)
    result: FloatArray = np.log(clipped / (1 - clipped))
    return result


def _sigmoid(z: FloatArray) -> FloatArray:
    result: FloatArray = 1.0 / (1.0 + np.exp(-z))
    return result


def _model_origin() -> dict[str, str]:
    """Where the scored model came from: its directory, git commit and whether it is edited."""
    root = Path(model_package.__file__).resolve().parents[3]
    origin = {"path": str(root), "commit": "unknown", "model_commit": "unknown", "dirty": "unknown"}

    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *arguments], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        origin["commit"] = git("rev-parse", "--short", "HEAD")
        origin["model_commit"] = git("log", "-1", "--format=%h", "--", "services/scoring")
        edited = git("status", "--porcelain", "--", "services/scoring")
        origin["dirty"] = "with uncommitted edits" if edited else "clean"
    except (OSError, subprocess.CalledProcessError):
        pass
    return origin


def _churn_report(
    chosen: Sequence[Customer],
    calibration: Sequence[Customer],
    churn_days: int,
    cutoff_day: date,
) -> dict[str, Any]:
    """Churn risk as the probability of no purchase within ``churn_days``: calibration tables
    and Brier scores, against a constant and a recalibrated recency (both fitted on the
    calibration half)."""
    lapsed = np.array([c.purchases_within(churn_days) == 0 for c in chosen])
    calibration_lapsed = np.array([c.purchases_within(churn_days) == 0 for c in calibration])
    churn: dict[str, Any] = {}
    for timing, label in _timings(chosen):
        risk = _column(chosen, timing, "churn_risk")
        levels = [str(getattr(c, timing)["churn_level"]) for c in chosen]
        a, b = _platt(_logit(_column(calibration, timing, "churn_risk")), calibration_lapsed)
        recalibrated = _sigmoid(a + b * _logit(risk))
        churn[label] = {
            "max_risk": float(risk.max()),
            "brier": brier(risk, lapsed),
            "brier_recalibrated": brier(recalibrated, lapsed),
            "by_level": [
                asdict(r) for r in calibration_by_label(risk, lapsed, levels, CHURN_LEVELS)
            ],
            "by_band": [asdict(r) for r in calibration_by_band(risk, lapsed, RISK_BANDS)],
        }

    def idle_days(customers: Sequence[Customer]) -> FloatArray:
        return np.log1p([(cutoff_day - c.purchase_days_before[-1]).days for c in customers])

    a, b = _platt(idle_days(calibration), calibration_lapsed)
    return {
        "churn": churn,
        "brier_base_rate": brier(np.full(len(chosen), calibration_lapsed.mean()), lapsed),
        "brier_recency_recalibrated": brier(_sigmoid(a + b * idle_days(chosen)), lapsed),
    }


def _facts(chosen: Sequence[Customer], cutoff_day: date) -> dict[str, float | None]:
    """What the history looks like before the cut-off: the numbers priors are set against."""
    gaps = [
        (later - earlier).days
        for c in chosen
        for earlier, later in itertools.pairwise(c.purchase_days_before)
    ]
    idle = [(cutoff_day - c.purchase_days_before[-1]).days for c in chosen]
    monthly = [
        30.0 * len(c.purchase_days_before) / (cutoff_day - c.purchase_days_before[0]).days
        for c in chosen
    ]
    return {
        "one_purchase_day": float(np.mean([len(c.purchase_days_before) == 1 for c in chosen])),
        "median_gap_days": float(np.median(gaps)) if gaps else None,
        "median_idle_days": float(np.median(idle)),
        "mean_purchase_days_per_30_days": float(np.mean(monthly)),
    }


def _segments(chosen: Sequence[Customer]) -> dict[str, dict[str, float]]:
    segments: dict[str, dict[str, float]] = {}
    for timing, label in _timings(chosen):
        names = [str(getattr(c, timing)["segment"]) for c in chosen]
        segments[label] = {
            name: names.count(name) / len(names) for name in sorted(set(names), key=names.index)
        }
    return segments


def sample(orders: Sequence[cdnow.Order], customers: int) -> list[cdnow.Order]:
    """The orders of ``customers`` customers, those whose ids hash lowest (deterministic)."""
    ids = sorted({o.customer for o in orders}, key=lambda c: hashlib.sha256(c.encode()).digest())
    keep = set(ids[:customers])
    return [o for o in orders if o.customer in keep]


def evaluate(
    config: ScoringConfig,
    orders: Sequence[cdnow.Order],
    *,
    source: str = "CDNOW master (lifetimes 0.11.3 wheel, PyPI)",
    data_sha256: str = cdnow.DATA_SHA256,
    cutoff_day: date = DEFAULT_CUTOFF,
    horizon_weeks: int = DEFAULT_HORIZON_WEEKS,
    split: str = "test",
    resamples: int = 1000,
    seed: int = 17,
    with_service: bool = True,
) -> dict[str, Any]:
    """The whole report as plain data (``render`` prints it)."""
    started = time.perf_counter()
    adapter = ModelAdapter.detect(config)
    cutoff = datetime(cutoff_day.year, cutoff_day.month, cutoff_day.day, tzinfo=UTC)
    horizon_days = 7 * horizon_weeks
    # Churn risk is checked against the model's own horizon when it states one.
    model_horizon = getattr(config.churn, "horizon_days", None)
    churn_days = int(model_horizon) if model_horizon else horizon_days
    window = timedelta(days=max(horizon_days, churn_days))
    service = ServicePath.detect(config) if with_service else None
    everyone = build_customers(orders, config, adapter, cutoff, window, service=service)
    scored_seconds = time.perf_counter() - started

    calibration = [c for c in everyone if not c.test]
    chosen = {
        "test": [c for c in everyone if c.test],
        "calibration": calibration,
        "all": everyone,
    }[split]

    # BG/NBD is fitted on the calibration half only (no outcomes are used, but keep it clean).
    fitted = bgnbd.fit(*_rfm(calibration, cutoff_day))
    x, t_x, big_t = _rfm(chosen, cutoff_day)
    horizon_units = horizon_weeks * 1.0

    bought = np.array([c.purchases_within(horizon_days) > 0 for c in chosen])
    repeat_days = np.array([float(c.purchases_within(horizon_days)) for c in chosen])
    lapsed = np.array([c.purchases_within(churn_days) == 0 for c in chosen])
    last_day = np.array([c.purchase_days_before[-1].toordinal() for c in chosen], dtype=np.float64)
    recency_days = cutoff_day.toordinal() - last_day
    baselines = {
        "recency (days since last purchase, fewer = better)": -recency_days,
        "frequency (repeat purchase days)": x,
        "BG/NBD expected purchases": fitted.expected_purchases(horizon_units, x, t_x, big_t),
    }
    model = {}
    for timing, label in _timings(chosen):
        model[f"trust {label}"] = _column(chosen, timing, "trust")
        model[f"loyalty {label}"] = _column(chosen, timing, "loyalty")
        model[f"1 - churn risk {label}"] = 1.0 - _column(chosen, timing, "churn_risk")

    indices = bootstrap_indices(len(chosen), resamples, seed)
    predictors = {**model, **baselines}
    draws = {name: bootstrap_aucs(values, bought, indices) for name, values in predictors.items()}
    aucs = {name: estimate(auc(values, bought), draws[name]) for name, values in predictors.items()}
    best = max(baselines, key=lambda name: aucs[name].value)
    differences = {
        name: estimate(aucs[name].value - aucs[best].value, draws[name] - draws[best])
        for name in model
    }
    constant = [name for name, values in predictors.items() if np.ptp(values) == 0.0]

    rank_predictors = {
        "loyalty at last event": model["loyalty at last event"],
        "loyalty at cut-off": model["loyalty at cut-off"],
        "trust at cut-off": model["trust at cut-off"],
        "1 - churn risk at cut-off": model["1 - churn risk at cut-off"],
        **{name: values for name, values in model.items() if name.startswith("loyalty held")},
        **baselines,
    }
    rho = spearman_table(rank_predictors, repeat_days, indices)

    churn = _churn_report(chosen, calibration, churn_days, cutoff_day)

    # Why the two timings differ: one-order customers against repeat customers.
    histories: dict[str, dict[str, float]] = {}
    one_order = x == 0
    for label, inside in (("1 purchase day", one_order), ("2+ purchase days", ~one_order)):
        histories[label] = {
            "customers": int(inside.sum()),
            "bought_again": float(bought[inside].mean()),
            "loyalty_at_last_event": float(model["loyalty at last event"][inside].mean()),
            "loyalty_at_cutoff": float(model["loyalty at cut-off"][inside].mean()),
            "churn_risk_at_cutoff": float(1.0 - model["1 - churn risk at cut-off"][inside].mean()),
        }

    origin = _model_origin()
    return {
        "data": {
            "source": source,
            "sha256": data_sha256,
            "orders": len(orders),
            "customers": len(everyone),
        },
        "model": {
            **origin,
            "model_version": model_package.MODEL_VERSION,
            "config_version": config.version,
            "config_hash": config.short_hash,
            "time_path": adapter.time_path,
            "service_path": None if service is None else service.description,
        },
        "setup": {
            "cutoff": cutoff_day.isoformat(),
            "horizon_weeks": horizon_weeks,
            "churn_horizon_days": churn_days,
            "churn_horizon_from": "the model's churn.horizon_days"
            if model_horizon
            else "the evaluation horizon; the model states none",
            "lapsed": float(lapsed.mean()),
            "split": split,
            "customers": len(chosen),
            "bought_again": float(bought.mean()),
            "resamples": resamples,
            "seed": seed,
            "bgnbd": asdict(fitted),
        },
        "auc": {name: asdict(e) for name, e in aucs.items()},
        "constant": constant,
        "best_baseline": best,
        "auc_minus_best_baseline": {name: asdict(e) for name, e in differences.items()},
        "spearman": {name: asdict(e) for name, e in rho.items()},
        **churn,
        "segments": _segments(chosen),
        "facts": _facts(chosen, cutoff_day),
        "histories": histories,
        "seconds": {"scoring": scored_seconds, "total": time.perf_counter() - started},
    }


def _estimate(data: Mapping[str, float]) -> str:
    return str(Estimate(data["value"], data["low"], data["high"]))


def _calibration_lines(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["  | band | customers | mean risk | lapsed |", "  | --- | ---: | ---: | ---: |"]
    for row in rows:
        r = CalibrationRow(**row)
        if r.mean_predicted is None or r.observed is None:
            lines.append(f"  | {r.band} | 0 | - | - |")
        else:
            lines.append(
                f"  | {r.band} | {r.customers} | {r.mean_predicted:.3f} | {r.observed:.1%} |"
            )
    return lines


def _facts_line(facts: Mapping[str, Any]) -> str:
    gap = facts["median_gap_days"]
    gap_text = "-" if gap is None else f"{gap:.0f}"
    return (
        f"before the cut-off: {facts['one_purchase_day']:.1%} bought on one day only; median "
        f"gap between purchase days {gap_text} days; median idle at the "
        f"cut-off {facts['median_idle_days']:.0f} days; mean "
        f"{facts['mean_purchase_days_per_30_days']:.2f} purchase days per 30 days of tenure"
    )


def render(report: Mapping[str, Any], command: str) -> str:
    setup = report["setup"]
    model = report["model"]
    data = report["data"]
    out = [
        f"reproduce: {command}",
        f"data: {data['source']}, sha256 {data['sha256'][:16]}..., "
        f"{data['orders']} orders of {data['customers']} customers",
        f"model: {model['path']} at {model['commit']} (services/scoring last changed in "
        f"{model['model_commit']}, {model['dirty']}), "
        f"{model['model_version']}, scoring.yaml {model['config_version']} "
        f"({model['config_hash']})",
        f"scores at a time T: {model['time_path']}",
        "held with time updates: "
        + (model["service_path"] or "no time-driven updates in this service (rows omitted)"),
        f"cut-off {setup['cutoff']}, horizon {setup['horizon_weeks']} weeks, "
        f"{setup['split']} half: {setup['customers']} customers, "
        f"{setup['bought_again']:.1%} bought again; bootstrap {setup['resamples']} resamples",
        _facts_line(report["facts"]),
        "",
        f"Who buys again within {setup['horizon_weeks']} weeks: AUC [95% CI]",
        "",
        "| predictor | AUC | minus best baseline |",
        "| --- | --- | --- |",
    ]
    for name, area in report["auc"].items():
        difference = report["auc_minus_best_baseline"].get(name)
        note = " (constant)" if name in report["constant"] else ""
        extra = _estimate(difference) if difference else "baseline"
        out.append(f"| {name}{note} | {_estimate(area)} | {extra} |")
    out += [
        f"(best baseline: {report['best_baseline']})",
        "",
        "How many repeat purchase days: Spearman rho [95% CI]",
        "",
        "| predictor | rho |",
        "| --- | --- |",
    ]
    out += [f"| {name} | {_estimate(e)} |" for name, e in report["spearman"].items()]
    out += [
        "",
        f"Churn risk as the probability of no purchase within {setup['churn_horizon_days']} days "
        f"({setup['churn_horizon_from']}): {setup['lapsed']:.1%} lapsed",
        "",
    ]
    out.append(
        f"Brier: constant calibration-half lapse rate {report['brier_base_rate']:.4f}, "
        f"recency recalibrated on the calibration half {report['brier_recency_recalibrated']:.4f}"
    )
    for label, churn in report["churn"].items():
        out += [
            "",
            f"churn risk {label}: max {churn['max_risk']:.3f}, Brier {churn['brier']:.4f} "
            f"(recalibrated on the calibration half: {churn['brier_recalibrated']:.4f})",
            "",
        ]
        out += _calibration_lines(churn["by_level"])
        out.append("")
        out += _calibration_lines(churn["by_band"])
    out += [
        "",
        "Mean scores by history before the cut-off",
        "",
        "| history | customers | bought again | loyalty at last event | loyalty at cut-off "
        "| churn risk at cut-off |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, h in report["histories"].items():
        out.append(
            f"| {label} | {h['customers']} | {h['bought_again']:.1%} | "
            f"{h['loyalty_at_last_event']:.1f} | {h['loyalty_at_cutoff']:.1f} | "
            f"{h['churn_risk_at_cutoff']:.3f} |"
        )
    out += ["", "Segments"]
    for label, shares in report["segments"].items():
        parts = ", ".join(f"{name} {share:.1%}" for name, share in shares.items())
        out.append(f"  {label}: {parts}")
    seconds = report["seconds"]
    out.append(f"\n(scoring {seconds['scoring']:.0f} s, total {seconds['total']:.0f} s)")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--config", default=None, help="scoring.yaml to evaluate")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--cutoff", type=date.fromisoformat, default=DEFAULT_CUTOFF)
    parser.add_argument("--horizon-weeks", type=int, default=DEFAULT_HORIZON_WEEKS)
    parser.add_argument(
        "--split",
        choices=("test", "calibration", "all"),
        default="test",
        help="tune on 'calibration', report on 'test'",
    )
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--customers", type=int, default=0, help="a sample of N (0: all)")
    parser.add_argument("--cache-dir", type=Path, default=cdnow.DEFAULT_CACHE)
    parser.add_argument(
        "--no-service",
        action="store_true",
        help="skip the service's time-driven updates (the 'held' rows)",
    )
    args = parser.parse_args(argv)
    orders = cdnow.load(cdnow.fetch(args.cache_dir))
    if args.customers:
        orders = sample(orders, args.customers)
    report = evaluate(
        ScoringConfig.load(args.config),
        orders,
        cutoff_day=args.cutoff,
        horizon_weeks=args.horizon_weeks,
        split=args.split,
        resamples=args.resamples,
        seed=args.seed,
        with_service=not args.no_service,
    )
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join(["python", "-m", "evaluation.scoring.validity", *arguments])
    if args.json:
        print(json.dumps({"command": command, **report}, indent=2, allow_nan=False, default=str))
    else:
        print(render(report, command))


if __name__ == "__main__":
    main()
