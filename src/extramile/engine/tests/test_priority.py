import pytest

from extramile.engine.priority import KIND_BASE, priority_score, urgency

MARKETING = (
    "important_date",
    "buying_season",
    "new_arrival_match",
    "at_risk",
    "gesture",
    "referral_ask",
    "sale_preview",
)
SERVICE = (
    "order_check_in",
    "service_recovery",
    "cancellation_courtesy",
    "detractor_recovery",
    "problem_follow_up",
    "handover",
    "referral_thanks",
    "introduction",
)


def test_every_kind_is_service_or_marketing():
    assert set(KIND_BASE) == set(MARKETING) | set(SERVICE)


def test_priority_adds_kind_fit_and_urgency():
    # given a birthday moment with a fit of 0.6, due in 12 hours, expiring in 42 hours
    # when
    priority = priority_score(
        kind="important_date", score=0.6, hours_until_due=12, hours_until_expiry=42
    )
    # then 30 + 15 * 0.6 + 5 * (1 - 12/48) + 5 * (1 - 42/168)
    assert priority == 30 + 9 + 3.75 + 3.75


def test_the_weakest_service_action_beats_the_strongest_marketing_one():
    # given
    weakest_service = min(
        priority_score(kind=kind, score=0.0, hours_until_due=1000, hours_until_expiry=None)
        for kind in SERVICE
    )
    strongest_marketing = max(
        priority_score(kind=kind, score=1.0, hours_until_due=-5, hours_until_expiry=0)
        for kind in MARKETING
    )
    # then
    assert weakest_service == 70.0
    assert strongest_marketing == 55.0


def test_check_in_and_service_recovery_rank_highest():
    # when
    bases = sorted(KIND_BASE, key=KIND_BASE.__getitem__, reverse=True)
    # then
    assert set(bases[:2]) == {"order_check_in", "service_recovery"}


def test_a_sooner_due_and_a_sooner_expiry_raise_the_priority():
    # given
    later = priority_score(
        kind="buying_season", score=0.5, hours_until_due=40, hours_until_expiry=150
    )
    sooner_due = priority_score(
        kind="buying_season", score=0.5, hours_until_due=2, hours_until_expiry=150
    )
    sooner_expiry = priority_score(
        kind="buying_season", score=0.5, hours_until_due=40, hours_until_expiry=10
    )
    # then
    assert sooner_due > later
    assert sooner_expiry > later


def test_a_better_fit_raises_the_priority():
    # when
    weak = priority_score(
        kind="new_arrival_match", score=0.2, hours_until_due=0, hours_until_expiry=None
    )
    strong = priority_score(
        kind="new_arrival_match", score=0.9, hours_until_due=0, hours_until_expiry=None
    )
    # then
    assert strong - weak == pytest.approx(15 * 0.7)


def test_scores_outside_zero_to_one_are_clamped():
    # when
    above = priority_score(
        kind="new_arrival_match", score=7.0, hours_until_due=100, hours_until_expiry=None
    )
    below = priority_score(
        kind="new_arrival_match", score=-3.0, hours_until_due=100, hours_until_expiry=None
    )
    # then
    assert above == 40.0
    assert below == 25.0


def test_urgency_is_full_when_overdue_and_none_past_the_horizon():
    assert urgency(-3, horizon_hours=48) == 1.0
    assert urgency(24, horizon_hours=48) == 0.5
    assert urgency(100, horizon_hours=48) == 0.0
    assert urgency(None, horizon_hours=48) == 0.0


def test_an_unknown_kind_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown action kind 'type3'.*order_check_in"):
        priority_score(kind="type3", score=0.5, hours_until_due=0, hours_until_expiry=None)


def test_a_score_that_is_not_a_number_is_refused():
    with pytest.raises(ValueError, match="not a number"):
        priority_score(
            kind="buying_season", score=float("nan"), hours_until_due=0, hours_until_expiry=None
        )
