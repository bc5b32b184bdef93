"""Use cases of the weekly extra-mile plan: build each associate's plan, mark done, record outcome.

Each week (Monday, in the store's time zone) every active associate gets a few of their own
clients (the store's `plan_size`, 3 unless it says otherwise) where a gesture above the usual
matters most (extramile.engine.loyalty.pick_plan): a client newly at risk, a valuable client who
is still neutral, an advocate to thank, a promoter to grow. Clients planned in the last four
weeks give others a turn. Each comes with a reason in plain words and gesture ideas from the
client's own data: an important date coming up, a small gift learnt from the store's baskets
(the complement of their last purchase that is cheap and in stock, as service recovery finds
it), a need they told us, something they like.

Each planned client is also a `gesture` candidate (extramile.moments.detectors.gesture) that
goes through the rules of contact: a client the rules silence (no consent, an open problem, the
cap) is passed over for the next; one the holdout draws is recorded as a held-out plan item,
never shown to the associate, so the dashboard can measure what gestures earn. Building is
idempotent: an associate who has a plan for the week keeps it.

A plan item goes planned → done (with what was done; the gesture's action is completed with
it) → outcome recorded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from extramile.accounts.access import can_access_store, scope_to_user
from extramile.accounts.models import Role, Store, User
from extramile.catalog.models import Product
from extramile.clients.models import Client, Need, Preference
from extramile.engine.loyalty import (
    LoyaltyFacts,
    PlanCandidate,
    PlanPick,
    PlanWhy,
    Stage,
    pick_plan,
    stage_of,
)
from extramile.engine.occasions import next_occurrence
from extramile.loyalty.models import PlanItem, PlanOutcome, PlanState, Referral, Survey
from extramile.loyalty.services import month_of, rules_of, stages_at
from extramile.loyalty.stages import facts_of
from extramile.moments.detectors.calendar_support import (
    CONTACTABLE,
    STANDING,
    net_spend,
    spend_ranks,
    zone_named,
)
from extramile.moments.detectors.gesture import PlannedGesture, candidate_for, key_for
from extramile.moments.detectors.important_date import occasion_word
from extramile.moments.detectors.service_calls import money, spoken_date
from extramile.moments.detectors.service_recovery import suggest_surprise
from extramile.moments.lifecycle import ACTIONABLE_STATES, complete_action
from extramile.moments.models import Action, ActionKey, ActionState
from extramile.moments.proposals import propose_actions
from extramile.orders.models import Order

RECENT_WEEKS = 4
DATE_AHEAD_DAYS = 30
MAX_IDEAS = 4
# Picks read beyond the plan's size, to fill it when the rules pass some clients over.
SPARE_FACTOR = 3


def week_of(now: dt.datetime, store: Store) -> dt.date:
    """The Monday of the week `now` falls in, in the store's time zone."""
    local = now.astimezone(zone_named(store.time_zone)).date()
    return local - dt.timedelta(days=local.weekday())


def plan_associates(store: Store) -> QuerySet[User]:
    """The store's active associates, who each get a weekly plan."""
    return User.objects.filter(
        store=store, role=Role.ASSOCIATE, is_active=True, deactivated_at__isnull=True
    ).order_by("username")


@dataclass
class PlanBuild:
    """What building one store's plans did."""

    week: dt.date
    items: list[PlanItem] = field(default_factory=list)
    held_out: int = 0
    passed_over: int = 0
    kept: list[str] = field(default_factory=list)  # associates who already had a plan


def build_plans(*, store: Store, now: dt.datetime, week: dt.date | None = None) -> PlanBuild:
    """Build the week's plan of every associate of the store who has none yet."""
    week = week or week_of(now, store)
    if week.weekday() != 0:
        raise ValidationError({"week": f"{week:%A %d %B %Y} is not a Monday."})
    build = PlanBuild(week=week)
    planned = set(
        PlanItem.objects.filter(store=store, week=week).values_list("associate_id", flat=True)
    )
    associates = [a for a in plan_associates(store) if a.pk not in planned]
    build.kept = sorted(User.objects.filter(pk__in=planned).values_list("username", flat=True))
    if not associates:
        return build
    clients = list(
        Client.objects.filter(
            store=store, status__in=CONTACTABLE, primary_associate__in=associates
        ).select_related("store", "primary_associate")
    )
    facts = facts_of(clients, now=now)
    month = month_of(now, store)
    previous = stages_at(clients, month=(month - dt.timedelta(days=1)).replace(day=1))
    ranks = spend_ranks([store], now=now)
    recent = set(
        PlanItem.objects.filter(
            store=store,
            week__gte=week - dt.timedelta(weeks=RECENT_WEEKS),
            week__lt=week,
        ).values_list("client_id", flat=True)
    )
    size = rules_of(store).plan_size
    by_id = {c.pk: c for c in clients}
    for associate in associates:
        theirs = [c for c in clients if c.primary_associate_id == associate.pk]
        candidates = [
            PlanCandidate(
                client_id=c.pk,
                stage=stage_of(facts[c.pk]),
                previous_stage=previous.get(c.pk),
                value_rank=ranks.get(c.pk, 0.0),
                recently_planned=c.pk in recent,
            )
            for c in theirs
        ]
        picks = pick_plan(candidates, size=size * SPARE_FACTOR)
        shown = 0
        for pick in picks:
            if shown >= size:
                break
            client = by_id[pick.client_id]
            item = _plan_one(
                client,
                associate=associate,
                week=week,
                pick=pick,
                facts=facts[client.pk],
                value_rank=ranks.get(client.pk, 0.0),
                rank=shown + 1,
                now=now,
            )
            if item is None:
                build.passed_over += 1
            elif item.state == PlanState.HELD_OUT:
                build.held_out += 1
            else:
                shown += 1
                build.items.append(item)
    return build


def _plan_one(
    client: Client,
    *,
    associate: User,
    week: dt.date,
    pick: PlanPick,
    facts: LoyaltyFacts,
    value_rank: float,
    rank: int,
    now: dt.datetime,
) -> PlanItem | None:
    """Propose the gesture and record the plan item (None when the rules passed it over)."""
    stage = stage_of(facts)
    reason, evidence = reason_for(client, why=pick.why, facts=facts, value_rank=value_rank, now=now)
    ideas = gesture_ideas(client, why=pick.why, now=now)
    planned = PlannedGesture(
        client=client,
        associate=associate,
        week=week,
        why=pick.why.value,
        reason=reason,
        ideas=ideas,
        score=pick.score,
        evidence=evidence,
    )
    with transaction.atomic():
        result = propose_actions([candidate_for(planned, now=now)], now=now)
        action: Action | None
        if result.created or result.merged:
            action, state = (result.created or result.merged)[0], PlanState.PLANNED
        elif result.held_out:
            action, state = result.held_out[0], PlanState.HELD_OUT
        elif result.duplicates:
            key = ActionKey.objects.filter(key=key_for(client, week)).select_related("action")
            found = key.first()
            action = found.action if found else None
            if action is None or action.state == ActionState.SUPPRESSED:
                return None
            held = action.state == ActionState.HELD_OUT
            state = PlanState.HELD_OUT if held else PlanState.PLANNED
        else:
            return None  # suppressed: no consent, an open problem, the cap
        item, _ = PlanItem.objects.get_or_create(
            associate=associate,
            week=week,
            client=client,
            defaults={
                "store": client.store,
                "rank": rank,
                "why": pick.why.value,
                "stage": stage.value,
                "reason": reason,
                "ideas": ideas,
                "evidence": evidence,
                "score": pick.score,
                "action": action,
                "state": state,
                "created_at": now,
            },
        )
    return item


# --- Words: the reason and the gesture ideas ----------------------------------------------------


def reason_for(
    client: Client, *, why: PlanWhy, facts: LoyaltyFacts, value_rank: float, now: dt.datetime
) -> tuple[str, dict[str, Any]]:
    """Say why a gesture for this client matters this week, and the facts behind it."""
    store = client.store
    zone = zone_named(store.time_zone)
    name = client.first_name or client.full_name or "This client"
    spent = net_spend([client.pk], now=now).get(client.pk, 0.0)
    spent_words = money(Decimal(round(spent)), store.currency)
    top = max(1, round((1 - value_rank) * 100))
    evidence: dict[str, Any] = {
        "stage": stage_of(facts).value,
        "purchases": facts.purchases,
        "spent_last_year": round(spent, 2),
        "value_rank": round(value_rank, 3),
        "latest_score": facts.latest_score,
        "referrals_made": facts.referrals_made,
        "chance_active": facts.alive,
    }
    last = _last_order(client, now=now)
    last_words = (
        f"last bought on {spoken_date(last.placed_at, zone)} {last.placed_at.year}"
        if last
        else "has not bought yet"
    )
    survey = _last_answer(client, now=now)
    if why == PlanWhy.NEWLY_AT_RISK:
        if survey is not None and survey.score is not None and survey.score <= 6:
            assert survey.answered_at is not None
            detail = (
                f"answered our survey on {spoken_date(survey.answered_at, zone)} with "
                f"{survey.score} out of 10"
            )
        elif facts.alive is not None:
            detail = (
                f"{last_words} ({facts.purchases} purchases in all), and by their own rhythm the "
                f"chance they still shop with us is down to {facts.alive:.0%}"
            )
        else:
            detail = (
                f"{last_words}, well past their usual rhythm of about "
                f"{max(1, round(facts.typical_gap_days / 7))} weeks"
            )
        text = f"{name} is newly at risk: {detail}. A gesture now can keep them."
    elif why == PlanWhy.VALUABLE_NEUTRAL:
        text = (
            f"{name} is among your most valuable clients (top {top}% of the store by spend, "
            f"{spent_words} over the last year; {last_words}) but has not yet told anyone about "
            "us. Something above the usual can make them a promoter."
        )
    elif why == PlanWhy.ADVOCATE_TO_THANK:
        referral = (
            Referral.objects.filter(referrer=client)
            .select_related("referred")
            .order_by("-recorded_at")
            .first()
        )
        if referral is not None:
            evidence["referral"] = {"id": referral.pk, "referred": referral.referred.full_name}
            sent = (
                f"sent us {referral.referred.full_name} (recorded on "
                f"{spoken_date(referral.recorded_at, zone)} {referral.recorded_at.year})"
            )
        else:
            sent = "sends us clients"
        text = f"{name} {sent}: an advocate. Thank them in a way they will remember."
    else:
        score = ""
        if survey is not None and survey.answered_at is not None:
            score = (
                f" gave us {survey.score} out of 10 on "
                f"{spoken_date(survey.answered_at, zone)} {survey.answered_at.year} and"
            )
        text = (
            f"{name}{score} is a promoter. A personal gesture can turn a promoter into an advocate."
        )
    return text, evidence


def _last_order(client: Client, *, now: dt.datetime) -> Order | None:
    return (
        Order.objects.filter(client=client, status__in=STANDING, placed_at__lte=now)
        .order_by("-placed_at", "-id")
        .first()
    )


def _last_answer(client: Client, *, now: dt.datetime) -> Survey | None:
    return (
        Survey.objects.filter(client=client, score__isnull=False, answered_at__lte=now)
        .order_by("-answered_at", "-id")
        .first()
    )


def gesture_ideas(client: Client, *, why: PlanWhy, now: dt.datetime) -> list[str]:
    """Concrete gestures from the client's data: a date, a small gift, a need, a like."""
    store = client.store
    zone = zone_named(store.time_zone)
    today = now.astimezone(zone).date()
    ideas: list[str] = []
    for date in client.important_dates.all().order_by("month", "day"):
        day = next_occurrence(date.month, date.day, today=today)
        if (day - today).days <= DATE_AHEAD_DAYS:
            what = occasion_word(date.kind, date.label)
            ideas.append(
                f"Their {what} is on {day:%A} {day.day} {day:%B}: send a handwritten card "
                "a few days before."
            )
            break
    last = _last_order(client, now=now)
    if last is not None:
        items = [
            line.product
            for line in last.lines.select_related("product").order_by("id")
            if line.product is not None
        ]
        bought = (
            set(
                Product.objects.filter(order_lines__order__client=client).values_list(
                    "id", flat=True
                )
            )
            if items
            else set()
        )
        surprise = suggest_surprise(store=store, items=items, exclude=bought, now=now)
        if surprise is not None:
            ideas.append(
                f"They bought the {surprise.goes_with.title} on "
                f"{spoken_date(last.placed_at, zone)}; clients who buy it most often also take "
                f"the {surprise.product.title} ({money(surprise.product.price, store.currency)}, "
                f"{surprise.in_stock} in stock): set one aside as a gift."
            )
    need = Need.objects.filter(client=client, met_at__isnull=True).order_by("-stated_at").first()
    if need is not None:
        ideas.append(
            f"They told us on {spoken_date(need.stated_at, zone)} {need.stated_at.year}: "
            f'"{need.text}". Look out for it and call them the day you find it.'
        )
    like = (
        Preference.objects.filter(client=client, likes=True)
        .exclude(dimension="price_band")
        .order_by("-recorded_at", "id")
        .first()
    )
    if like is not None:
        ideas.append(
            f"They like {like.value} ({like.get_dimension_display().lower()}): hand-pick one "
            "new piece and send them a photo before anyone else sees it."
        )
    ideas.append(
        {
            PlanWhy.NEWLY_AT_RISK: "A personal call with nothing to sell: ask how their last "
            "purchase is working out, and listen.",
            PlanWhy.VALUABLE_NEUTRAL: "Invite them to a private appointment before the next "
            "arrivals go on the floor.",
            PlanWhy.ADVOCATE_TO_THANK: "A handwritten thank-you note, delivered with a small gift.",
            PlanWhy.PROMOTER_TO_GROW: "Invite them to bring a friend to a private appointment.",
        }[why]
    )
    return ideas[:MAX_IDEAS]


# --- Done and outcome -------------------------------------------------------------------------


def visible_plan_items(user: User) -> QuerySet[PlanItem]:
    """The plan items this member of staff may see: their store's (admins: all)."""
    return scope_to_user(PlanItem.objects.all(), user).select_related(
        "client", "associate", "store", "action"
    )


def _may_change(item: PlanItem, user: User) -> None:
    if item.associate_id == user.pk:
        return
    if user.role in (Role.MANAGER, Role.ADMIN) and can_access_store(user, item.store_id):
        return
    raise PermissionDenied("Only the associate whose plan it is, or a manager, may change it.")


def mark_done(item: PlanItem, *, by: User, note: str, now: dt.datetime | None = None) -> PlanItem:
    """Record what was done for the client; the gesture's action is completed with it."""
    now = now or timezone.now()
    note = note.strip()
    if not note:
        raise ValidationError({"note": "Say what you did."})
    _may_change(item, by)
    with transaction.atomic():
        locked = PlanItem.objects.select_for_update().get(pk=item.pk)
        if locked.state != PlanState.PLANNED:
            raise ValidationError(
                {"state": f"This gesture is {locked.get_state_display().lower()} already."}
            )
        locked.state = PlanState.DONE
        locked.done_at = now
        locked.done_note = note
        locked.save(update_fields=["state", "done_at", "done_note"])
        action = locked.action
        if action is not None and action.state in ACTIONABLE_STATES:
            complete_action(action, by=by, outcome=note, now=now)
    item.refresh_from_db()
    return item


def record_outcome(
    item: PlanItem, *, by: User, outcome: str, note: str = "", now: dt.datetime | None = None
) -> PlanItem:
    """Record what came of a gesture done (it may be recorded again as things move on)."""
    now = now or timezone.now()
    if outcome not in PlanOutcome.values:
        raise ValidationError({"outcome": "Choose one of the outcomes."})
    _may_change(item, by)
    with transaction.atomic():
        locked = PlanItem.objects.select_for_update().get(pk=item.pk)
        if locked.state not in (PlanState.DONE, PlanState.OUTCOME):
            raise ValidationError({"state": "Mark the gesture done before its outcome."})
        locked.state = PlanState.OUTCOME
        locked.outcome = outcome
        locked.outcome_note = note.strip()
        locked.outcome_at = now
        locked.save(update_fields=["state", "outcome", "outcome_note", "outcome_at"])
    item.refresh_from_db()
    return item


def stage_label(value: str) -> str:
    """A stage value as staff read it."""
    return Stage(value).label
