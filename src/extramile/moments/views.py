"""Today pages: the associate's list, the store's board, and one action from reading to done."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from extramile.accounts.access import signed_in_staff
from extramile.accounts.models import Role, Store, User
from extramile.catalog.models import Product
from extramile.clients.models import Client, Need, Preference, Size
from extramile.clients.services import current_consents
from extramile.moments import forms, lifecycle
from extramile.moments.governance import client_zone, in_quiet_hours, rules_for
from extramile.moments.models import Action, ActionChannel, ActionKind, ActionState
from extramile.moments.today import (
    readable_evidence,
    store_zone,
    team_board,
    todays_actions,
    visible_actions,
)
from extramile.orders.models import Order, OrderStatus
from extramile.outreach.models import AuditEntry, Message
from extramile.outreach.services import SendRefused, send_action_message

LAST_ORDERS = 3
# What the handover card above the reason shows; the evidence list leaves these out.
BRIEF_CARD = frozenset({"brief", "previous_associate", "why_you"})


class HtmxHttpRequest(HttpRequest):
    """A request seen through django-htmx's middleware."""

    htmx: HtmxDetails


def _get_action(request: HttpRequest, pk: int) -> Action:
    """Return the action if this user may see it; any other, or a hidden one, is a 404."""
    actions = visible_actions(signed_in_staff(request)).select_related(
        "store", "client", "client__store", "client__primary_associate", "associate", "surprise"
    )
    return get_object_or_404(actions, pk=pk)


def _render_in(
    zone: ZoneInfo, request: HttpRequest, template: str, context: dict, status: int = 200
) -> HttpResponse:
    """Render with times shown in the store's time zone, as its staff live them."""
    with timezone.override(zone):
        response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- Today and the team board -----------------------------------------------------------------


@login_required
def today(request: HttpRequest) -> HttpResponse:
    """List the signed-in associate's actions for today: due now, then later, best first."""
    user = signed_in_staff(request)
    now = timezone.now()
    context = {
        "day": todays_actions(user, now=now),
        "local_now": now.astimezone(store_zone(user.store)),
        "can_see_team": user.role in (Role.MANAGER, Role.ADMIN),
    }
    return _render_in(store_zone(user.store), request, "moments/today.html", context)


@login_required
def team(request: HttpRequest) -> HttpResponse:
    """Show a store's open actions for today by associate; managers see theirs, admins choose."""
    user = signed_in_staff(request)
    if user.role not in (Role.MANAGER, Role.ADMIN):
        raise PermissionDenied("The team board is for managers.")
    form = None
    store: Store | None
    if user.is_admin:
        first = Store.objects.order_by("name").first()
        form = forms.TeamStoreForm(request.GET or {"store": first.pk if first else None})
        store = form.cleaned_data["store"] if form.is_valid() else first
    else:
        store = user.store
    now = timezone.now()
    context = {
        "form": form,
        "store": store,
        "groups": team_board(store, now=now) if store is not None else [],
        "local_now": now.astimezone(store_zone(store)),
    }
    return _render_in(store_zone(store), request, "moments/team.html", context)


# --- One action -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelOption:
    """A way to reach the client, and why it cannot be used when it cannot."""

    channel: str
    label: str
    allowed: bool
    why_not: str = ""


CHANNEL_NEEDS = {
    # channel: (label, the address it needs, how a missing address is said, consent label)
    ActionChannel.EMAIL: ("Email", "email", "No email address", "No email consent"),
    ActionChannel.SMS: ("SMS", "phone", "No mobile number", "No SMS consent"),
    ActionChannel.PHONE: ("Call", "phone", "No phone number", "No phone consent"),
}


def channel_options(client: Client) -> dict[str, ChannelOption]:
    """Say for each channel whether the client may be reached on it now, and if not, why."""
    consents = current_consents(client)
    options = {}
    for channel, (label, address, no_address, no_consent) in CHANNEL_NEEDS.items():
        consent = consents.get(channel)
        if not getattr(client, address):
            why = no_address
        elif consent is None or not consent.granted:
            why = no_consent
        else:
            why = ""
        options[str(channel)] = ChannelOption(str(channel), label, not why, why)
    return options


@dataclass(frozen=True)
class ShownItem:
    """A product on the action page, with its first photo and why it is shown."""

    product: Product
    photo_url: str
    note: str


def _first_photo_url(product: Product) -> str:
    photos = list(product.photos.all())
    return photos[0].url if photos else ""


class ActionPage:
    """What the action page shows; each part is loaded when the template first asks for it."""

    def __init__(self, action: Action, user: User, *, now: dt.datetime) -> None:
        """Show this action to this member of staff at `now`."""
        self.action = action
        self.client = action.client
        self.user = user
        self.now = now
        self.zone = store_zone(action.store)

    @property
    def is_mine(self) -> bool:
        """Whether the action is the user's own (a colleague's is shown, but marked)."""
        return self.action.associate_id == self.user.pk

    @property
    def is_open(self) -> bool:
        """Whether the action can still be acted on."""
        return self.action.state in lifecycle.ACTIONABLE_STATES

    @property
    def is_call(self) -> bool:
        """Whether the suggested channel is a call, so the draft is a script."""
        return self.action.channel == ActionChannel.PHONE

    @cached_property
    def sizes(self) -> list[Size]:
        """Sizes per category."""
        return list(self.client.sizes.all())

    @cached_property
    def likes(self) -> list[Preference]:
        """What the client likes."""
        return list(self.client.preferences.filter(likes=True))

    @cached_property
    def open_needs(self) -> list[Need]:
        """Needs not met yet, newest first."""
        return list(self.client.needs.filter(met_at__isnull=True))

    @cached_property
    def last_orders(self) -> list[Order]:
        """The latest purchases, with their lines."""
        orders = (
            self.client.orders.exclude(status=OrderStatus.CANCELLED)
            .prefetch_related("lines")
            .order_by("-placed_at")
        )
        return list(orders[:LAST_ORDERS])

    @cached_property
    def evidence(self) -> list[tuple[str, str]]:
        """The data behind the reason, as lines a person reads.

        A handover's brief has its own card above the reason, so it is not told twice here.
        """
        evidence = self.action.evidence
        if self.action.kind == ActionKind.HANDOVER and isinstance(evidence, dict):
            evidence = {key: value for key, value in evidence.items() if key not in BRIEF_CARD}
        return readable_evidence(evidence, zone=self.zone)

    @cached_property
    def evidence_json(self) -> str:
        """The evidence as the detector stored it, for whoever wants every detail."""
        return json.dumps(self.action.evidence, indent=2, sort_keys=True, ensure_ascii=False)

    @cached_property
    def merged_reasons(self) -> list[dict[str, Any]]:
        """Further reasons merged into this action, each with its own evidence."""
        kinds = dict(ActionKind.choices)
        found = []
        for item in self.action.reasons or []:
            if not isinstance(item, dict) or item.get("reason") == self.action.reason:
                continue
            found.append(
                {
                    "kind": kinds.get(item.get("kind", ""), item.get("kind", "")),
                    "reason": item.get("reason", ""),
                    "evidence": readable_evidence(item.get("evidence"), zone=self.zone),
                }
            )
        return found

    @cached_property
    def products(self) -> list[ShownItem]:
        """The products shown with the action, in order, with a photo each."""
        rows = self.action.action_products.select_related("product").prefetch_related(
            "product__photos"
        )
        return [ShownItem(row.product, _first_photo_url(row.product), row.note) for row in rows]

    @cached_property
    def surprise(self) -> ShownItem | None:
        """The small gift suggested, if any."""
        product = self.action.surprise
        if product is None:
            return None
        return ShownItem(product, _first_photo_url(product), self.action.surprise_note)

    @cached_property
    def channels(self) -> dict[str, ChannelOption]:
        """For each channel, whether it can be used."""
        return channel_options(self.client)

    @cached_property
    def client_local_time(self) -> dt.datetime:
        """The time it is now where the client lives."""
        return self.now.astimezone(client_zone(self.client))

    @property
    def client_clock(self) -> str:
        """The client's local time of day, such as "21:30"."""
        return f"{self.client_local_time:%H:%M}"

    @property
    def snoozed_ahead(self) -> bool:
        """Whether the action is snoozed until a time still to come."""
        until = self.action.snoozed_until
        return self.action.state == ActionState.SNOOZED and until is not None and until > self.now

    @cached_property
    def quiet_now(self) -> bool:
        """Whether it is the client's quiet hours, when messages are held back."""
        return in_quiet_hours(self.client, self.now, rules_for(self.action.store))

    @cached_property
    def call_attempts(self) -> list[AuditEntry]:
        """Calls logged on this action, newest first."""
        return list(
            AuditEntry.objects.filter(action=self.action, verb="called").select_related("actor")
        )

    @cached_property
    def sent_messages(self) -> list[Message]:
        """Messages sent for this action, newest first."""
        return list(self.action.messages.order_by("-created_at"))

    @cached_property
    def snooze_options(self) -> list[tuple[str, str, dt.datetime]]:
        """The snooze choices that still fall before the action expires."""
        options = []
        for value, label in lifecycle.SNOOZE_CHOICES.items():
            until = lifecycle.snooze_until(value, now=self.now, zone=self.zone)
            if self.action.expires_at is None or until < self.action.expires_at:
                options.append((value, label, until))
        return options

    @cached_property
    def next_action(self) -> Action | None:
        """The user's next action due now, to go on with once this one is closed."""
        day = todays_actions(self.user, now=self.now)
        return next((a for a in day.now + day.later if a.pk != self.action.pk), None)


def _action_forms(action: Action) -> dict[str, Form]:
    draft = {"subject": action.subject, "body": action.draft}
    return {
        "draft": forms.DraftForm(initial=draft, auto_id="id_draft_%s"),
        "send": forms.SendForm(initial=draft, auto_id="id_send_%s"),
        "call": forms.CallOutcomeForm(auto_id="id_call_%s"),
        "snooze": forms.SnoozeForm(auto_id="id_snooze_%s"),
        "skip": forms.SkipForm(auto_id="id_skip_%s"),
    }


def _action_context(
    action: Action, user: User, *, bound: dict[str, Form] | None = None, notice: str = ""
) -> dict[str, Any]:
    page_forms = _action_forms(action)
    page_forms.update(bound or {})
    if bound and "draft" in bound and action.channel != ActionChannel.PHONE:
        # A message's draft is saved from the send form, so its errors and text show there.
        page_forms["send"] = bound["draft"]
    failed = next((form for form in (bound or {}).values() if form.errors), None)
    page = ActionPage(action, user, now=timezone.now())
    return {
        "action": action,
        "page": page,
        "forms": page_forms,
        "failed": failed,
        "notice": notice,
    }


@login_required
def action_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one action: the client, why, the products, the draft and the buttons."""
    action = _get_action(request, pk)
    context = _action_context(action, signed_in_staff(request))
    return _render_in(store_zone(action.store), request, "moments/action.html", context)


def _act(
    request: HtmxHttpRequest,
    action: Action,
    *,
    form_name: str,
    form: Form,
    write: Callable[[dict[str, Any]], str],
    done_url: str,
) -> HttpResponse:
    """Run one change on an action.

    HTMX gets the action's controls back in place, with a notice or the form's errors; without
    JavaScript a success redirects to `done_url` with the notice, and an error shows the page
    again (status 400). A closed action or a refused change is an error on the form.
    """
    notice = ""
    if form.is_valid():
        try:
            notice = write(form.cleaned_data)
        except ValueError as exc:  # ActionNotOpen, a time that has passed, SendRefused
            form.add_error(None, str(exc))
    ok = not form.errors
    zone = store_zone(action.store)
    user = signed_in_staff(request)
    if not request.htmx:
        if ok:
            if action.state != ActionState.DONE:  # a done action's page leads with the outcome
                messages.success(request, notice)
            return HttpResponseRedirect(done_url)
        context = _action_context(action, user, bound={form_name: form})
        return _render_in(zone, request, "moments/action.html", context, status=400)
    context = _action_context(action, user, bound={} if ok else {form_name: form}, notice=notice)
    return _render_in(zone, request, "moments/_act.html", context)


def _action_url(action: Action) -> str:
    return reverse("moments:action", args=[action.pk])


@login_required
@require_POST
def save_draft(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Keep the associate's edits of the draft."""
    action = _get_action(request, pk)

    def write(data: dict[str, Any]) -> str:
        lifecycle.edit_draft(action, subject=data["subject"], draft=data["body"])
        return "Draft saved."

    form = forms.DraftForm(request.POST, auto_id="id_draft_%s")
    return _act(
        request, action, form_name="draft", form=form, write=write, done_url=_action_url(action)
    )


@login_required
@require_POST
def send(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Send the draft, as edited, by email or SMS; a refusal is shown in plain words."""
    action = _get_action(request, pk)
    user = signed_in_staff(request)

    def write(data: dict[str, Any]) -> str:
        # The edits are kept even if the send is refused, so nothing typed is lost.
        lifecycle.edit_draft(action, subject=data["subject"], draft=data["body"])
        try:
            message = send_action_message(
                action,
                channel=data["channel"],
                subject=data["subject"],
                body=data["body"],
                by=user,
            )
        except SendRefused as exc:  # the rules of contact, checked again at send time
            raise ValueError(exc.reason) from exc
        by_what = "email" if message.channel == ActionChannel.EMAIL else "SMS"
        return f"Sent by {by_what} to {message.to}."

    form = forms.SendForm(request.POST, auto_id="id_send_%s")
    return _act(
        request,
        action,
        form_name="send",
        form=form,
        write=write,
        done_url=_action_url(action),
    )


@login_required
@require_POST
def log_call(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Record how a call went: reached closes the action, not reached keeps it open."""
    action = _get_action(request, pk)
    user = signed_in_staff(request)

    def write(data: dict[str, Any]) -> str:
        lifecycle.log_call(action, by=user, outcome=data["outcome"], reached=data["reached"])
        if data["reached"]:
            return "Call logged. Done."
        return "Attempt noted; the action stays open."

    form = forms.CallOutcomeForm(request.POST, auto_id="id_call_%s")
    return _act(
        request,
        action,
        form_name="call",
        form=form,
        write=write,
        done_url=_action_url(action),
    )


@login_required
@require_POST
def snooze(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Put the action away for an hour, until tomorrow morning, or a week."""
    action = _get_action(request, pk)
    user = signed_in_staff(request)

    def write(data: dict[str, Any]) -> str:
        now = timezone.now()
        zone = store_zone(action.store)
        until = lifecycle.snooze_until(data["until"], now=now, zone=zone)
        lifecycle.snooze_action(action, by=user, until=until, now=now)
        local = until.astimezone(zone)
        return f"{action.client} snoozed until {local:%a} {local.day} {local:%b, %H:%M}."

    form = forms.SnoozeForm(request.POST, auto_id="id_snooze_%s")
    return _act(
        request,
        action,
        form_name="snooze",
        form=form,
        write=write,
        done_url=reverse("moments:today"),
    )


@login_required
@require_POST
def skip(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Close the action without contacting the client, with a reason."""
    action = _get_action(request, pk)
    user = signed_in_staff(request)
    form = forms.SkipForm(request.POST, auto_id="id_skip_%s")

    def write(data: dict[str, Any]) -> str:
        lifecycle.skip_action(action, by=user, reason=form.reason_text())
        return f"Skipped {action.client}."

    return _act(
        request, action, form_name="skip", form=form, write=write, done_url=reverse("moments:today")
    )
