"""Priority of an action: the kind first (service before marketing), then fit, then urgency."""

from __future__ import annotations

import math

# The base of each kind. Service kinds sit above any marketing action whatever its fit or
# urgency (the lowest service base, 70, is more than the highest marketing total, 55):
# a client who just ordered or met a problem comes before a new arrival.
KIND_BASE = {
    "service_recovery": 80.0,
    "order_check_in": 80.0,
    "cancellation_courtesy": 70.0,
    "important_date": 30.0,
    "buying_season": 25.0,
    "new_arrival_match": 25.0,
    "sale_preview": 25.0,
    "at_risk": 28.0,  # a valuable client slipping away: before a new arrival, after a birthday
    "detractor_recovery": 78.0,  # an unhappy survey answer is a problem met
    "problem_follow_up": 72.0,
    "handover": 70.0,  # a client's new associate introduces themselves
    "referral_thanks": 70.0,
    "introduction": 70.0,
    "gesture": 27.0,  # the weekly plan's gestures
    "referral_ask": 20.0,
}
FIT_WEIGHT = 15.0  # the detector's score, from 0 to 1
DUE_WEIGHT = 5.0  # due now or overdue: the full weight; due in DUE_HORIZON_HOURS or later: none
EXPIRY_WEIGHT = 5.0  # expiring now: the full weight; in EXPIRY_HORIZON_HOURS or later: none
DUE_HORIZON_HOURS = 48.0
EXPIRY_HORIZON_HOURS = 168.0


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def urgency(hours_left: float | None, *, horizon_hours: float) -> float:
    """Return 1 for now or past, falling linearly to 0 at the horizon; 0 when there is no end."""
    if hours_left is None:
        return 0.0
    return _clamp(1.0 - hours_left / horizon_hours)


def priority_score(
    *, kind: str, score: float, hours_until_due: float, hours_until_expiry: float | None
) -> float:
    """Return the priority of an action (higher first), rounded to two decimals."""
    if kind not in KIND_BASE:
        known = ", ".join(sorted(KIND_BASE))
        raise ValueError(f"Unknown action kind {kind!r} (known: {known}).")
    if math.isnan(score):
        raise ValueError("The detector's score is not a number.")
    total = (
        KIND_BASE[kind]
        + FIT_WEIGHT * _clamp(score)
        + DUE_WEIGHT * urgency(hours_until_due, horizon_hours=DUE_HORIZON_HOURS)
        + EXPIRY_WEIGHT * urgency(hours_until_expiry, horizon_hours=EXPIRY_HORIZON_HOURS)
    )
    return round(total, 2)
