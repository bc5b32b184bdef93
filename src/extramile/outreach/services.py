"""Sending a message to a client through the transactional outbox, and the client's preferences.

How a message travels
---------------------
`send_action_message` checks the rules of contact again at send time (consent for the channel,
quiet hours in the client's zone, no marketing during an open problem, and the client's cap on
marketing contacts, which other contacts made since the action was created may have reached)
and then, in ONE
transaction, writes the Message row (status queued), an AuditEntry "queued" and marks the action
done. Delivery is enqueued only when that transaction commits, so a rolled-back send never
leaves the building and a committed one is never forgotten.

`deliver_message` is the task body. It first *claims* the row with one conditional UPDATE
(queued and due, or sending with an expired lease → sending, lease = now + OUTREACH_LEASE_
SECONDS). Only the caller whose UPDATE changed a row goes on; a duplicate task, a redelivered
Celery message or a second worker finds nothing to claim and returns. It then checks consent
again (an opt-out between queueing and delivery refuses the message), counts the attempt,
hands the message to SMTP or the SMS provider, and records sent + sent_at + provider_id. A
transport error puts the message back to queued with exponential backoff (30 s x 2^(attempts-1),
at most an hour, and never inside the client's quiet hours) until OUTREACH_MAX_ATTEMPTS, then
failed; a 5xx refusal of the address or content fails at once. Each outcome lands in the audit
log. Quiet hours are checked when the associate sends, not again at delivery: delivery follows
within seconds, and an associate's send must not depend on when a worker gets to it.

`deliver_due_messages` runs every minute (Celery beat, or the embedded periodic thread) and
enqueues queued messages whose time has come and sending ones whose lease expired: a process
that died after recording a message, or in the middle of delivering it, leaves a row that this
sweep picks up, so no message is lost.

Exactly once, and its one window
--------------------------------
Recording is exactly once (one transaction with the action, which is locked and must be open).
Delivery is at most one *successful hand-over per claim*, and claims never overlap while the
lease runs (the transport timeouts are well below the lease). The one window no outbox can
close: the provider accepted the message and the process died before it wrote "sent". The
lease then expires and the message is sent again. We narrow that window to the few
milliseconds between the provider's answer and our UPDATE, and make the rare resend
recognisable: an email carries a Message-ID derived from Message.uid (the same on every
attempt, so mail systems and the client's mail program see one message), and an SMS is handed
to the provider with Message.uid as its idempotency key.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from extramile.accounts.models import User
from extramile.clients.models import Channel, Client, Consent
from extramile.clients.services import current_consents, record_consent
from extramile.moments.governance import (
    client_zone,
    consented_channels,
    has_open_problem,
    in_quiet_hours,
    marketing_contacts_done,
    next_allowed_time,
    rules_for,
)
from extramile.moments.lifecycle import ACTIONABLE_STATES
from extramile.moments.models import Action, ActionPurpose, ActionState
from extramile.outreach.audit import record_audit
from extramile.outreach.mail import send_email
from extramile.outreach.models import Message, MessageChannel, MessageStatus
from extramile.outreach.sms import SmsError, send_sms
from extramile.tasks import enqueue, periodic, task

logger = logging.getLogger(__name__)

CHANNEL_WORDS = {MessageChannel.EMAIL: "email", MessageChannel.SMS: "text message"}
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
SWEEP_BATCH = 500

PREFERENCE_SALT = "extramile.outreach.preferences"
# A preference link in an old message keeps working for about a year.
PREFERENCE_LINK_MAX_AGE = dt.timedelta(days=400)
# The channels a client manages on the preference page.
PREFERENCE_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.PHONE)
PREFERENCE_SOURCE = "preference page"


class SendRefused(Exception):
    """A message that may not be sent now, with the reason in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidPreferenceLink(Exception):
    """A preference link that was altered, has expired, or names no client."""


# --- Sending: the outbox ---------------------------------------------------------------------


def _first_name(client: Client) -> str:
    return client.first_name or client.full_name or "This client"


def _address_for(client: Client, channel: str) -> str:
    return client.email if channel == MessageChannel.EMAIL else client.phone


def _consent_refusal(client: Client, channel: str) -> str | None:
    """Say why the client may not be reached on this channel now, or None when they may."""
    name, words = _first_name(client), CHANNEL_WORDS[MessageChannel(channel)]
    if not _address_for(client, channel):
        what = "email address" if channel == MessageChannel.EMAIL else "mobile number"
        return f"We have no {what} for {name}; nothing was sent."
    if channel in consented_channels(client):
        return None
    consent: Consent | None = current_consents(client).get(channel)
    if consent is not None and not consent.granted:
        when = consent.recorded_at.astimezone(client_zone(client))
        return (
            f"{name} opted out of {words}s on {when:%d %b %Y} ({consent.source}); nothing was sent."
        )
    return f"{name} has not agreed to be contacted by {words}; nothing was sent."


def _quiet_hours_refusal(client: Client, action: Action, at: dt.datetime) -> str | None:
    rules = rules_for(action.store)
    if not in_quiet_hours(client, at, rules):
        return None
    zone = client_zone(client)
    local = at.astimezone(zone)
    allowed = next_allowed_time(client, at, rules).astimezone(zone)
    return (
        f"It is {local:%H:%M} for {_first_name(client)} ({zone.key}), inside the quiet hours "
        f"{rules.quiet_start:%H:%M} to {rules.quiet_end:%H:%M}; send from {allowed:%H:%M} "
        f"their time."
    )


def _cap_refusal(action: Action, at: dt.datetime) -> str | None:
    """Say why one more marketing message would pass the client's cap, or None when it would not.

    The cap was checked when the action was made; contacts made since (by a colleague, or
    another action sent first) count here, this action's own does not.
    """
    client = action.client
    rules = rules_for(action.store)
    done = marketing_contacts_done(client, rules=rules, now=at, exclude=action)
    if len(done) < rules.marketing_cap:
        return None
    zone = ZoneInfo(action.store.time_zone or "UTC")
    since = (at - dt.timedelta(days=rules.marketing_cap_days)).astimezone(zone)
    # The cap frees up when enough of the oldest contacts leave the window.
    free = done[len(done) - rules.marketing_cap] + dt.timedelta(days=rules.marketing_cap_days)
    return (
        f"{_first_name(client)} has had {len(done)} marketing contacts since {since:%d %b %Y}, "
        f"and the limit is {rules.marketing_cap} in {rules.marketing_cap_days} days; nothing was "
        f"sent. The action stays open: it can be sent from {free.astimezone(zone):%d %b %Y %H:%M}."
    )


def _send_refusal(action: Action, *, channel: str, at: dt.datetime) -> str | None:
    """Say why the rules of contact forbid this message now, or None when they allow it."""
    client = action.client
    reason = _consent_refusal(client, channel) or _quiet_hours_refusal(client, action, at)
    if reason is None and action.purpose == ActionPurpose.MARKETING:
        if has_open_problem(client):
            reason = (
                f"{_first_name(client)} has an open problem with us; marketing waits until it "
                "is resolved."
            )
        else:
            reason = _cap_refusal(action, at)
    return reason


def send_action_message(
    action: Action,
    *,
    channel: str,
    subject: str,
    body: str,
    by: User,
    now: dt.datetime | None = None,
) -> Message:
    """Record a message for the action's client and close the action; deliver after commit."""
    now = now or timezone.now()
    if channel not in MessageChannel.values:
        raise SendRefused(f"{channel!r} is not a channel we send on (email or sms).")
    body = body.strip()
    if not body:
        raise SendRefused("The message is empty; write something before sending.")
    with transaction.atomic():
        # The locked, open action makes a double tap or two colleagues send one message only.
        locked = Action.objects.select_related("client__store", "store").select_for_update(
            of=("self",)
        )
        row = locked.get(pk=action.pk)
        if row.state not in ACTIONABLE_STATES:
            raise SendRefused(
                f"This action is already {row.get_state_display().lower()}; nothing was sent."
            )
        client = row.client
        reason = _send_refusal(row, channel=channel, at=now)
        if reason is not None:
            # Only the refusal is written, and it is kept: the block commits, then we raise.
            record_audit(
                "refused",
                client=client,
                actor=by,
                action=row,
                detail={"channel": channel, "reason": reason},
                at=now,
            )
        else:
            message = Message.objects.create(
                action=row,
                client=client,
                sender=by,
                channel=channel,
                to=_address_for(client, channel),
                # One line: a line break in a mail header would be refused at delivery.
                subject=(" ".join(subject.split()) or f"A note from {row.store.name}")[:200]
                if channel == MessageChannel.EMAIL
                else "",
                body=body,
                status=MessageStatus.QUEUED,
                next_attempt_at=now,
                created_at=now,
            )
            record_audit(
                "queued",
                client=client,
                actor=by,
                action=row,
                message=message,
                detail={"channel": channel, "to": message.to, "subject": message.subject},
                at=now,
            )
            row.state = ActionState.DONE
            row.state_reason = ""
            row.snoozed_until = None
            row.completed_at = now
            row.completed_by = by
            row.outcome = row.outcome or f"Sent by {CHANNEL_WORDS[MessageChannel(channel)]}."
            row.save()
            enqueue(deliver_message, message_id=message.pk)
    if reason is not None:
        raise SendRefused(reason)
    for field in ("state", "state_reason", "snoozed_until", "completed_at", "completed_by_id"):
        setattr(action, field, getattr(row, field))
    action.outcome = row.outcome
    return message


def _deliverable(now: dt.datetime) -> Q:
    """Messages a worker may take: due and queued, or sending under an expired lease."""
    return Q(status=MessageStatus.QUEUED, next_attempt_at__lte=now) | Q(
        status=MessageStatus.SENDING, claimed_until__lt=now
    )


def _claim(message_id: int, *, now: dt.datetime) -> str | None:
    """Take the message for this worker in one UPDATE; say from which state, or None."""
    until = now + dt.timedelta(seconds=settings.OUTREACH_LEASE_SECONDS)
    for state, condition in (
        (MessageStatus.QUEUED, Q(status=MessageStatus.QUEUED, next_attempt_at__lte=now)),
        (MessageStatus.SENDING, Q(status=MessageStatus.SENDING, claimed_until__lt=now)),
    ):
        taken = Message.objects.filter(condition, pk=message_id).update(
            status=MessageStatus.SENDING, claimed_until=until
        )
        if taken:
            return state
    return None


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the given number of failed attempts: 30 s, 60 s, 120 s… 1 h."""
    seconds = BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, BACKOFF_CAP_SECONDS))


class _TransportError(Exception):
    """Delivery did not happen; `permanent` when trying again cannot help."""

    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def _email_error(exc: Exception) -> _TransportError:
    # A mail server that refuses the address or the content with a 5xx code means it.
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return _TransportError(f"Recipient refused: {exc.recipients}", all(c >= 500 for c in codes))
    if isinstance(exc, smtplib.SMTPDataError):
        return _TransportError(
            f"Message refused: {exc.smtp_code} {exc.smtp_error!r}", exc.smtp_code >= 500
        )
    return _TransportError(f"{type(exc).__name__}: {exc}", False)


def _transmit(message: Message) -> str:
    """Hand the message to its channel's transport; return the provider's id."""
    url = preference_url(message.client)
    if message.channel == MessageChannel.EMAIL:
        try:
            return send_email(message, preference_url=url)
        except (smtplib.SMTPException, OSError) as exc:
            raise _email_error(exc) from exc
    try:
        sent = send_sms(
            to=message.to,
            body=f"{message.body}\n\nYour choices: {url}",
            idempotency_key=str(message.uid),
        )
    except SmsError as exc:
        raise _TransportError(str(exc), not exc.transient) from exc
    return sent.provider_id


def _finish(
    message: Message,
    *,
    status: str,
    verb: str,
    now: dt.datetime,
    detail: dict[str, Any],
    **fields: Any,
) -> Message:
    """Record the outcome of a delivery run on the row and in the audit log."""
    message.status = status
    message.claimed_until = None
    for name, value in fields.items():
        setattr(message, name, value)
    with transaction.atomic():
        message.save(
            update_fields=["status", "claimed_until", *fields.keys()],
        )
        record_audit(
            verb,
            client=message.client,
            actor=None,
            action=message.action,
            message=message,
            detail={"channel": message.channel, "attempts": message.attempts, **detail},
            at=now,
        )
    return message


@task
def deliver_message(message_id: int, *, now: dt.datetime | None = None) -> Message:
    """Deliver one outbox message once: claim it, check consent, send, record the outcome."""
    fixed_clock = now
    now = now or timezone.now()
    claimed_from = _claim(message_id, now=now)
    message = Message.objects.select_related("client__store", "action__store", "sender").get(
        pk=message_id
    )
    if claimed_from is None:
        return message  # another worker has it, or it is finished
    client = message.client
    if message.attempts >= settings.OUTREACH_MAX_ATTEMPTS:
        reason = f"Gave up after {message.attempts} attempts. {message.last_error}".strip()
        return _finish(
            message,
            status=MessageStatus.FAILED,
            verb="failed",
            now=now,
            detail={"reason": reason},
            last_error=reason,
        )
    refusal = _consent_refusal(client, message.channel)
    if refusal is not None:
        return _finish(
            message,
            status=MessageStatus.REFUSED,
            verb="refused",
            now=now,
            detail={"reason": refusal},
            last_error=refusal,
        )
    if claimed_from == MessageStatus.SENDING:
        record_audit(
            "resumed",
            client=client,
            action=message.action,
            message=message,
            detail={
                "reason": "the lease of an earlier attempt expired",
                "attempts": message.attempts,
            },
            at=now,
        )
    # The attempt is counted before the hand-over, so one that dies midway is still counted.
    Message.objects.filter(pk=message.pk).update(attempts=F("attempts") + 1)
    message.attempts += 1
    try:
        provider_id = _transmit(message)
    except _TransportError as exc:
        return _after_failure(message, error=exc, now=fixed_clock or timezone.now())
    except Exception as exc:
        logger.exception("Delivering message %s failed unexpectedly.", message.pk)
        error = _TransportError(f"{type(exc).__name__}: {exc}", False)
        return _after_failure(message, error=error, now=fixed_clock or timezone.now())
    # The time of the provider's answer (a slow server makes it later than the claim).
    now = fixed_clock or timezone.now()
    return _finish(
        message,
        status=MessageStatus.SENT,
        verb="sent",
        now=now,
        detail={"provider_id": provider_id, "to": message.to},
        provider_id=provider_id[:200],
        sent_at=now,
        last_error="",
    )


def _after_failure(message: Message, *, error: _TransportError, now: dt.datetime) -> Message:
    if error.permanent or message.attempts >= settings.OUTREACH_MAX_ATTEMPTS:
        return _finish(
            message,
            status=MessageStatus.FAILED,
            verb="failed",
            now=now,
            detail={"error": error.reason, "permanent": error.permanent},
            last_error=error.reason,
        )
    # A retry that would fall in the client's quiet hours waits for their morning.
    store = message.action.store if message.action is not None else message.client.store
    retry_at = next_allowed_time(message.client, now + backoff(message.attempts), rules_for(store))
    return _finish(
        message,
        status=MessageStatus.QUEUED,
        verb="retrying",
        now=now,
        detail={"error": error.reason, "next_attempt_at": retry_at.isoformat()},
        last_error=error.reason,
        next_attempt_at=retry_at,
    )


@periodic(seconds=60)
def deliver_due_messages(*, now: dt.datetime | None = None) -> int:
    """Enqueue delivery of due queued messages and of those whose worker's lease expired."""
    now = now or timezone.now()
    due = list(
        Message.objects.filter(_deliverable(now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for message_id in due:
        enqueue(deliver_message, message_id=message_id)
    return len(due)


# --- The client's preferences ----------------------------------------------------------------


def preference_token(client: Client) -> str:
    """A signed, timestamped token naming the client, for their preference page."""
    return signing.dumps(client.pk, salt=PREFERENCE_SALT, compress=True)


def preference_url(client: Client) -> str:
    """The absolute, signed link to the client's preference page."""
    path = reverse("outreach:preferences", args=[preference_token(client)])
    return f"{settings.PUBLIC_URL}{path}"


def client_for_token(token: str) -> Client:
    """Return the client a preference token names, or raise InvalidPreferenceLink."""
    try:
        client_id = signing.loads(token, salt=PREFERENCE_SALT, max_age=PREFERENCE_LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise InvalidPreferenceLink("This link has expired.") from exc
    except signing.BadSignature as exc:
        raise InvalidPreferenceLink("This link is not valid.") from exc
    client = Client.objects.select_related("store", "merged_into").filter(pk=client_id).first()
    if client is None:
        raise InvalidPreferenceLink("This link is not valid.")
    # A merged record's choices belong to the client it was merged into.
    return client.merged_into or client


def channel_choices(client: Client) -> list[dict[str, Any]]:
    """The channels of the preference page: reachable or not, and the consent in force."""
    reachable = {
        Channel.EMAIL: client.email,
        Channel.SMS: client.phone,
        Channel.PHONE: client.phone,
    }
    granted = consented_channels(client)
    return [
        {
            "channel": channel.value,
            "label": channel.label,
            "address": reachable[channel],
            "granted": channel.value in granted,
        }
        for channel in PREFERENCE_CHANNELS
    ]


def set_preferences(
    client: Client, *, wanted: dict[str, bool], now: dt.datetime | None = None
) -> list[Consent]:
    """Record the client's choice for each channel named in `wanted`; return what changed."""
    now = now or timezone.now()
    changed: list[Consent] = []
    with transaction.atomic():
        in_force = current_consents(client)
        for channel in PREFERENCE_CHANNELS:
            # No decision on record counts as "no": leaving a box unticked records nothing.
            was = in_force[channel].granted if channel in in_force else False
            if channel.value not in wanted or wanted[channel.value] == was:
                continue
            consent = record_consent(
                client,
                channel=channel,
                granted=wanted[channel.value],
                source=PREFERENCE_SOURCE,
                at=now,
            )
            if consent is not None:
                changed.append(consent)
        if changed:
            everything_off = not any(wanted.get(c.value, False) for c in PREFERENCE_CHANNELS)
            record_audit(
                "opted_out" if everything_off else "preferences_changed",
                client=client,
                detail={"changes": {c.channel: c.granted for c in changed}},
                at=now,
            )
    return changed


def opt_out_everywhere(client: Client, *, now: dt.datetime | None = None) -> list[Consent]:
    """Withdraw the client's consent on every channel of the preference page."""
    return set_preferences(
        client, wanted={channel.value: False for channel in PREFERENCE_CHANNELS}, now=now
    )
