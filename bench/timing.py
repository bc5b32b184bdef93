"""Time the BG/NBD fit, extramile's beside lifetimes', on CDNOW and a synthetic panel.

Both fits run in this process, one after the other, on the very same summary arrays (x, t_x,
T in weeks): the CDNOW 1/10 sample and the whole file with the 39-week calibration of
`extramile evaluate timing`, and a panel drawn from the BG/NBD generative process with the
sample's published parameters (first purchases spread over 12 weeks, so T runs from 27 to 39
weeks, as in CDNOW). On CDNOW each side fits three times and its fastest fit counts; on the
synthetic panel each side fits once. lifetimes' fit includes its Hessian (standard errors),
which it always computes. `quick` draws 100,000 synthetic customers instead of 1,000,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.harness import Table, say, speed_up
from extramile.engine import bgnbd
from extramile.engine.datasets import load_cdnow
from extramile.engine.evaluation.timing import (
    CALIBRATION_END,
    FITS,
    fastest,
    lifetimes_fit,
    lifetimes_params,
)

PANEL = 1_000_000
QUICK_PANEL = 100_000
# The CDNOW sample's parameters (Fader, Hardie & Lee 2005) drive the synthetic panel.
TRUTH = bgnbd.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, loglik=0.0, iterations=0)
NAMES = ("r", "alpha", "a", "b")


@dataclass(frozen=True)
class Race:
    """Both fits on one data set."""

    data: str
    customers: int
    fits: int  # fits per side; the fastest counts
    ours: dict[str, float]
    theirs: dict[str, float]
    ours_seconds: float
    theirs_seconds: float

    @property
    def largest_gap(self) -> float:
        """Return the largest relative difference between the two sides' parameters."""
        return max(abs(self.ours[n] / self.theirs[n] - 1) for n in NAMES)

    def as_dict(self) -> dict[str, Any]:
        """Return the numbers for the JSON file."""
        return {
            "customers": self.customers,
            "fits per side": self.fits,
            "extramile seconds": self.ours_seconds,
            "lifetimes seconds": self.theirs_seconds,
            "extramile": self.ours,
            "lifetimes": self.theirs,
        }


def race(data: str, history: bgnbd.Summary, fits: int) -> Race:
    """Fit both sides on one summary and time them."""
    say(f"timing: {data}, extramile BG/NBD fit on {history.customers:,} customers")
    model, ours_seconds = fastest(lambda: bgnbd.fit(history.x, history.t_x, history.T), fits)
    say(f"timing: {data}, lifetimes BetaGeoFitter on {history.customers:,} customers")
    fitted, theirs_seconds = lifetimes_fit(history, fits)
    return Race(
        data=data,
        customers=history.customers,
        fits=fits,
        ours={n: getattr(model, n) for n in NAMES},
        theirs=lifetimes_params(fitted),
        ours_seconds=ours_seconds,
        theirs_seconds=theirs_seconds,
    )


def cdnow_history(*, sample: bool) -> bgnbd.Summary:
    """Return the 39-week calibration summary of the CDNOW sample or of the whole file."""
    purchases = load_cdnow(sample=sample)
    return bgnbd.summary(purchases.customer, purchases.day, calibration_end=CALIBRATION_END)


def synthetic_history(customers: int) -> bgnbd.Summary:
    """Draw a CDNOW-like panel of `customers` from the BG/NBD generative process."""
    rng = np.random.default_rng(2005)
    ages = rng.uniform(27, 39, size=customers)
    x, t_x = bgnbd.simulate(TRUTH, ages, rng)
    return bgnbd.Summary(customer=np.arange(customers), x=x, t_x=t_x, T=ages)


def params_cell(values: dict[str, float]) -> str:
    """Return r / alpha / a / b for a table cell."""
    return " / ".join(f"{values[n]:.4f}" for n in NAMES)


def run(quick: bool) -> tuple[Table, dict[str, Any]]:
    """Run the three races; return the table and the numbers."""
    panel = QUICK_PANEL if quick else PANEL
    say("timing: loading CDNOW")
    races = [
        race("CDNOW 1/10 sample", cdnow_history(sample=True), FITS),
        race("CDNOW, all customers", cdnow_history(sample=False), FITS),
    ]
    say(f"timing: drawing a synthetic panel of {panel:,} customers")
    races.append(race("synthetic BG/NBD panel", synthetic_history(panel), 1))
    table = Table(
        title="BG/NBD fit: extramile beside lifetimes 0.11.3, same summary arrays, same process",
        header=[
            "data",
            "customers",
            "extramile s",
            "lifetimes s",
            "speed-up",
            "r / alpha / a / b (extramile)",
            "largest param. gap",
        ],
    )
    for one in races:
        table.add(
            one.data,
            f"{one.customers:,}",
            f"{one.ours_seconds:.3f}",
            f"{one.theirs_seconds:.3f}",
            speed_up(one.ours_seconds, one.theirs_seconds),
            params_cell(one.ours),
            f"{one.largest_gap:.1e}",
        )
    table.notes += [
        f"Calibration: purchases up to {CALIBRATION_END}, time in weeks (days / 7), repeat "
        f"purchases counted by day. CDNOW: fastest of {FITS} fits per side. Synthetic: one fit "
        f"per side on {panel:,} customers drawn with r / alpha / a / b = "
        f"{params_cell({n: getattr(TRUTH, n) for n in NAMES})}, T uniform in 27..39 weeks.",
        "Largest param. gap: the largest relative difference between the two sides' fitted "
        "parameters (both maximise the same likelihood).",
        "lifetimes' fit (BFGS with autograd gradients) includes the Hessian it always computes "
        "for standard errors; extramile's (scipy trust-exact) uses analytic gradient and "
        "Hessian and evaluates the terms of x alone once per distinct x.",
    ]
    return table, {one.data: one.as_dict() for one in races}
