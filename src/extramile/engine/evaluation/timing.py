"""`extramile evaluate timing`: BG/NBD on CDNOW, ours beside lifetimes, calibration then holdout.

Split (the one of Fader, Hardie & Lee 2005): purchases up to 1997-09-30 (39 weeks from
1997-01-01) calibrate the model; the next 39 weeks, 1997-10-01 to 1998-06-30, are the holdout.
`--split DATE` moves the first holdout day; the holdout still runs to 1998-06-30, the end of the
data. Only customers with a purchase in the calibration are scored. Time is in weeks (days / 7).

Both fits run in this process on the same summary arrays (x, t_x, T). Each fits `FITS` times
and its fastest fit counts, so neither side pays for a first-call warm-up (imports, tracing).
lifetimes' `BetaGeoFitter.fit` also computes the Hessian for its standard errors: that is part
of its fit and counted. Rows per method: the parameters r, alpha, a, b; the log-likelihood of
those parameters on the calibration data, computed by `bgnbd.log_likelihood` for both methods
(lifetimes' own value is on its internally rescaled time, so not comparable); the holdout MAE
per customer of expected against actual purchase days. The seconds column holds the fit's
seconds on every row.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from extramile.engine import bgnbd
from extramile.engine.datasets import Cdnow, load_cdnow
from extramile.engine.evaluation.metrics import Progress, Row

TASK = "timing"
CALIBRATION_END = dt.date(1997, 9, 30)
HOLDOUT_END = dt.date(1998, 6, 30)  # the last day of CDNOW
DATA_START = dt.date(1997, 1, 1)
UNIT_DAYS = 7
FITS = 3

Fit = TypeVar("Fit")


@dataclass(frozen=True)
class Period:
    """The calibration end and the holdout's last day."""

    calibration_end: dt.date
    holdout_end: dt.date

    @property
    def holdout_weeks(self) -> float:
        """Return the holdout's length in weeks."""
        return (self.holdout_end - self.calibration_end).days / UNIT_DAYS


def period(split: dt.date | None) -> Period:
    """Return the calibration and holdout for `--split` (the first holdout day), or the default."""
    if split is None:
        return Period(CALIBRATION_END, HOLDOUT_END)
    if not DATA_START < split <= HOLDOUT_END:
        raise SystemExit(
            f"timing: --split must fall after {DATA_START} and on or before {HOLDOUT_END}"
        )
    return Period(split - dt.timedelta(days=1), HOLDOUT_END)


def load(dataset: str) -> Cdnow:
    """Return the CDNOW purchases: the 1/10 sample for "cdnow", all of them for "cdnow-full"."""
    if dataset not in ("cdnow", "cdnow-full"):
        raise SystemExit(f"timing runs on cdnow or cdnow-full, not {dataset}")
    return load_cdnow(sample=dataset == "cdnow")


@dataclass(frozen=True)
class Fitted:
    """One method's fitted parameters, its holdout predictions and its fit time."""

    method: str
    params: dict[str, float]  # r, alpha, a, b
    loglik: float
    expected: np.ndarray  # expected purchases per customer in the holdout
    seconds: float


def fastest(fit: Callable[[], Fit], times: int = FITS) -> tuple[Fit, float]:
    """Run `fit` `times` times; return its last result and the fastest run's seconds."""
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        result = fit()
        best = min(best, time.perf_counter() - started)
    return result, round(best, 4)


def fit_extramile(history: bgnbd.Summary, weeks: float) -> Fitted:
    """Fit our BG/NBD and predict the holdout."""
    model, seconds = fastest(lambda: bgnbd.fit(history.x, history.t_x, history.T))
    return Fitted(
        method="extramile",
        params={"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b},
        loglik=model.loglik,
        expected=model.expected_purchases(weeks, history.x, history.t_x, history.T),
        seconds=seconds,
    )


def lifetimes_fit(history: bgnbd.Summary, times: int = FITS) -> tuple[Any, float]:
    """Fit lifetimes' BetaGeoFitter `times` times on the summary; return it and the best seconds.

    lifetimes 0.11.3 sets a pandas option that pandas 3 deprecates (a Pandas4Warning on
    import) and turns FutureWarnings off globally inside its likelihood; both stay inside this
    function's warning filters.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter

        return fastest(
            lambda: BetaGeoFitter(penalizer_coef=0.0).fit(history.x, history.t_x, history.T),
            times,
        )


def lifetimes_params(model: Any) -> dict[str, float]:
    """Return a fitted BetaGeoFitter's r, alpha, a and b."""
    return {name: float(model.params_[name]) for name in ("r", "alpha", "a", "b")}


def fit_lifetimes(history: bgnbd.Summary, weeks: float) -> Fitted:
    """Fit lifetimes' BetaGeoFitter on the same arrays and predict the holdout."""
    model, seconds = lifetimes_fit(history)
    expected = model.predict(weeks, history.x, history.t_x, history.T)
    params = lifetimes_params(model)
    return Fitted(
        method="lifetimes BG/NBD",
        params=params,
        loglik=bgnbd.log_likelihood(history.x, history.t_x, history.T, **params),
        expected=np.asarray(expected, dtype=np.float64),
        seconds=seconds,
    )


def rows(fitted: Fitted, *, dataset: str, actual: np.ndarray) -> list[Row]:
    """Return a method's rows: parameters, log-likelihood and holdout MAE."""
    values = {
        **fitted.params,
        "loglik": fitted.loglik,
        "mae": float(np.mean(np.abs(fitted.expected - actual))),
    }
    return [
        Row(TASK, dataset, fitted.method, metric, float(value), fitted.seconds)
        for metric, value in values.items()
    ]


def run(dataset: str, split: dt.date | None, progress: Progress) -> list[Row]:
    """Fit BG/NBD (ours and lifetimes') on the calibration and score the holdout."""
    purchases = load(dataset)
    dates = period(split)
    progress(
        f"{dataset}: calibration to {dates.calibration_end}, "
        f"holdout to {dates.holdout_end} ({dates.holdout_weeks:g} weeks)"
    )
    history = bgnbd.summary(
        purchases.customer,
        purchases.day,
        calibration_end=dates.calibration_end,
        unit_days=UNIT_DAYS,
    )
    actual = bgnbd.count_purchase_days(
        purchases.customer,
        purchases.day,
        customers=history.customer,
        after=dates.calibration_end,
        through=dates.holdout_end,
    )
    progress(f"{history.customers} customers, {actual.sum():.0f} purchase days in the holdout")
    out: list[Row] = []
    for fit in (fit_extramile, fit_lifetimes):
        fitted = fit(history, dates.holdout_weeks)
        progress(f"{fitted.method}: fitted in {fitted.seconds:.4f} s (fastest of {FITS})")
        out += rows(fitted, dataset=dataset, actual=actual)
    return out
