"""The loyalty ladder and the weekly plan's choice, without a database."""

import pytest

from extramile.engine.loyalty import (
    LoyaltyFacts,
    PlanCandidate,
    PlanWhy,
    Stage,
    nps_group,
    pick_plan,
    plan_reason,
    stage_of,
)

REGULAR = LoyaltyFacts(
    purchases=6, days_since_first=700, days_since_last=30, typical_gap_days=60, alive=0.9
)


def facts(**changes: object) -> LoyaltyFacts:
    """A regular client who buys every two months, changed as given."""
    values = {**REGULAR.__dict__, **changes}
    return LoyaltyFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("score", "group"), [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive")]
)
def test_nps_groups_below_nine(score: int, group: str) -> None:
    # when / then
    assert nps_group(score) == group


def test_nine_and_ten_are_promoters_and_eleven_is_refused() -> None:
    # when / then
    assert [nps_group(9), nps_group(10)] == ["promoter", "promoter"]
    with pytest.raises(ValueError, match="0 to 10"):
        nps_group(11)


def test_a_regular_client_with_no_survey_or_referral_is_neutral() -> None:
    # when / then
    assert stage_of(REGULAR) == Stage.NEUTRAL


def test_a_client_with_one_recent_purchase_is_new_and_so_is_one_with_none() -> None:
    # given
    first_visit = LoyaltyFacts(purchases=1, days_since_first=20, days_since_last=20)
    # when / then
    assert stage_of(first_visit) == Stage.NEW
    assert stage_of(LoyaltyFacts()) == Stage.NEW


def test_one_purchase_long_ago_is_neutral_not_new() -> None:
    # given
    once = LoyaltyFacts(purchases=1, days_since_first=200, days_since_last=200)
    # when / then
    assert stage_of(once) == Stage.NEUTRAL


def test_a_promoters_answer_makes_a_promoter() -> None:
    # when / then
    assert stage_of(facts(latest_score=9, days_since_score=10)) == Stage.PROMOTER


def test_a_referral_makes_an_advocate_even_without_a_survey() -> None:
    # when / then
    assert stage_of(facts(referrals_made=1)) == Stage.ADVOCATE
    assert stage_of(facts(referrals_made=2, latest_score=10, days_since_score=3)) == Stage.ADVOCATE


def test_a_detractors_answer_puts_even_an_advocate_at_risk() -> None:
    # when / then
    assert stage_of(facts(latest_score=6, days_since_score=5, referrals_made=1)) == Stage.AT_RISK


def test_a_detractors_answer_older_than_a_year_no_longer_counts() -> None:
    # when / then
    assert stage_of(facts(latest_score=2, days_since_score=400)) == Stage.NEUTRAL


def test_a_falling_chance_of_still_being_a_client_means_at_risk() -> None:
    # when / then
    assert stage_of(facts(alive=0.4, days_since_last=200)) == Stage.AT_RISK


def test_without_a_model_being_far_past_ones_rhythm_means_at_risk() -> None:
    # given: every 60 days, last seen 160 days ago (more than 2.5 rhythms and 120 days)
    overdue = facts(alive=None, days_since_last=160)
    on_time = facts(alive=None, days_since_last=100)
    # when / then
    assert stage_of(overdue) == Stage.AT_RISK
    assert stage_of(on_time) == Stage.NEUTRAL


def test_a_client_almost_surely_gone_or_gone_for_18_months_is_lapsed() -> None:
    # when / then
    assert stage_of(facts(alive=0.1)) == Stage.LAPSED
    assert stage_of(facts(alive=None, days_since_last=600)) == Stage.LAPSED
    assert stage_of(facts(alive=0.1, referrals_made=3)) == Stage.LAPSED


def test_stage_labels_read_as_words() -> None:
    # when / then
    assert Stage.AT_RISK.label == "At risk"
    assert Stage.ADVOCATE.label == "Advocate"


def candidate(pk: int, stage: Stage, rank: float, **more: object) -> PlanCandidate:
    return PlanCandidate(
        client_id=pk,
        stage=stage,
        previous_stage=more.pop("previous", Stage.NEUTRAL),  # type: ignore[arg-type]
        value_rank=rank,
        **more,  # type: ignore[arg-type]
    )


def test_plan_reasons_follow_the_stage_and_its_change() -> None:
    # when / then
    assert plan_reason(candidate(1, Stage.AT_RISK, 0.2)) == PlanWhy.NEWLY_AT_RISK
    assert plan_reason(candidate(1, Stage.AT_RISK, 0.9, previous=Stage.AT_RISK)) is None
    assert plan_reason(candidate(1, Stage.NEUTRAL, 0.8)) == PlanWhy.VALUABLE_NEUTRAL
    assert plan_reason(candidate(1, Stage.NEUTRAL, 0.3)) is None
    assert plan_reason(candidate(1, Stage.ADVOCATE, 0.1)) == PlanWhy.ADVOCATE_TO_THANK
    assert plan_reason(candidate(1, Stage.PROMOTER, 0.1)) == PlanWhy.PROMOTER_TO_GROW
    assert plan_reason(candidate(1, Stage.NEW, 1.0)) is None
    assert plan_reason(candidate(1, Stage.LAPSED, 1.0)) is None


def test_a_plan_takes_one_of_each_reason_before_a_second_of_any() -> None:
    # given: three valuable neutrals, one newly at risk, one advocate
    pool = [
        candidate(1, Stage.NEUTRAL, 0.99),
        candidate(2, Stage.NEUTRAL, 0.98),
        candidate(3, Stage.NEUTRAL, 0.97),
        candidate(4, Stage.AT_RISK, 0.2),
        candidate(5, Stage.ADVOCATE, 0.1),
        candidate(6, Stage.NEW, 1.0),
    ]
    # when
    picks = pick_plan(pool, size=3)
    # then
    assert sorted(p.client_id for p in picks) == [1, 4, 5]
    assert {p.why for p in picks} == {
        PlanWhy.VALUABLE_NEUTRAL,
        PlanWhy.NEWLY_AT_RISK,
        PlanWhy.ADVOCATE_TO_THANK,
    }


def test_a_plan_fills_up_with_the_next_best_and_gives_recently_planned_clients_a_rest() -> None:
    # given: only valuable neutrals, the best of them planned lately
    pool = [
        candidate(1, Stage.NEUTRAL, 0.99, recently_planned=True),
        candidate(2, Stage.NEUTRAL, 0.9),
        candidate(3, Stage.NEUTRAL, 0.8),
    ]
    # when
    picks = pick_plan(pool, size=2)
    # then
    assert [p.client_id for p in picks] == [2, 3]
    assert [p.client_id for p in pick_plan(pool, size=3)] == [2, 3, 1]


def test_an_empty_pool_makes_an_empty_plan() -> None:
    # when / then
    assert pick_plan([candidate(1, Stage.NEW, 0.5)], size=3) == []
