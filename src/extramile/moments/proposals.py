"""Turn detectors' candidates into actions under the rules of contact.

Each candidate is decided in its own transaction, on the client's locked row, in this order:

1. **Once per moment.** A candidate whose key is already recorded changes nothing and counts as
   a duplicate. The key's unique index settles a race between two runs: the loser's write fails
   and it counts a duplicate too. A candidate marked `refresh` (a refund after the cancellation
   it follows) instead brings the moment's action up to date while it is still open: its
   reason, evidence and draft are replaced by the newer ones, and it counts as updated.
2. **Who.** The candidate's associate; else the client's primary associate if still active —
   but a service action due on a day they are away (accounts.Absence) goes to their named
   backup; else the store's active associate with the fewest open actions (a manager if the
   store has no associate).
3. **Silence.** A marketing candidate is suppressed when the client has an open problem, or
   when no channel is consented. Suppressed and held-out actions are recorded with their key,
   so a rerun adds nothing, and are never shown.
4. **Channel.** The candidate's channel when allowed, else the best allowed one: for marketing
   email, then SMS, then a call, each only with the client's consent and an address. Service
   contacts (an order check-in, a cancellation courtesy call, service recovery) are about the
   client's own order or problem, so they need no marketing consent: a call needs only a phone
   number and no explicit "no" to calls; email and SMS still need consent. The order is phone,
   then email, then SMS. A service candidate with no allowed channel is suppressed too.
5. **One contact.** When the client already has an open action of the same purpose, the
   candidate is merged into it (its reason, evidence, products and key join it; the higher
   priority and the earlier due time win) instead of making a second action. A merge adds no
   contact, so the cap below does not stop it. An earlier due time that falls on another day
   is taken only when the associate has room that day (marketing), so a merge never fills a
   day beyond `daily_capacity`.
6. **Cap.** A marketing candidate is suppressed when the client's marketing contacts — done in
   the last `marketing_cap_days`, plus those still open or snoozed, which will happen —
   reach `marketing_cap`. Service contacts are never capped.
7. **When.** An action is due when the candidate says, but not before now, and never in the
   quiet hours of the client's own time zone (a call no more than a message): the due time
   moves to their end, and an expiry that would then fall first moves with it — unless the
   candidate is `urgent` (the client reported an urgent problem and is waiting now). A marketing
   action for an associate whose local day already holds `daily_capacity` open actions moves
   to the next day with room (suppressed if none comes before it expires); service actions
   are never deferred.
8. **Holdout.** An eligible marketing action is held out with probability `holdout_share`,
   decided by a hash of the moment's holdout key (extramile.moments.holdout: the client's own
   reference and the occasion, no database ids), so the same moment is decided the same way
   every time and on every install, and a test can predict it. Its draw is recorded on the
   action (`holdout_draw`); a held-out action is recorded as "held_out" with the time it would
   have been due, for attribution, and never shown. Service actions are never held out.
9. **Priority** from the kind, the detector's score and the urgency (extramile.engine.priority).
   A batch is decided in order of priority, most important first, so a birthday is not
   crowded out of a full day by new arrivals that happened to be found first.

A batch reads what the rules consult for many candidates at once (extramile.moments.batch): the
stores' rules, consents, open problems, the keys already recorded, the associates' open
actions per day and their absences, then keeps them up to date with its own decisions. Inside
each candidate's transaction, after the client's lock, it reads only what the lock guards: the
client's row and the client's actions of the same purpose (the one to merge into, and the
contacts that count towards the cap).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from extramile.accounts.models import Role, Store, User, is_working
from extramile.clients.models import Channel, Client, Consent
from extramile.engine.priority import priority_score
from extramile.moments.batch import CHUNK, BatchFacts
from extramile.moments.candidates import Candidate, ShownProduct
from extramile.moments.governance import (
    client_zone,
    consented_channels,
    marketing_done_since,
    next_allowed_time,
)
from extramile.moments.holdout import draw_for
from extramile.moments.models import (
    Action,
    ActionChannel,
    ActionKey,
    ActionKind,
    ActionProduct,
    ActionPurpose,
    ActionState,
    StoreRules,
)

MARKETING_CHANNELS = (ActionChannel.EMAIL, ActionChannel.SMS, ActionChannel.PHONE)
SERVICE_CHANNELS = (ActionChannel.PHONE, ActionChannel.EMAIL, ActionChannel.SMS)
# How far a full calendar may push a marketing action before it is given up.
MAX_DEFERRAL_DAYS = 30
NUMBER_WORDS = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six"}


@dataclass
class ProposalResult:
    """What the rules made of a batch of candidates; `merged` has one entry per merge."""

    created: list[Action] = field(default_factory=list)
    merged: list[Action] = field(default_factory=list)
    updated: list[Action] = field(default_factory=list)
    duplicates: int = 0
    held_out: list[Action] = field(default_factory=list)
    suppressed: list[Action] = field(default_factory=list)

    def add(self, other: ProposalResult) -> None:
        """Add another result's counts and actions to this one."""
        self.created.extend(other.created)
        self.merged.extend(other.merged)
        self.updated.extend(other.updated)
        self.duplicates += other.duplicates
        self.held_out.extend(other.held_out)
        self.suppressed.extend(other.suppressed)

    def created_by_kind(self) -> dict[str, int]:
        """Count the created (shown) actions per kind."""
        return dict(Counter(action.kind for action in self.created))


@dataclass
class _Decision:
    outcome: str  # created, merged, updated, duplicate, held_out, suppressed
    action: Action | None = None
    was_due: dt.datetime | None = None  # a merged action's due time before the merge


def propose_actions(candidates: list[Candidate], *, now: dt.datetime) -> ProposalResult:
    """Apply the rules of contact to each candidate and record the actions they lead to."""
    result = ProposalResult()
    # The most important moments go first, so that they take an associate's scarce day and
    # lead the actions that later reasons merge into (a stable sort: ties keep their order).
    ordered = sorted(candidates, key=lambda c: -_first_priority(c, now=now))
    rules: dict[int, StoreRules] = {}
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        facts = BatchFacts.read(chunk, now=now, rules=rules)
        for candidate in chunk:
            decision = _decide(candidate, facts=facts, now=now)
            if decision.outcome == "duplicate":
                result.duplicates += 1
            else:
                assert decision.action is not None
                getattr(result, decision.outcome).append(decision.action)
    return result


def _decide(candidate: Candidate, *, facts: BatchFacts, now: dt.datetime) -> _Decision:
    """Decide one candidate in its own transaction; tell the facts what it changed once kept."""
    if facts.key_taken(candidate.key) and not candidate.refresh:
        return _Decision("duplicate")
    try:
        with transaction.atomic():
            decision = _propose_one(candidate, facts=facts, now=now)
    except IntegrityError:
        # Another run recorded the same moment between our look and our write.
        if not ActionKey.objects.filter(key=candidate.key).exists():
            raise
        decision = _Decision("duplicate")
    facts.recorded(candidate.key)
    if decision.outcome == "created":
        assert decision.action is not None
        facts.opened(decision.action)
    elif decision.outcome == "merged" and decision.was_due is not None:
        assert decision.action is not None
        facts.moved(decision.action, was_due=decision.was_due)
    return decision


def _first_priority(candidate: Candidate, *, now: dt.datetime) -> float:
    """The candidate's priority before the rules move its due time."""
    expires = candidate.expires_at
    return priority_score(
        kind=ActionKind(candidate.kind).value,
        score=candidate.score,
        hours_until_due=(max(candidate.due_at, now) - now).total_seconds() / 3600,
        hours_until_expiry=None if expires is None else (expires - now).total_seconds() / 3600,
    )


def _key_taken(key: str) -> bool:
    return ActionKey.objects.filter(key=key).exists()


def _propose_one(candidate: Candidate, *, facts: BatchFacts, now: dt.datetime) -> _Decision:
    # The lock makes proposals for one client take turns, so two candidates cannot both find
    # no open action and make two.
    client = (
        Client.objects.select_for_update(of=("self",))
        .select_related("store", "primary_associate")
        .get(pk=candidate.client.pk)
    )
    # A refresh looks for its moment under the lock (recorded before, or by another run while
    # this one waited). Any other candidate whose moment another run recorded after the batch
    # read the keys is refused at its write by the key's unique index: a duplicate too.
    if candidate.refresh and _key_taken(candidate.key):
        return _refresh(candidate, now=now)
    rules = facts.rules_of(client)
    purpose = candidate.purpose
    marketing = purpose == ActionPurpose.MARKETING
    name = _first_name(client)
    due = max(candidate.due_at, now)
    if not candidate.urgent:
        due = next_allowed_time(client, due, rules)
    expires = _keep_expiry_after_due(candidate.expires_at, original_due=candidate.due_at, due=due)
    associate = _resolve_associate(candidate, client, purpose=purpose, due=due, facts=facts)
    covering = _covered(candidate, client, associate)
    draft = _Draft(
        candidate=candidate,
        client=client,
        purpose=purpose,
        associate=associate,
        due=due,
        expires=expires,
        now=now,
        covering_for=covering,
    )

    if marketing and facts.has_open_problem(client):
        return draft.record(
            ActionState.SUPPRESSED,
            f"{name} has an open problem; no marketing until it is resolved.",
        )
    channel = _choose_channel(candidate, client, purpose, facts.consents_of(client))
    if channel is None:
        if marketing:
            why = (
                f"{name} has not agreed to marketing by email, SMS or phone "
                "(or we lack the address)."
            )
        else:
            why = f"No way to reach {name}: no phone number and no email or SMS consent."
        return draft.record(ActionState.SUPPRESSED, why)
    draft.channel = channel

    theirs = _client_actions(client, purpose, rules=rules, now=now)
    existing = next((action for action in theirs if action.state == ActionState.OPEN), None)
    if existing is not None:
        was_due = existing.due_at
        _merge(existing, draft, facts=facts)
        return _Decision("merged", existing, was_due=was_due)

    if not marketing:
        return draft.record(ActionState.OPEN)
    # Marketing contacts done within the cap window, and those snoozed (still to come).
    contacts = len(theirs)
    if contacts >= rules.marketing_cap:
        since = now - dt.timedelta(days=rules.marketing_cap_days)
        return draft.record(
            ActionState.SUPPRESSED,
            f"{name} had {contacts} marketing contacts, done since "
            f"{since.astimezone(client_zone(client)):%d %b %Y} or still open "
            f"(the limit is {rules.marketing_cap} in {rules.marketing_cap_days} days).",
        )
    deferred = _defer_for_capacity(draft.associate, due, client=client, rules=rules, facts=facts)
    if deferred is None or (expires is not None and deferred >= expires):
        who = draft.associate.display_name if draft.associate else "The store"
        return draft.record(
            ActionState.SUPPRESSED, f"{who} has no room for it before the moment passes."
        )
    draft.due = deferred
    share = float(rules.holdout_share)
    draft.holdout_draw = draw_for(candidate)
    if draft.holdout_draw < share:
        return draft.record(
            ActionState.HELD_OUT,
            f"Held out (the {share:.0%} control group) so the lift can be measured; never shown.",
        )
    return draft.record(ActionState.OPEN)


@dataclass
class _Draft:
    """A candidate with its client, associate, channel and times decided, ready to record."""

    candidate: Candidate
    client: Client
    purpose: ActionPurpose
    associate: User | None
    due: dt.datetime
    expires: dt.datetime | None
    now: dt.datetime
    channel: str = ""
    holdout_draw: float | None = None
    covering_for: User | None = None  # the primary associate, away, whom `associate` covers for

    @property
    def reason(self) -> str:
        """The candidate's reason, and who is covering for whom when the associate is away."""
        return with_cover_note(self.candidate.reason, self.covering_for)

    @property
    def priority(self) -> float:
        expiry_hours = None
        if self.expires is not None:
            expiry_hours = (self.expires - self.now).total_seconds() / 3600
        return priority_score(
            kind=ActionKind(self.candidate.kind).value,
            score=self.candidate.score,
            hours_until_due=(self.due - self.now).total_seconds() / 3600,
            hours_until_expiry=expiry_hours,
        )

    def entry(self) -> dict[str, Any]:
        return reason_entry(self.candidate)

    def record(self, state: ActionState, state_reason: str = "") -> _Decision:
        candidate = self.candidate
        action = Action.objects.create(
            store=self.client.store,
            associate=self.associate,
            client=self.client,
            kind=candidate.kind,
            purpose=self.purpose,
            reason=self.reason,
            evidence=candidate.evidence,
            reasons=[self.entry()],
            due_at=self.due,
            expires_at=self.expires,
            priority=self.priority,
            holdout_draw=self.holdout_draw,
            channel=self.channel or (candidate.channel or ""),
            subject=candidate.subject,
            draft=candidate.draft,
            surprise=candidate.surprise,
            surprise_note=candidate.surprise_note,
            state=state,
            state_reason=state_reason[:255],
            created_at=self.now,
        )
        _add_products(action, candidate.products, new=True)
        ActionKey.objects.create(key=candidate.key, action=action, created_at=self.now)
        outcome = {
            ActionState.OPEN: "created",
            ActionState.HELD_OUT: "held_out",
            ActionState.SUPPRESSED: "suppressed",
        }[state]
        return _Decision(outcome, action)


def _merge(action: Action, draft: _Draft, *, facts: BatchFacts) -> None:
    """Fold the candidate into the client's open action: one contact for every reason."""
    candidate = draft.candidate
    # An action made elsewhere may carry no list yet; its own reason comes first then.
    earlier = action.reasons or [
        {"kind": action.kind, "reason": action.reason, "evidence": action.evidence}
    ]
    reasons = [*earlier, draft.entry()]
    action.reasons = reasons
    action.reason = combined_reason([entry["reason"] for entry in reasons])
    action.priority = max(action.priority, draft.priority)
    action.due_at = _merged_due(action, draft, facts=facts)
    if action.expires_at is None or draft.expires is None:
        action.expires_at = None
    else:
        action.expires_at = max(action.expires_at, draft.expires)
    if action.surprise_id is None and candidate.surprise is not None:
        action.surprise = candidate.surprise
        action.surprise_note = candidate.surprise_note
    action.save()
    _add_products(action, candidate.products)
    ActionKey.objects.create(key=candidate.key, action=action, created_at=draft.now)


def reason_entry(candidate: Candidate) -> dict[str, Any]:
    """One reason of an action, as kept in Action.reasons: its kind, words, evidence and key."""
    return {
        "kind": ActionKind(candidate.kind).value,
        "reason": candidate.reason,
        "evidence": candidate.evidence,
        "key": candidate.key,
    }


def _merged_due(action: Action, draft: _Draft, *, facts: BatchFacts) -> dt.datetime:
    """The earlier due time, unless it moves a marketing action to a day with no room left."""
    due = min(action.due_at, draft.due)
    if due == action.due_at or draft.purpose != ActionPurpose.MARKETING:
        return due
    rules = facts.rules_of(draft.client)
    zone = ZoneInfo(draft.client.store.time_zone or "UTC")
    if due.astimezone(zone).date() == action.due_at.astimezone(zone).date():
        return due
    associate_id = action.associate_id
    if associate_id is None:
        return due
    busy = _busy(associate_id, due, zone=zone, facts=facts, exclude=action.pk)
    if busy < rules.daily_capacity:
        return due
    return action.due_at


def moment_reason_index(reasons: list[dict[str, Any]], key: str) -> int | None:
    """Find the moment's reason among an action's: the one with its key, else None.

    In a list kept before reasons carried keys, the action's own first reason is taken.
    """
    for index, entry in enumerate(reasons):
        if entry.get("key") == key:
            return index
    if reasons and "key" not in reasons[0]:
        return 0
    return None


def _refresh(candidate: Candidate, *, now: dt.datetime) -> _Decision:
    """Bring the moment's open action up to date with the candidate, else count a duplicate."""
    if not candidate.refresh:
        return _Decision("duplicate")
    action = (
        Action.objects.select_for_update()
        .filter(keys__key=candidate.key, state__in=[ActionState.OPEN, ActionState.SNOOZED])
        .first()
    )
    if action is None:
        return _Decision("duplicate")  # done, skipped or expired: that call is over
    entry = reason_entry(candidate)
    earlier = action.reasons or [
        {"kind": action.kind, "reason": action.reason, "evidence": action.evidence}
    ]
    mine = moment_reason_index(earlier, candidate.key)
    reasons = list(earlier)
    if mine is None:
        reasons.append(entry)
    else:
        reasons[mine] = entry
    action.reasons = reasons
    action.reason = with_cover_note(
        combined_reason([e["reason"] for e in reasons]),
        _covered(candidate, action.client, action.associate),
    )
    if mine == 0:
        # The action was made from this moment: its evidence and script are this moment's.
        action.evidence = candidate.evidence
        action.draft = candidate.draft
        action.subject = candidate.subject or action.subject
    if action.expires_at is not None and candidate.expires_at is not None:
        action.expires_at = max(action.expires_at, candidate.expires_at)
    action.save()
    _add_products(action, candidate.products)
    return _Decision("updated", action)


def combined_reason(reasons: list[str]) -> str:
    """Join several reasons into one line: "Two reasons, one contact: A; B."."""
    parts = [reason.strip().rstrip(". ") for reason in reasons if reason.strip()]
    if len(parts) == 1:
        return parts[0] + "."
    count = NUMBER_WORDS.get(len(parts), str(len(parts)))
    return f"{count} reasons, one contact: " + "; ".join(parts) + "."


def _add_products(action: Action, products: list[ShownProduct], *, new: bool = False) -> None:
    """Show the products the action does not show yet, after those it does (none if `new`)."""
    shown = set() if new else set(action.action_products.values_list("product_id", flat=True))
    position = len(shown)
    rows = []
    for item in products:
        if item.product.pk in shown:
            continue
        shown.add(item.product.pk)
        rows.append(
            ActionProduct(action=action, product=item.product, position=position, note=item.note)
        )
        position += 1
    ActionProduct.objects.bulk_create(rows)


def _first_name(client: Client) -> str:
    return client.first_name or client.full_name or str(client)


def _covered(candidate: Candidate, client: Client, associate: User | None) -> User | None:
    """The client's associate, when active and someone else takes their action (a backup)."""
    primary = client.primary_associate
    if candidate.associate is not None or primary is None or associate is None:
        return None
    return primary if associate.pk != primary.pk and is_working(primary) else None


def with_cover_note(reason: str, away: User | None) -> str:
    """Add to a reason whom the associate covers for, when they do."""
    if away is None:
        return reason
    name = away.first_name or away.get_username()
    return f"{reason} {name} is away and you are covering for them: say so, and sign as yourself."


def _resolve_associate(
    candidate: Candidate,
    client: Client,
    *,
    purpose: ActionPurpose,
    due: dt.datetime,
    facts: BatchFacts,
) -> User | None:
    if candidate.associate is not None:
        return candidate.associate
    primary = client.primary_associate
    if primary is not None and is_working(primary):
        if purpose == ActionPurpose.SERVICE:
            # While the associate is away, what the client did or met goes to their backup.
            day = due.astimezone(ZoneInfo(client.store.time_zone or "UTC")).date()
            backup = facts.backup_for(primary.pk, day)
            if backup is not None:
                return backup
        return primary
    return least_loaded_associate(client.store)


def least_loaded_associate(store: Store) -> User | None:
    """Return the store's active associate with the fewest open actions (else a manager)."""
    for role in (Role.ASSOCIATE, Role.MANAGER):
        found = (
            User.objects.filter(store=store, role=role, is_active=True, deactivated_at__isnull=True)
            .annotate(load=Count("actions", filter=Q(actions__state=ActionState.OPEN)))
            .order_by("load", "username")
            .first()
        )
        if found is not None:
            return found
    return None


def _choose_channel(
    candidate: Candidate, client: Client, purpose: ActionPurpose, consents: dict[str, Consent]
) -> str | None:
    consented = consented_channels(client, consents)
    if purpose == ActionPurpose.SERVICE:
        allowed = {c.value for c in SERVICE_CHANNELS if c.value in consented}
        phone = consents.get(Channel.PHONE)
        refused_calls = phone is not None and not phone.granted
        if client.phone and not refused_calls:
            allowed.add(ActionChannel.PHONE.value)
        order = SERVICE_CHANNELS
    else:
        allowed = {c.value for c in MARKETING_CHANNELS if c.value in consented}
        order = MARKETING_CHANNELS
    if candidate.channel is not None and ActionChannel(candidate.channel).value in allowed:
        return ActionChannel(candidate.channel).value
    return next((c.value for c in order if c.value in allowed), None)


def _client_actions(
    client: Client, purpose: ActionPurpose, *, rules: StoreRules, now: dt.datetime
) -> list[Action]:
    """The client's actions of the purpose that decide a candidate, locked, first to merge first.

    Their open actions (to merge into); for marketing also the snoozed ones and those done
    within the cap window: with the open ones, the contacts that count towards the cap.
    """
    wanted = Q(state=ActionState.OPEN)
    if purpose == ActionPurpose.MARKETING:
        wanted |= Q(state=ActionState.SNOOZED) | marketing_done_since(rules, now=now)
    return list(
        Action.objects.select_for_update()
        .filter(wanted, client=client, purpose=purpose)
        .order_by("-priority", "due_at", "id")
    )


def _busy(
    associate_id: int,
    due: dt.datetime,
    *,
    zone: ZoneInfo,
    facts: BatchFacts,
    exclude: int | None = None,
) -> int:
    """Count the associate's open actions due on the local day of `due`."""
    local = due.astimezone(zone)
    start = dt.datetime.combine(local.date(), dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return facts.open_actions_between(associate_id, start, end, exclude=exclude)


def _keep_expiry_after_due(
    expires: dt.datetime | None, *, original_due: dt.datetime, due: dt.datetime
) -> dt.datetime | None:
    """Move an expiry that the quiet hours overtook, keeping the moment's window."""
    if expires is None or expires > due:
        return expires
    return due + max(expires - original_due, dt.timedelta(hours=1))


def _defer_for_capacity(
    associate: User | None,
    due: dt.datetime,
    *,
    client: Client,
    rules: StoreRules,
    facts: BatchFacts,
) -> dt.datetime | None:
    """Return the due time on the first local day the associate has room, or None."""
    if associate is None:
        return due
    zone = ZoneInfo(client.store.time_zone or "UTC")
    for _ in range(MAX_DEFERRAL_DAYS):
        local = due.astimezone(zone)
        if _busy(associate.pk, due, zone=zone, facts=facts) < rules.daily_capacity:
            return due
        next_day = dt.datetime.combine(local.date() + dt.timedelta(days=1), local.time(), zone)
        due = next_allowed_time(client, next_day.astimezone(dt.UTC), rules)
    return None
