"""The loyalty ladder: which stage a client is at, and whom a weekly gesture would move most.

A stage is read from what the client did, not from who they are: how often and how lately they
bought, the last survey score they gave (NPS, 0 to 10), how many clients they sent us, and the
purchase-timing model's chance that they are still a client (extramile.engine.bgnbd, through
extramile.engine.retention). The rules, first match wins:

1. **lapsed** — bought before, but the chance they are still a client is below LAPSED_ALIVE,
   or their last purchase is more than LAPSED_DAYS ago.
2. **at risk** — their last survey answer (within SURVEY_DAYS) was a detractor's (0 to 6), or the
   chance they are still a client fell below AT_RISK_ALIVE, or (no model) they are far past
   their own rhythm: more than OVERDUE_FACTOR times their usual gap and AT_RISK_MIN_DAYS.
3. **advocate** — they sent us at least one client (and gave no detractor answer).
4. **promoter** — their last survey answer was a promoter's (9 to 10).
5. **new** — at most one purchase, the first within NEW_DAYS (or none yet).
6. **neutral** — everyone else: buying, content, not yet speaking for us.

`pick_plan` chooses the few clients of one associate's weekly plan from their stages: a
valuable client who is neutral (a gesture can make them a promoter), a client newly at risk
(one can keep them), an advocate to thank (one says we noticed). Pure: no Django, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

LAPSED_ALIVE = 0.15
LAPSED_DAYS = 540
AT_RISK_ALIVE = 0.5
OVERDUE_FACTOR = 2.5
AT_RISK_MIN_DAYS = 120
NEW_DAYS = 90
SURVEY_DAYS = 365
DETRACTOR_MAX = 6
PROMOTER_MIN = 9
VALUABLE_RANK = 0.5  # a neutral client in the top half by spend is "valuable but neutral"


class Stage(StrEnum):
    """A rung of the loyalty ladder."""

    NEW = "new"
    NEUTRAL = "neutral"
    PROMOTER = "promoter"
    ADVOCATE = "advocate"
    AT_RISK = "at_risk"
    LAPSED = "lapsed"

    @property
    def label(self) -> str:
        """The stage as staff read it: "At risk"."""
        return self.value.replace("_", " ").capitalize()


@dataclass(frozen=True)
class LoyaltyFacts:
    """What one client's stage rests on, at one moment.

    Days are counted back from that moment. `alive` is the purchase-timing model's chance that
    the client still buys here (None when the store has too little history to fit it).
    """

    purchases: int = 0
    days_since_first: int | None = None
    days_since_last: int | None = None
    typical_gap_days: float = 0.0
    latest_score: int | None = None
    days_since_score: int | None = None
    referrals_made: int = 0
    alive: float | None = None


def nps_group(score: int) -> str:
    """Say which NPS group a 0 to 10 answer falls in: detractor, passive or promoter."""
    if not 0 <= score <= 10:
        raise ValueError(f"An NPS answer is 0 to 10, not {score}.")
    if score <= DETRACTOR_MAX:
        return "detractor"
    return "promoter" if score >= PROMOTER_MIN else "passive"


def stage_of(facts: LoyaltyFacts) -> Stage:
    """Return the client's stage on the loyalty ladder (the rules of the module docstring)."""
    recent_score = (
        facts.latest_score
        if facts.latest_score is not None
        and (facts.days_since_score is None or facts.days_since_score <= SURVEY_DAYS)
        else None
    )
    bought = facts.purchases > 0 and facts.days_since_last is not None
    if bought and (
        (facts.alive is not None and facts.alive < LAPSED_ALIVE)
        or (facts.days_since_last or 0) > LAPSED_DAYS
    ):
        return Stage.LAPSED
    detractor = recent_score is not None and recent_score <= DETRACTOR_MAX
    if detractor or (bought and _slipping(facts)):
        return Stage.AT_RISK
    if facts.referrals_made > 0:
        return Stage.ADVOCATE
    if recent_score is not None and recent_score >= PROMOTER_MIN:
        return Stage.PROMOTER
    if facts.purchases <= 1 and (
        facts.days_since_first is None or facts.days_since_first <= NEW_DAYS
    ):
        return Stage.NEW
    return Stage.NEUTRAL


def _slipping(facts: LoyaltyFacts) -> bool:
    if facts.purchases < 2:
        return False  # one purchase sets no rhythm to fall behind
    if facts.alive is not None:
        return facts.alive < AT_RISK_ALIVE
    since = facts.days_since_last or 0
    return since > AT_RISK_MIN_DAYS and since > OVERDUE_FACTOR * facts.typical_gap_days


# --- The weekly plan -------------------------------------------------------------------------


class PlanWhy(StrEnum):
    """Why a client is in a weekly plan."""

    NEWLY_AT_RISK = "newly_at_risk"
    VALUABLE_NEUTRAL = "valuable_neutral"
    ADVOCATE_TO_THANK = "advocate_to_thank"
    PROMOTER_TO_GROW = "promoter_to_grow"


# Which gesture matters most first: keeping a client beats growing one.
WHY_WEIGHT = {
    PlanWhy.NEWLY_AT_RISK: 1.0,
    PlanWhy.VALUABLE_NEUTRAL: 0.8,
    PlanWhy.ADVOCATE_TO_THANK: 0.7,
    PlanWhy.PROMOTER_TO_GROW: 0.5,
}


@dataclass(frozen=True)
class PlanCandidate:
    """One client an associate might plan a gesture for."""

    client_id: int
    stage: Stage
    previous_stage: Stage | None  # the stage last month (None: not known then)
    value_rank: float  # 0 to 1: the client's spend of the last year within the store
    recently_planned: bool = False  # in a plan of the last weeks: give others a turn


@dataclass(frozen=True)
class PlanPick:
    """A client chosen for the plan, why, and how much the gesture matters (0 to 1)."""

    client_id: int
    why: PlanWhy
    score: float


def plan_reason(candidate: PlanCandidate) -> PlanWhy | None:
    """Say why a gesture for this client would matter, or None when it would not stand out."""
    if candidate.stage == Stage.AT_RISK and candidate.previous_stage != Stage.AT_RISK:
        return PlanWhy.NEWLY_AT_RISK
    if candidate.stage == Stage.NEUTRAL and candidate.value_rank >= VALUABLE_RANK:
        return PlanWhy.VALUABLE_NEUTRAL
    if candidate.stage == Stage.ADVOCATE:
        return PlanWhy.ADVOCATE_TO_THANK
    if candidate.stage == Stage.PROMOTER:
        return PlanWhy.PROMOTER_TO_GROW
    return None


def pick_plan(candidates: list[PlanCandidate], *, size: int) -> list[PlanPick]:
    """Choose up to `size` clients, one of each reason before seconds, in the order chosen.

    Within a reason, the more valuable client first (ties: the lower id). Clients planned
    recently come only when nobody else is left.
    """
    scored: list[tuple[int, PlanPick]] = []
    for candidate in candidates:
        why = plan_reason(candidate)
        if why is None:
            continue
        score = round(0.6 * WHY_WEIGHT[why] + 0.4 * candidate.value_rank, 4)
        scored.append((int(candidate.recently_planned), PlanPick(candidate.client_id, why, score)))
    scored.sort(key=lambda item: (item[0], -item[1].score, item[1].client_id))
    picks: list[PlanPick] = []
    seen_why: set[PlanWhy] = set()
    # First pass: the best client of each reason, so a plan is not three of a kind.
    for recent, pick in scored:
        if len(picks) < size and pick.why not in seen_why and not recent:
            picks.append(pick)
            seen_why.add(pick.why)
    chosen = {pick.client_id for pick in picks}
    for _, pick in scored:
        if len(picks) >= size:
            break
        if pick.client_id not in chosen:
            picks.append(pick)
            chosen.add(pick.client_id)
    return picks
