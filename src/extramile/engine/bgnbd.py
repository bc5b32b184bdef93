"""When clients buy again: the BG/NBD model (Fader, Hardie & Lee 2005) on purchase histories.

Each client buys at a steady rate of their own while active (a Poisson process, the rates
gamma(r, alpha) across clients) and, after each repeat purchase, stops for good with a
probability of their own (beta(a, b) across clients). A client's whole history then reduces to
three numbers: x, the repeat purchases (purchase days after the first one); t_x, the time from
the first purchase to the last; T, the time from the first purchase to the end of the
observation. Times are in units of `unit_days` (weeks by default, as in the paper).

`summary` turns purchase lines into those numbers, `fit` finds r, alpha, a and b by maximum
likelihood, and the fitted `BgNbd` gives each client's probability of still being active and the
purchases to expect in the next t units. `at_risk` flags valuable clients whose probability of
being active fell. All of it is vectorised numpy/scipy: the likelihood's terms that depend on x
alone are computed once per distinct x, and the fit is a Newton method with the analytic
gradient and Hessian, so a million clients fit in about a second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

FloatArray = npt.NDArray[np.float64]
Day = int | dt.date  # a date, or its ordinal (date.toordinal())

# Defaults of `at_risk`: see its docstring.
AT_RISK_FALL = 0.2
AT_RISK_ALIVE_BELOW = 0.6
AT_RISK_VALUE_QUANTILE = 0.75


def trigamma(z: npt.ArrayLike) -> FloatArray:
    """Return the trigamma function, the derivative of digamma (Hurwitz zeta(2, z), a ufunc)."""
    return np.asarray(special.zeta(2, z), dtype=np.float64)


def _ordinal(day: Day) -> int:
    """Return a day as a date ordinal."""
    return day.toordinal() if isinstance(day, dt.date) else int(day)


@dataclass(frozen=True)
class PurchaseDays:
    """Purchases merged to one row per client and day, sorted by client then day."""

    customer: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]  # date ordinal
    amount: FloatArray  # the day's spend (zeros when no amounts were given)


def purchase_days(
    customer: npt.ArrayLike,
    day: npt.ArrayLike,
    *,
    through: Day,
    since: Day | None = None,
    amount: npt.ArrayLike | None = None,
) -> PurchaseDays:
    """Merge purchase lines into one row per client and day, keeping days `since`..`through`."""
    customers = np.asarray(customer, dtype=np.int64)
    days = np.asarray(day, dtype=np.int64)
    amounts = np.zeros(days.size) if amount is None else np.asarray(amount, dtype=np.float64)
    keep = days <= _ordinal(through)
    if since is not None:
        keep &= days >= _ordinal(since)
    customers, days, amounts = customers[keep], days[keep], amounts[keep]
    order = np.lexsort((days, customers))
    customers, days, amounts = customers[order], days[order], amounts[order]
    starts = np.flatnonzero(
        np.r_[True, (customers[1:] != customers[:-1]) | (days[1:] != days[:-1])]
    )
    return PurchaseDays(
        customer=customers[starts],
        day=days[starts],
        amount=np.add.reduceat(amounts, starts) if starts.size else amounts[:0],
    )


@dataclass(frozen=True)
class Summary:
    """Each client's purchase history as the BG/NBD sufficient statistics."""

    customer: npt.NDArray[np.int64]  # client codes, ascending
    x: FloatArray  # repeat purchases: purchase days after the first
    t_x: FloatArray  # units from the first purchase to the last
    T: FloatArray  # units from the first purchase to the end of the calibration

    @property
    def customers(self) -> int:
        """Return the number of clients."""
        return int(self.customer.size)


def summarise_days(days: PurchaseDays, *, calibration_end: Day, unit_days: float = 7) -> Summary:
    """Return the sufficient statistics of purchase days already merged by `purchase_days`."""
    customers, first, count = np.unique(days.customer, return_index=True, return_counts=True)
    first_day = days.day[first]
    last_day = days.day[first + count - 1]
    return Summary(
        customer=customers,
        x=(count - 1).astype(np.float64),
        t_x=(last_day - first_day) / unit_days,
        T=(_ordinal(calibration_end) - first_day) / unit_days,
    )


def summary(
    customer: npt.ArrayLike,
    day: npt.ArrayLike,
    *,
    calibration_end: Day,
    observation_start: Day | None = None,
    unit_days: float = 7,
) -> Summary:
    """Return x, t_x and T per client from purchase lines (client code, day) up to a date.

    Lines after `calibration_end` (the last day of the calibration, included) and before
    `observation_start` are left out; several lines of a client on one day are one purchase.
    The first purchase is not a repeat: x counts the purchase days after it, as lifetimes'
    `summary_data_from_transaction_data` does with days divided by `unit_days`.
    """
    days = purchase_days(customer, day, through=calibration_end, since=observation_start)
    return summarise_days(days, calibration_end=calibration_end, unit_days=unit_days)


def count_purchase_days(
    customer: npt.ArrayLike,
    day: npt.ArrayLike,
    *,
    customers: npt.ArrayLike,
    after: Day,
    through: Day,
) -> FloatArray:
    """Count the purchase days after `after` up to `through` (a holdout) of each of `customers`.

    `customers` must be sorted ascending, as `Summary.customer` is.
    """
    days = purchase_days(customer, day, through=through, since=_ordinal(after) + 1)
    wanted = np.asarray(customers, dtype=np.int64)
    if wanted.size == 0:
        return np.zeros(0)
    position = np.minimum(np.searchsorted(wanted, days.customer), wanted.size - 1)
    found = wanted[position] == days.customer
    return np.bincount(position[found], minlength=wanted.size).astype(np.float64)


@dataclass(frozen=True)
class BgNbd:
    """A fitted BG/NBD model: purchase rates gamma(r, alpha), dropout beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    loglik: float  # log-likelihood of the fitted data, summed over clients
    iterations: int

    def probability_alive(
        self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """Return the probability that each client is still active at T (Hardie's note 021).

        A client without repeat purchases cannot have dropped out (dropout follows a repeat
        purchase), so their probability is 1.
        """
        x, t_x, T = _floats(x, t_x, T)
        log_odds_gone = _log_odds_gone(self, x, t_x, T)
        return np.where(x > 0, special.expit(-log_odds_gone), 1.0)

    def expected_purchases(
        self, t: npt.ArrayLike, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """Return each client's expected purchases in the next t units (FHL 2005, eq. 10).

        The hypergeometric term is taken through Euler's transformation,
        2F1(r+x, b+x; c; z) = (1-z)^(a-1-r-x) 2F1(a+b-1-r, a-1; c; z) with c = a+b+x-1, whose
        first two parameters do not grow with x, so it stays finite for heavy buyers. The
        formula divides by a - 1: a fit never lands on exactly 1.
        """
        x, t_x, T = _floats(x, t_x, T)
        t = np.asarray(t, dtype=np.float64)
        c = self.a + self.b + x - 1
        z = t / (self.alpha + T + t)
        hyper = special.hyp2f1(self.a + self.b - 1 - self.r, self.a - 1, c, z)
        bought = c / (self.a - 1) * (1 - (1 - z) ** (self.a - 1) * hyper)
        gone_odds = np.where(x > 0, np.exp(_log_odds_gone(self, x, t_x, T)), 0.0)
        return np.asarray(bought / (1 + gone_odds), dtype=np.float64)


def _floats(*arrays: npt.ArrayLike) -> tuple[FloatArray, ...]:
    """Return the arguments as float arrays, broadcast to one shape."""
    return tuple(np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in arrays)))


def _log_odds_gone(model: BgNbd, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
    """Log of P(dropped out after the last purchase) / P(active), for clients with x > 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(
            np.log(model.a / (model.b + np.maximum(x, 1) - 1))
            + (model.r + x) * (np.log(model.alpha + T) - np.log(model.alpha + t_x)),
            dtype=np.float64,
        )


@dataclass(frozen=True)
class _Panel:
    """The fitted data split the way the likelihood uses it."""

    clients: int
    distinct_x: FloatArray  # the distinct x values ...
    x_counts: FloatArray  # ... and how many clients have each
    idle_T: FloatArray  # T of the clients without repeat purchases
    x: FloatArray  # x, t_x and T of the clients with repeat purchases
    t_x: FloatArray
    T: FloatArray


def _panel(x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> _Panel:
    """Check the statistics and split them for the likelihood."""
    xs, t_xs, Ts = _floats(x, t_x, T)
    xs, t_xs, Ts = xs.ravel(), t_xs.ravel(), Ts.ravel()
    if xs.size == 0:
        raise ValueError("no clients to fit")
    if np.any(xs < 0) or np.any(xs != np.round(xs)):
        raise ValueError("x must hold whole numbers of repeat purchases, 0 or more")
    if np.any(t_xs < 0) or np.any(t_xs > Ts):
        raise ValueError("each t_x must lie between 0 and its T")
    counts = np.bincount(xs.astype(np.int64))
    distinct = np.flatnonzero(counts)
    repeat = xs > 0
    return _Panel(
        clients=xs.size,
        distinct_x=distinct.astype(np.float64),
        x_counts=counts[distinct].astype(np.float64),
        idle_T=Ts[~repeat],
        x=xs[repeat],
        t_x=t_xs[repeat],
        T=Ts[repeat],
    )


Derivatives = tuple[float, FloatArray, FloatArray]  # value, gradient, Hessian


def _x_terms(r: float, alpha: float, a: float, b: float, panel: _Panel) -> Derivatives:
    """The terms of x alone, A(x), once per distinct x and weighted by its clients.

    A(x) = lnG(r+x) - lnG(r) + r ln alpha + ln B(a, b+x) - ln B(a, b).
    """
    n, u, clients = panel.x_counts, panel.distinct_x, panel.clients
    value = np.sum(
        n
        * (
            special.gammaln(r + u)
            - special.gammaln(r)
            + r * np.log(alpha)
            + special.gammaln(b + u)
            - special.gammaln(b)
            + special.gammaln(a + b)
            - special.gammaln(a + b + u)
        )
    )
    both = np.sum(n * (special.digamma(a + b) - special.digamma(a + b + u)))
    grad = np.array(
        [
            np.sum(n * (special.digamma(r + u) - special.digamma(r))) + clients * np.log(alpha),
            clients * r / alpha,
            both,
            np.sum(n * (special.digamma(b + u) - special.digamma(b))) + both,
        ]
    )
    both_2 = np.sum(n * (trigamma(a + b) - trigamma(a + b + u)))
    hess = np.zeros((4, 4))
    hess[0, 0] = np.sum(n * (trigamma(r + u) - trigamma(r)))
    hess[0, 1] = hess[1, 0] = clients / alpha
    hess[1, 1] = -clients * r / alpha**2
    hess[2, 2] = hess[2, 3] = hess[3, 2] = both_2
    hess[3, 3] = np.sum(n * (trigamma(b + u) - trigamma(b))) + both_2
    return float(value), grad, hess


def _idle_terms(r: float, alpha: float, panel: _Panel) -> Derivatives:
    """The clients without repeat purchases: -r ln(alpha + T) each."""
    log_T = np.log(alpha + panel.idle_T)
    inverse = 1 / (alpha + panel.idle_T)
    grad = np.array([-log_T.sum(), -r * inverse.sum(), 0.0, 0.0])
    hess = np.zeros((4, 4))
    hess[0, 1] = hess[1, 0] = -inverse.sum()
    hess[1, 1] = r * np.sum(inverse**2)
    return float(-r * log_T.sum()), grad, hess


def _repeat_terms(r: float, alpha: float, a: float, b: float, panel: _Panel) -> Derivatives:
    """The clients with repeat purchases: -(r+x) ln(alpha+T) + ln(1 + e^d) each.

    d = ln a - ln(b+x-1) + (r+x) (ln(alpha+T) - ln(alpha+t_x)) is the log-odds that the client
    dropped out right after the last purchase; with s = expit(d), the second derivatives of
    ln(1 + e^d) are s (1-s) d_i d_j + s d_ij.
    """
    rx = r + panel.x
    log_T, log_tx = np.log(alpha + panel.T), np.log(alpha + panel.t_x)
    inv_T, inv_tx = 1 / (alpha + panel.T), 1 / (alpha + panel.t_x)
    inv_b = 1 / (b + panel.x - 1)
    d = np.log(a) - np.log(b + panel.x - 1) + rx * (log_T - log_tx)
    s = special.expit(d)
    s2 = s * (1 - s)
    d_r, d_alpha = log_T - log_tx, rx * (inv_T - inv_tx)
    grad = np.array(
        [
            np.sum(s * d_r - log_T),
            np.sum(s * d_alpha - rx * inv_T),
            np.sum(s) / a,
            -np.sum(s * inv_b),
        ]
    )
    hess = np.zeros((4, 4))
    hess[0, 0] = np.sum(s2 * d_r**2)
    hess[0, 1] = np.sum(s2 * d_r * d_alpha + (s - 1) * inv_T - s * inv_tx)
    hess[0, 2] = np.sum(s2 * d_r) / a
    hess[0, 3] = -np.sum(s2 * d_r * inv_b)
    hess[1, 1] = np.sum(s2 * d_alpha**2 + rx * ((1 - s) * inv_T**2 + s * inv_tx**2))
    hess[1, 2] = np.sum(s2 * d_alpha) / a
    hess[1, 3] = -np.sum(s2 * d_alpha * inv_b)
    hess[2, 2] = np.sum(s2 - s) / a**2
    hess[2, 3] = -np.sum(s2 * inv_b) / a
    hess[3, 3] = np.sum((s2 + s) * inv_b**2)
    hess = np.triu(hess) + np.triu(hess, 1).T
    return float(np.sum(np.logaddexp(0, d) - rx * log_T)), grad, hess


def _negative_loglik(log_params: FloatArray, panel: _Panel) -> Derivatives:
    """Return the BG/NBD negative log-likelihood per client, its gradient and Hessian.

    Derivatives are in the log parameters (ln r, ln alpha, ln a, ln b), which keeps the
    parameters positive, and per client, so tolerances do not depend on the data size.
    """
    params = np.exp(log_params)
    r, alpha, a, b = (float(p) for p in params)
    value, grad, hess = 0.0, np.zeros(4), np.zeros((4, 4))
    for part in (
        _x_terms(r, alpha, a, b, panel),
        _idle_terms(r, alpha, panel),
        _repeat_terms(r, alpha, a, b, panel),
    ):
        value, grad, hess = value + part[0], grad + part[1], hess + part[2]
    # Chain rule to log parameters: d/dln p = p d/dp.
    log_grad = params * grad
    log_hess = np.outer(params, params) * hess + np.diag(log_grad)
    return -value / panel.clients, -log_grad / panel.clients, -log_hess / panel.clients


def log_likelihood(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
) -> float:
    """Return the BG/NBD log-likelihood of the data under given parameters, summed over clients."""
    panel = _panel(x, t_x, T)
    mean_negative, _, _ = _negative_loglik(np.log(np.array([r, alpha, a, b])), panel)
    return float(-mean_negative * panel.clients)


def _start(panel: _Panel) -> FloatArray:
    """Return starting log parameters: r = a = b = 1 and alpha matching the mean repeat rate."""
    repeats = panel.x_counts @ panel.distinct_x
    exposure = panel.idle_T.sum() + panel.T.sum()
    alpha = exposure / max(repeats, 1.0)
    return np.log(np.array([1.0, alpha, 1.0, 1.0]))


class _Objective:
    """A function for scipy that prices each point once: value, gradient and Hessian together."""

    def __init__(self, derivatives: Callable[[FloatArray], Derivatives]) -> None:
        """Wrap a function returning value, gradient and Hessian at a point."""
        self.derivatives = derivatives
        self.point: FloatArray | None = None
        self.priced: Derivatives = (0.0, np.zeros(0), np.zeros((0, 0)))

    def _at(self, point: FloatArray) -> Derivatives:
        if self.point is None or not np.array_equal(point, self.point):
            self.priced = self.derivatives(point)
            self.point = point.copy()
        return self.priced

    def value_and_gradient(self, point: FloatArray) -> tuple[float, FloatArray]:
        """Return the value and gradient at a point."""
        value, grad, _ = self._at(point)
        return value, grad

    def hessian(self, point: FloatArray) -> FloatArray:
        """Return the Hessian at a point."""
        return self._at(point)[2]


def minimise(
    derivatives: Callable[[FloatArray], Derivatives], start: FloatArray, *, tolerance: float
) -> optimize.OptimizeResult:
    """Minimise a smooth function of a few parameters given its gradient and Hessian.

    scipy's trust-region Newton method ("trust-exact"): a handful of iterations, each one call
    of `derivatives`; it copes with a Hessian that is not positive definite far from the
    optimum, and stops when no derivative exceeds `tolerance`.
    """
    objective = _Objective(derivatives)
    return optimize.minimize(
        objective.value_and_gradient,
        start,
        jac=True,
        hess=objective.hessian,
        method="trust-exact",
        options={"gtol": tolerance, "maxiter": 200},
    )


def converged(result: optimize.OptimizeResult, tolerance: float) -> bool:
    """Say whether a minimisation reached the optimum.

    trust-exact may also stop when rounding, not distance, keeps it from predicting any more
    improvement ("a bad approximation"); that is the optimum too when the gradient is within
    100 times the tolerance.
    """
    finite = bool(np.isfinite(result.fun))
    return finite and (result.success or float(np.abs(result.jac).max()) <= 100 * tolerance)


def _penalised(
    derivatives: Callable[[FloatArray], Derivatives], penalty: float
) -> Callable[[FloatArray], Derivatives]:
    """Add penalty x |log parameters|^2 to a mean negative log-likelihood and its derivatives."""
    if penalty == 0:
        return derivatives

    def with_penalty(point: FloatArray) -> Derivatives:
        value, gradient, hessian = derivatives(point)
        return (
            value + penalty * float(point @ point),
            gradient + 2 * penalty * point,
            hessian + 2 * penalty * np.eye(point.size),
        )

    return with_penalty


def fit(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    *,
    tolerance: float = 1e-9,
    penalty: float = 0.0,
) -> BgNbd:
    """Fit BG/NBD by maximum likelihood on the log parameters (analytic gradient and Hessian).

    A handful of iterations, each one pass over the clients; `tolerance` bounds the derivatives of
    the mean log-likelihood per client at the optimum. A store where almost nobody has stopped
    buying has its optimum at the edge (b without bound); a small `penalty` on the squared log
    parameters (as lifetimes' penalizer_coef) keeps the fit finite there. The published fits use
    none.
    """
    panel = _panel(x, t_x, T)
    objective = _penalised(lambda point: _negative_loglik(point, panel), penalty)
    result = minimise(objective, _start(panel), tolerance=tolerance)
    if not converged(result, tolerance):
        raise ArithmeticError(f"BG/NBD fit failed: {result.message}")
    r, alpha, a, b = (float(v) for v in np.exp(result.x))
    return BgNbd(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        loglik=log_likelihood(x, t_x, T, r=r, alpha=alpha, a=a, b=b),
        iterations=int(result.nit),
    )


def simulate(
    model: BgNbd, T: npt.ArrayLike, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Draw x and t_x for clients observed for T units from the BG/NBD generative process.

    Each client gets a rate from gamma(r, alpha) and a dropout probability from beta(a, b);
    N(T), the purchases the rate would give in T, is Poisson; the client stops after a
    geometric number K of repeat purchases, so x = min(N, K), and the x-th of N uniform
    arrival times is T times a beta(x, N - x + 1) draw.
    """
    ages = np.asarray(T, dtype=np.float64)
    rate = rng.gamma(model.r, 1 / model.alpha, size=ages.shape)
    dropout = rng.beta(model.a, model.b, size=ages.shape)
    arrivals = rng.poisson(rate * ages)
    lasting = rng.geometric(np.maximum(dropout, 1e-300))
    x = np.minimum(arrivals, lasting)
    t_x = np.zeros(ages.shape)
    bought = x > 0
    t_x[bought] = ages[bought] * rng.beta(x[bought], arrivals[bought] - x[bought] + 1)
    return x.astype(np.float64), t_x


def at_risk(
    alive_now: npt.ArrayLike,
    alive_before: npt.ArrayLike,
    value: npt.ArrayLike,
    *,
    fall: float = AT_RISK_FALL,
    alive_below: float = AT_RISK_ALIVE_BELOW,
    min_value: float | None = None,
) -> npt.NDArray[np.bool_]:
    """Flag valuable clients whose probability of being active fell.

    A client is at risk when all three hold:
    - their probability alive fell by at least `fall` (0.2) since the earlier date;
    - it is now below `alive_below` (0.6): a small dip of a client who is surely active is no
      signal;
    - their value (for instance the spend expected from them, `spend.expected_value`) is at
      least `min_value`; by default the 75th percentile of `value` over the clients given, so
      the flag keeps to the top quarter.
    """
    now = np.asarray(alive_now, dtype=np.float64)
    before = np.asarray(alive_before, dtype=np.float64)
    worth = np.asarray(value, dtype=np.float64)
    if min_value is None:
        min_value = float(np.quantile(worth, AT_RISK_VALUE_QUANTILE)) if worth.size else 0.0
    return np.asarray((before - now >= fall) & (now < alive_below) & (worth >= min_value))
