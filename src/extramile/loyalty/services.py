"""Use cases of loyalty: NPS surveys, referrals, loyalty-stage snapshots and their movement.

Surveys
-------
`send_survey` asks one client, by email, how likely they are to recommend the store (0 to 10),
after a purchase or a resolved problem. It refuses — and writes nothing — when the client has
no email address or no email consent in force, has an open problem (a survey is no apology),
or was asked within the store's `survey_rest_days` (90 unless the store says otherwise). The
email goes through the outreach outbox (`Message`, audit log, retries, the preference link,
consent checked again at delivery). `send_due_surveys` (hourly) asks after orders fulfilled
two to ten days ago and problems resolved one to seven days ago; each order or problem is
asked about at most once.

The link is signed (django.core.signing, like the preference page) and names the survey; it
expires after `survey_link_days`. The client answers **once**: `answer_survey` records the
score and comment and a `survey.answered` event (id `survey:<uid>`); a second answer changes
nothing. The event goes the same way as one posted to the API: applied (a no-op here: the answer
is already written), then the detectors: a detractor (0 to 6) gets a recovery call
(detractor_recovery), a promoter (9 to 10) a referral ask (referral_ask).

Stages and their movement
-------------------------
`refresh_stage_snapshots` writes each client's stage for the store's current month (one row
per client and month, updated while the month runs); `stage_movement(store, since, until)`
counts, per (stage at `since`, stage at `until`) pair, the clients of the store — see its
docstring. The insight dashboard reads it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from extramile.accounts.models import Store, User
from extramile.care.models import Problem, ProblemStatus
from extramile.clients.models import Channel, Client
from extramile.clients.services import TimelineEntry, normalize_email, normalize_phone
from extramile.engine.loyalty import Stage, stage_of
from extramile.loyalty.models import (
    LoyaltyRules,
    Referral,
    ReferralSource,
    StageSnapshot,
    Survey,
    SurveyTrigger,
)
from extramile.loyalty.stages import facts_as_json, facts_of
from extramile.moments.detectors.calendar_support import CONTACTABLE, STANDING, chunks, zone_named
from extramile.moments.detectors.referral_thanks import candidates_for as thanks_for
from extramile.moments.detectors.service_calls import clock_time, spoken_date, store_zone
from extramile.moments.events import record_event
from extramile.moments.governance import consented_channels, has_open_problem
from extramile.moments.models import Event, EventType
from extramile.moments.proposals import propose_actions
from extramile.orders.models import Order
from extramile.outreach.audit import record_audit
from extramile.outreach.models import Message, MessageChannel, MessageStatus
from extramile.outreach.services import deliver_message
from extramile.tasks import enqueue

SURVEY_SALT = "extramile.loyalty.survey"
SURVEY_AFTER_ORDER = (dt.timedelta(days=2), dt.timedelta(days=10))
SURVEY_AFTER_PROBLEM = (dt.timedelta(days=1), dt.timedelta(days=7))
SURVEY_SOURCE = "survey"


class SurveyRefused(Exception):
    """A survey that may not be sent now, with the reason in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidSurveyLink(Exception):
    """A survey link that was altered, has expired, or names no survey."""


def rules_of(store: Store) -> LoyaltyRules:
    """Return the store's loyalty rules, made with the defaults the first time."""
    rules, _ = LoyaltyRules.objects.get_or_create(store=store)
    return rules


# --- Sending a survey ------------------------------------------------------------------------


def survey_token(survey: Survey) -> str:
    """A signed, timestamped token naming the survey, for its answer page."""
    return signing.dumps(str(survey.uid), salt=SURVEY_SALT, compress=True)


def survey_url(survey: Survey) -> str:
    """The absolute, signed link to the survey's answer page."""
    path = reverse("loyalty:survey", args=[survey_token(survey)])
    return f"{settings.PUBLIC_URL}{path}"


def survey_for_token(token: str, *, now: dt.datetime | None = None) -> Survey:
    """Return the survey a token names, or raise InvalidSurveyLink."""
    try:
        uid = signing.loads(token, salt=SURVEY_SALT)
    except signing.BadSignature as exc:
        raise InvalidSurveyLink("This link is not valid.") from exc
    survey = Survey.objects.select_related("store", "client").filter(uid=uid).first()
    if survey is None:
        raise InvalidSurveyLink("This link is not valid.")
    now = now or timezone.now()
    if survey.answered_at is None and survey.expires_at is not None and now >= survey.expires_at:
        raise InvalidSurveyLink("This survey has closed. Thank you all the same.")
    return survey


def survey_refusal(client: Client, *, now: dt.datetime) -> str | None:
    """Say why the client may not be sent a survey now, or None when they may."""
    name = client.first_name or client.full_name or "This client"
    if not client.email:
        return f"We have no email address for {name}."
    if Channel.EMAIL not in consented_channels(client):
        return f"{name} has not agreed to email."
    if has_open_problem(client):
        return f"{name} has an open problem: put it right first."
    rest = rules_of(client.store).survey_rest_days
    last = (
        Survey.objects.filter(client=client, sent_at__isnull=False)
        .order_by("-sent_at")
        .values_list("sent_at", flat=True)
        .first()
    )
    if last is not None and now - last < dt.timedelta(days=rest):
        zone = store_zone(client.store)
        return f"{name} was sent a survey on {spoken_date(last, zone)}; we ask once in {rest} days."
    return None


def _survey_body(client: Client, survey: Survey, *, order: Order | None) -> tuple[str, str]:
    """The survey email: one question, one link, nothing to sell."""
    store = client.store
    if survey.trigger == SurveyTrigger.PROBLEM:
        about = "the way we put things right for you"
    elif order is not None:
        about = f"your recent purchase (order {order.external_ref})"
    else:
        about = "your recent visit"
    body = (
        f"Hello {client.first_name or 'there'},\n\n"
        f"Thank you for choosing {store.name}. We would love to know what you thought of "
        f"{about}: how likely are you to recommend us to a friend, from 0 to 10?\n\n"
        f"Answer with one tap: {survey_url(survey)}\n\n"
        "It takes ten seconds, and the team reads every answer.\n"
    )
    return f"One question from {store.name}", body


def send_survey(
    client: Client,
    *,
    trigger: SurveyTrigger,
    order: Order | None = None,
    problem: Problem | None = None,
    now: dt.datetime | None = None,
) -> Survey:
    """Send the client an NPS survey by email; raise SurveyRefused saying why it may not go."""
    now = now or timezone.now()
    with transaction.atomic():
        # The lock makes two sweeps take turns, so the throttle sees the other's survey.
        locked = Client.objects.select_for_update().select_related("store").get(pk=client.pk)
        reason = survey_refusal(locked, now=now)
        if reason is not None:
            raise SurveyRefused(reason)
        rules = rules_of(locked.store)
        survey = Survey.objects.create(
            store=locked.store,
            client=locked,
            trigger=trigger,
            order=order,
            problem=problem,
            sent_at=now,
            expires_at=now + dt.timedelta(days=rules.survey_link_days),
            created_at=now,
        )
        subject, body = _survey_body(locked, survey, order=order)
        message = Message.objects.create(
            client=locked,
            channel=MessageChannel.EMAIL,
            to=locked.email,
            subject=subject,
            body=body,
            status=MessageStatus.QUEUED,
            next_attempt_at=now,
            created_at=now,
        )
        survey.message = message
        survey.save(update_fields=["message"])
        record_audit(
            "queued",
            client=locked,
            message=message,
            detail={
                "channel": "email",
                "to": message.to,
                "subject": subject,
                "survey": str(survey.uid),
            },
            at=now,
        )
        enqueue(deliver_message, message_id=message.pk)
    return survey


@dataclass
class SurveySweep:
    """What one sweep of due surveys did."""

    sent: int = 0
    refused: int = 0


def send_due_surveys(*, now: dt.datetime | None = None) -> SurveySweep:
    """Ask after recent fulfilled orders and resolved problems, each once, under the throttle."""
    now = now or timezone.now()
    sweep = SurveySweep()
    orders = (
        Order.objects.filter(
            client__isnull=False,
            client__status__in=CONTACTABLE,
            status__in=STANDING,
            fulfilled_at__gte=now - SURVEY_AFTER_ORDER[1],
            fulfilled_at__lte=now - SURVEY_AFTER_ORDER[0],
            survey__isnull=True,
        )
        .select_related("client__store")
        .order_by("fulfilled_at", "id")
    )
    problems = (
        Problem.objects.filter(
            status=ProblemStatus.RESOLVED,
            resolved_at__gte=now - SURVEY_AFTER_PROBLEM[1],
            resolved_at__lte=now - SURVEY_AFTER_PROBLEM[0],
            survey__isnull=True,
        )
        .select_related("client__store")
        .order_by("resolved_at", "id")
    )
    asked: set[int] = set()
    jobs: list[tuple[Client, dict[str, Any]]] = [
        (o.client, {"trigger": SurveyTrigger.PURCHASE, "order": o}) for o in orders if o.client
    ]
    jobs += [(p.client, {"trigger": SurveyTrigger.PROBLEM, "problem": p}) for p in problems]
    for client, what in jobs:
        if client.pk in asked:
            continue
        asked.add(client.pk)
        try:
            send_survey(client, now=now, **what)
        except SurveyRefused:
            sweep.refused += 1
        else:
            sweep.sent += 1
    return sweep


# --- Answering a survey ----------------------------------------------------------------------


def survey_event_id(survey: Survey) -> str:
    """The id of the survey.answered event an answer on the survey page records."""
    return f"survey:{survey.uid}"


def answer_survey(
    survey: Survey, *, score: int, comment: str = "", now: dt.datetime | None = None
) -> bool:
    """Record the client's answer once, and the survey.answered event; False if already answered.

    The event is processed once the transaction commits: the detectors then propose a recovery
    call for a detractor and a referral ask for a promoter.
    """
    if not 0 <= score <= 10:
        raise ValidationError({"score": "Choose a number from 0 to 10."})
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            Survey.objects.select_for_update().select_related("client", "store").get(pk=survey.pk)
        )
        if locked.answered_at is not None:
            return False
        event_id = survey_event_id(locked)
        record_answer(locked, score=score, comment=comment, at=now, event_id=event_id)
        client = locked.client
        who = {"id": client.external_ref} if client.external_ref else {}
        if not who:
            who = {"email": client.email} if client.email else {"phone": client.phone}
        data: dict[str, Any] = {"survey": {"id": str(locked.uid)}, "client": who, "score": score}
        if locked.comment:
            data["comment"] = locked.comment
        record_event(
            event_id=event_id,
            type=EventType.SURVEY_ANSWERED,
            occurred_at=now,
            data=data,
            source=SURVEY_SOURCE,
            store=locked.store,
        )
    survey.answered_at, survey.score, survey.comment = now, score, locked.comment
    survey.event_id = event_id
    return True


def record_answer(
    survey: Survey, *, score: int, comment: str, at: dt.datetime, event_id: str
) -> bool:
    """Write an answer on a survey not yet answered; return whether it changed anything."""
    if survey.answered_at is not None:
        return False
    survey.score = score
    survey.comment = comment.strip()[:2000]
    survey.answered_at = at
    survey.event_id = event_id
    survey.save(update_fields=["score", "comment", "answered_at", "event_id"])
    refresh_stage_snapshots(clients=[survey.client], now=at)
    return True


def answer_from_event(
    event: Event, *, store: Store, client: Client, survey: Survey | None
) -> Survey:
    """Apply a survey.answered event: answer the survey it names, or record one answered elsewhere.

    A survey already answered keeps its first answer; an event replayed changes nothing.
    """
    data = event.data
    if survey is None:
        survey = Survey.objects.filter(event_id=event.event_id).first() or Survey.objects.create(
            store=store,
            client=client,
            trigger=SurveyTrigger.EXTERNAL,
            created_at=event.occurred_at,
        )
    record_answer(
        survey,
        score=int(data["score"]),
        comment=str(data.get("comment", "")),
        at=event.occurred_at,
        event_id=event.event_id,
    )
    return survey


def survey_for_event(event: Event) -> Survey | None:
    """Return the survey a survey.answered event answered (None if it answered nothing new)."""
    return (
        Survey.objects.select_related("store", "client__store", "client__primary_associate")
        .filter(event_id=event.event_id, score__isnull=False)
        .first()
    )


# --- Referrals --------------------------------------------------------------------------------


def find_referrer(store: Store, said: str, *, exclude: Client | None = None) -> Client:
    """Find the one client of the store that `said` names: number, email, phone or name."""
    said = said.strip()
    if not said:
        raise ValidationError({"referrer": "Say who sent them: a name, email or phone."})
    clients = Client.objects.current().filter(store=store)
    if exclude is not None:
        clients = clients.exclude(pk=exclude.pk)
    found: QuerySet[Client]
    if said.startswith("#") and said[1:].isdigit():
        found = clients.filter(pk=int(said[1:]))
    elif "@" in said:
        found = clients.filter(email=normalize_email(said))
    elif sum(ch.isdigit() for ch in said) >= 6:
        try:
            phone = normalize_phone(said)
        except ValidationError:
            phone = ""
        found = clients.filter(Q(phone=phone) | Q(external_ref=said)) if phone else clients.none()
    else:
        query = Q()
        for word in said.split():
            query &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
        found = clients.filter(query | Q(external_ref=said))
    matches = list(found.order_by("id")[:6])
    if not matches:
        raise ValidationError({"referrer": f"No client of {store.name} matches {said!r}."})
    if len(matches) > 1:
        names = ", ".join(f"{c.full_name} (#{c.pk})" for c in matches[:5])
        raise ValidationError(
            {
                "referrer": f"{len(matches)} clients match {said!r}: {names}. "
                f"Say which one, e.g. #{matches[0].pk}."
            }
        )
    return matches[0]


def record_referral(
    *,
    referrer: Client,
    referred: Client,
    source: ReferralSource,
    by: User | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> tuple[Referral, bool]:
    """Record that `referrer` sent `referred`; thank the referrer once. Return it and if new.

    A client is referred once: the same referral again changes nothing; naming another
    referrer for a client already referred is refused.
    """
    now = now or timezone.now()
    if referrer.pk == referred.pk:
        raise ValidationError({"referrer": "A client cannot refer themselves."})
    if referrer.store_id != referred.store_id:
        raise ValidationError({"referrer": "Both clients must be clients of the same store."})
    with transaction.atomic():
        Client.objects.select_for_update().filter(pk=referred.pk).first()
        existing = Referral.objects.filter(referred=referred).select_related("referrer").first()
        if existing is not None:
            if existing.referrer_id == referrer.pk:
                return existing, False
            raise ValidationError(
                {
                    "referrer": f"{referred.full_name} was already referred by "
                    f"{existing.referrer.full_name}."
                }
            )
        referral = Referral.objects.create(
            store=referred.store,
            referrer=referrer,
            referred=referred,
            source=source,
            recorded_by=by,
            note=note.strip()[:255],
            recorded_at=now,
        )
        refresh_stage_snapshots(clients=[referrer], now=now)
        propose_actions(thanks_for(referral, now=now), now=now)
    return referral, True


# --- Stages: snapshots and movement ------------------------------------------------------------


def month_of(moment: dt.datetime, store: Store) -> dt.date:
    """The first day of the month `moment` falls in, in the store's time zone."""
    local = moment.astimezone(zone_named(store.time_zone)).date()
    return local.replace(day=1)


def refresh_stage_snapshots(
    *,
    now: dt.datetime,
    stores: Iterable[Store] | None = None,
    clients: Iterable[Client] | None = None,
) -> int:
    """Write the stage of each client (of the stores, or those given) for the current month.

    Return the number of snapshots written; a rerun the same month updates them in place.
    """
    if clients is None:
        chosen = list(
            Client.objects.filter(store__in=list(stores or Store.objects.all()))
            .filter(status__in=CONTACTABLE)
            .select_related("store")
        )
    else:
        chosen = [c for c in clients if c.status in CONTACTABLE]
    written = 0
    for batch in chunks(chosen, 2000):
        facts = facts_of(batch, now=now)
        rows = [
            StageSnapshot(
                store_id=client.store_id,
                client_id=client.pk,
                month=month_of(now, client.store),
                stage=stage_of(facts[client.pk]).value,
                facts=facts_as_json(facts[client.pk]),
                recorded_at=now,
            )
            for client in batch
        ]
        StageSnapshot.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["client", "month"],
            update_fields=["stage", "facts", "recorded_at"],
        )
        written += len(rows)
    return written


def stages_at(clients: Iterable[Client], *, month: dt.date) -> dict[int, Stage]:
    """Return each client's latest recorded stage in or before `month` (missing: none yet)."""
    found: dict[int, Stage] = {}
    ids = [c.pk for c in clients]
    for batch in chunks(ids):
        for client_id, stage in (
            StageSnapshot.objects.filter(client_id__in=batch, month__lte=month)
            .order_by("client_id", "month")
            .values_list("client_id", "stage")
        ):
            found[client_id] = Stage(stage)  # ordered by month: the latest stays
    return found


def stage_movement(
    store: Store, since: dt.date | dt.datetime, until: dt.date | dt.datetime
) -> list[tuple[str | None, str, int]]:
    """Count the store's clients by (stage at `since`, stage at `until`): the ladder's movement.

    A client's stage at a date is their snapshot of that month, else the latest before it.
    `from` is None for a client with no stage recorded by `since` (new to the book since);
    clients with no stage by `until` are left out. Pairs where the stage stayed the same are
    included (from == to), so the counts add up to the clients known at `until`. Sorted by
    count, most first, then by the stages' names.
    """

    def month(value: dt.date | dt.datetime) -> dt.date:
        if isinstance(value, dt.datetime):
            return month_of(value, store)
        return value.replace(day=1)

    start, end = month(since), month(until)
    before: dict[int, str] = {}
    after: dict[int, str] = {}
    for client_id, snapshot_month, stage in (
        StageSnapshot.objects.filter(store=store, month__lte=end)
        .order_by("client_id", "month")
        .values_list("client_id", "month", "stage")
    ):
        after[client_id] = stage
        if snapshot_month <= start:
            before[client_id] = stage
    counts = Counter((before.get(pk), stage) for pk, stage in after.items())
    return sorted(
        ((a, b, n) for (a, b), n in counts.items()),
        key=lambda row: (-row[2], row[0] or "", row[1]),
    )


def current_stage(client: Client, *, now: dt.datetime) -> Stage:
    """Return the client's stage now: this month's snapshot, written if missing."""
    month = month_of(now, client.store)
    stage = (
        StageSnapshot.objects.filter(client=client, month=month)
        .values_list("stage", flat=True)
        .first()
    )
    if stage is None:
        refresh_stage_snapshots(clients=[client], now=now)
        stage = (
            StageSnapshot.objects.filter(client=client, month=month)
            .values_list("stage", flat=True)
            .first()
        )
    return Stage(stage) if stage else Stage.NEW


# --- The client's timeline --------------------------------------------------------------------


def survey_timeline(client: Client) -> Iterable[TimelineEntry]:
    """Surveys sent to the client and their answers, for the shared timeline."""
    for survey in Survey.objects.filter(client=client):
        if survey.sent_at is not None:
            yield TimelineEntry(
                at=survey.sent_at,
                kind="survey_sent",
                title="Survey sent",
                detail=survey.get_trigger_display(),
            )
        if survey.answered_at is not None and survey.score is not None:
            yield TimelineEntry(
                at=survey.answered_at,
                kind="survey_answered",
                title=f"Survey answered: {survey.score} out of 10",
                detail=survey.comment,
            )


def referral_timeline(client: Client) -> Iterable[TimelineEntry]:
    """Referrals the client made and the one that brought them, for the shared timeline."""
    made = Referral.objects.filter(referrer=client).select_related("referred", "recorded_by")
    for referral in made:
        yield TimelineEntry(
            at=referral.recorded_at,
            kind="referral_made",
            title=f"Referred {referral.referred.full_name}",
            detail=referral.note,
            actor=referral.recorded_by.display_name if referral.recorded_by else "",
            link=reverse("clients:profile", args=[referral.referred_id]),
        )
    came = Referral.objects.filter(referred=client).select_related("referrer", "recorded_by")
    for referral in came:
        yield TimelineEntry(
            at=referral.recorded_at,
            kind="referral_received",
            title=f"Sent to us by {referral.referrer.full_name}",
            detail=referral.note,
            actor=referral.recorded_by.display_name if referral.recorded_by else "",
            link=reverse("clients:profile", args=[referral.referrer_id]),
        )


@dataclass(frozen=True)
class ClientLoyalty:
    """What the client's loyalty section shows."""

    stage: Stage
    surveys: list[Survey]
    referred_by: Referral | None
    referrals_made: list[Referral]
    last_answer: str


def client_loyalty(client: Client, *, now: dt.datetime | None = None) -> ClientLoyalty:
    """Gather the client's stage, surveys and referrals for their profile."""
    now = now or timezone.now()
    surveys = list(Survey.objects.filter(client=client)[:5])
    answered = next((s for s in surveys if s.answered_at is not None), None)
    last_answer = ""
    if answered is not None and answered.answered_at is not None:
        when = clock_time(answered.answered_at, store_zone(client.store))
        last_answer = f"{answered.score} out of 10, {when}"
    return ClientLoyalty(
        stage=current_stage(client, now=now),
        surveys=surveys,
        referred_by=Referral.objects.filter(referred=client).select_related("referrer").first(),
        referrals_made=list(
            Referral.objects.filter(referrer=client).select_related("referred")[:10]
        ),
        last_answer=last_answer,
    )
