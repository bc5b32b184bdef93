"""Which valuable clients are slipping away: BG/NBD and Gamma-Gamma on one store's purchases.

`scan` fits the purchase-timing model (extramile.engine.bgnbd) and the spend model
(extramile.engine.spend) on every client's purchase days up to today, in weeks, then asks, for
each client, how likely they are still a client today and how likely they were `lookback_days`
earlier (the same fitted model, on the history known then), and what they are worth: the spend
to expect from them over the next year if they are still a client. `bgnbd.at_risk` flags the
valuable ones whose chance fell.

The fit needs enough clients who came back: with fewer than `min_repeat_clients` of them the
scan flags no one (a young store's model would be noise), and says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from extramile.engine import bgnbd, spend

LOOKBACK_DAYS = 90
MIN_REPEAT_CLIENTS = 30
PENALTY = 1e-3  # on the squared log parameters: a store where few stop keeps a finite fit
HORIZON_WEEKS = 52.0
WEEK = 7.0

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RiskScan:
    """The scan of one store: per client (codes ascending), what the flag rests on."""

    customer: npt.NDArray[np.int64]
    purchases: npt.NDArray[np.int64]  # purchase days, the first included
    first_day: npt.NDArray[np.int64]  # date ordinals
    last_day: npt.NDArray[np.int64]
    alive_now: FloatArray
    alive_before: FloatArray  # at today - lookback_days (1.0 for clients new since then)
    value: FloatArray  # spend expected over the next year, if still a client
    flagged: npt.NDArray[np.bool_]
    model: bgnbd.BgNbd | None  # None when there were too few repeat clients to fit
    note: str = ""

    def typical_gap_days(self) -> FloatArray:
        """Return each client's mean days between purchases (0 for one purchase)."""
        gaps = (self.last_day - self.first_day) / np.maximum(self.purchases - 1, 1)
        return np.where(self.purchases > 1, gaps, 0.0)


def _value(
    history: bgnbd.Summary,
    customer: npt.ArrayLike,
    day: npt.ArrayLike,
    amount: npt.ArrayLike,
    *,
    today: int,
    model: bgnbd.BgNbd,
) -> FloatArray:
    """Return the spend expected from each client over the next year (0 if it can't be fitted)."""
    mean_spend = spend.repeat_spend(customer, day, amount, calibration_end=today)
    try:
        spending = spend.fit_spend(history.x, mean_spend)
    except (ValueError, ArithmeticError):
        return np.zeros(history.customers)
    return spend.expected_value(
        history, mean_spend=mean_spend, timing=model, spend=spending, horizon=HORIZON_WEEKS
    )


def _alive_before(
    history: bgnbd.Summary,
    customer: npt.ArrayLike,
    day: npt.ArrayLike,
    *,
    before: int,
    model: bgnbd.BgNbd,
) -> FloatArray:
    """Return each client's probability alive on the earlier day (1 for clients new since)."""
    earlier = bgnbd.summary(customer, day, calibration_end=before, unit_days=WEEK)
    alive = np.ones(history.customers)
    position = np.searchsorted(history.customer, earlier.customer)
    alive[position] = model.probability_alive(earlier.x, earlier.t_x, earlier.T)
    return alive


def scan(
    customer: npt.ArrayLike,
    day: npt.ArrayLike,
    amount: npt.ArrayLike,
    *,
    today: dt.date,
    lookback_days: int = LOOKBACK_DAYS,
    min_repeat_clients: int = MIN_REPEAT_CLIENTS,
    fall: float = bgnbd.AT_RISK_FALL,
    alive_below: float = bgnbd.AT_RISK_ALIVE_BELOW,
) -> RiskScan:
    """Scan one store's purchase lines (client code, date ordinal, net amount) up to today."""
    now = today.toordinal()
    days = bgnbd.purchase_days(customer, day, through=now, amount=amount)
    history = bgnbd.summarise_days(days, calibration_end=now, unit_days=WEEK)
    starts = np.searchsorted(days.customer, history.customer)
    ends = np.r_[starts[1:], days.customer.size] - 1
    found: dict[str, Any] = {
        "customer": history.customer,
        "purchases": (history.x + 1).astype(np.int64),
        "first_day": days.day[starts] if starts.size else np.zeros(0, dtype=np.int64),
        "last_day": days.day[ends] if starts.size else np.zeros(0, dtype=np.int64),
    }
    repeaters = int((history.x > 0).sum())
    if repeaters < min_repeat_clients:
        ones = np.ones(history.customers)
        return RiskScan(
            **found,
            alive_now=ones,
            alive_before=ones,
            value=np.zeros(history.customers),
            flagged=np.zeros(history.customers, dtype=bool),
            model=None,
            note=f"{repeaters} clients came back, fewer than the {min_repeat_clients} needed",
        )
    model = bgnbd.fit(history.x, history.t_x, history.T, penalty=PENALTY)
    alive_now = model.probability_alive(history.x, history.t_x, history.T)
    alive_before = _alive_before(history, customer, day, before=now - lookback_days, model=model)
    # What they would be worth over the next year if still a client: the expected spend counts
    # the chance they left, which would hide exactly the clients this scan looks for.
    value = _value(history, customer, day, amount, today=now, model=model) / np.maximum(
        alive_now, 0.01
    )
    flagged = bgnbd.at_risk(alive_now, alive_before, value, fall=fall, alive_below=alive_below)
    return RiskScan(
        **found,
        alive_now=alive_now,
        alive_before=alive_before,
        value=value,
        flagged=flagged,
        model=model,
    )
