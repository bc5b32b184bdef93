"""What clients spend per purchase: the Gamma-Gamma model (Fader, Hardie & Lee 2005b).

A client's purchases vary around a mean spend of their own; the spend of one purchase is
gamma(p, nu), nu a rate of the client's own, spread gamma(q, v) across clients (v is the
paper's gamma). Given x repeat purchases of mean spend m, the client's expected spend per
purchase is a weighted average of the population mean, p v / (q - 1), and their own m, leaning
on m the more purchases they made. Like lifetimes, the model is fitted on repeat purchases only
(the first purchase of CDNOW's clients differs from later ones) and on clients with at least one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from extramile.engine.bgnbd import (
    BgNbd,
    Day,
    Derivatives,
    FloatArray,
    Summary,
    converged,
    minimise,
    purchase_days,
    trigamma,
)


def repeat_spend(
    customer: npt.ArrayLike,
    day: npt.ArrayLike,
    amount: npt.ArrayLike,
    *,
    calibration_end: Day,
    observation_start: Day | None = None,
) -> FloatArray:
    """Return each client's mean spend per repeat purchase day (0 without repeat purchases).

    The clients and their order are those of `bgnbd.summary` with the same arguments; a day's
    lines are summed into one purchase, and the first purchase day is left out.
    """
    days = purchase_days(
        customer, day, through=calibration_end, since=observation_start, amount=amount
    )
    _, first, count = np.unique(days.customer, return_index=True, return_counts=True)
    totals = np.add.reduceat(days.amount, first) if first.size else np.zeros(0)
    repeats = count - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (totals - days.amount[first]) / repeats
    return np.where(repeats > 0, mean, 0.0)


@dataclass(frozen=True)
class GammaGamma:
    """A fitted Gamma-Gamma spend model."""

    p: float
    q: float
    v: float  # the paper's gamma: the scale of the clients' rates nu
    loglik: float  # summed over the clients fitted
    iterations: int

    @property
    def mean_spend(self) -> float:
        """Return the population's mean spend per purchase (infinite when q <= 1)."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else float("inf")

    def expected_spend(self, x: npt.ArrayLike, mean_spend: npt.ArrayLike) -> FloatArray:
        """Return each client's expected spend per purchase given x purchases of mean `mean_spend`.

        p (v + x m) / (p x + q - 1); a client without repeat purchases gets the population mean.
        """
        xs = np.asarray(x, dtype=np.float64)
        ms = np.asarray(mean_spend, dtype=np.float64)
        return np.asarray(
            self.p * (self.v + xs * ms) / (self.p * xs + self.q - 1), dtype=np.float64
        )


def _negative_loglik(log_params: FloatArray, x: FloatArray, m: FloatArray) -> Derivatives:
    """Return the Gamma-Gamma negative log-likelihood per client, its gradient and Hessian.

    Per client with x purchases of mean spend m, LL = lnG(px+q) - lnG(px) - lnG(q) + q ln v
    + (px-1) ln m + px ln x - (px+q) ln(v + x m); derivatives in (ln p, ln q, ln v).
    """
    params = np.exp(log_params)
    p, q, v = (float(value) for value in params)
    px, total = p * x, v + x * m
    log_xm, log_total = np.log(x * m), np.log(total)
    both, both_2 = special.digamma(px + q), trigamma(px + q)
    value = np.sum(
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(v)
        - np.log(m)
        + px * log_xm
        - (px + q) * log_total
    )
    grad = np.array(
        [
            np.sum(x * (both - special.digamma(px) + log_xm - log_total)),
            np.sum(both - special.digamma(q) - log_total) + x.size * np.log(v),
            np.sum(q / v - (px + q) / total),
        ]
    )
    hess = np.empty((3, 3))
    hess[0, 0] = np.sum(x**2 * (both_2 - trigamma(px)))
    hess[0, 1] = hess[1, 0] = np.sum(x * both_2)
    hess[0, 2] = hess[2, 0] = -np.sum(x / total)
    hess[1, 1] = np.sum(both_2 - trigamma(q))
    hess[1, 2] = hess[2, 1] = np.sum(1 / v - 1 / total)
    hess[2, 2] = np.sum((px + q) / total**2 - q / v**2)
    log_grad = params * grad
    log_hess = np.outer(params, params) * hess + np.diag(log_grad)
    return -float(value) / x.size, -log_grad / x.size, -log_hess / x.size


def fit_spend(
    x: npt.ArrayLike, mean_spend: npt.ArrayLike, *, tolerance: float = 1e-9
) -> GammaGamma:
    """Fit Gamma-Gamma by maximum likelihood on the clients with repeat purchases and spend."""
    xs = np.asarray(x, dtype=np.float64).ravel()
    ms = np.asarray(mean_spend, dtype=np.float64).ravel()
    keep = (xs > 0) & (ms > 0)
    xs, ms = xs[keep], ms[keep]
    if xs.size == 0:
        raise ValueError("no clients with repeat purchases and spend to fit")
    start = np.log(np.array([1.0, 2.0, float(np.mean(ms))]))
    result = minimise(lambda point: _negative_loglik(point, xs, ms), start, tolerance=tolerance)
    if not converged(result, tolerance):
        raise ArithmeticError(f"Gamma-Gamma fit failed: {result.message}")
    p, q, v = (float(value) for value in np.exp(result.x))
    return GammaGamma(
        p=p, q=q, v=v, loglik=float(-result.fun * xs.size), iterations=int(result.nit)
    )


def expected_value(
    history: Summary,
    *,
    mean_spend: npt.ArrayLike,
    timing: BgNbd,
    spend: GammaGamma,
    horizon: float,
) -> FloatArray:
    """Return the spend to expect from each client in the next `horizon` units (undiscounted).

    Expected purchases (BG/NBD) times expected spend per purchase (Gamma-Gamma): the value
    `bgnbd.at_risk` weighs.
    """
    purchases = timing.expected_purchases(horizon, history.x, history.t_x, history.T)
    return np.asarray(purchases * spend.expected_spend(history.x, mean_spend), dtype=np.float64)
