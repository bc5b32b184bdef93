"""Pages of loyalty: the weekly plan, the client's loyalty section, the public survey page."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from extramile.accounts.access import scope_to_user, signed_in_staff
from extramile.accounts.models import Role, Store, User
from extramile.clients.models import Client
from extramile.loyalty import plans, services
from extramile.loyalty.models import PlanItem, PlanOutcome, PlanState, ReferralSource


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- The weekly plan --------------------------------------------------------------------------


def _week(request: HttpRequest, store: Store | None) -> dt.date:
    raw = request.GET.get("week", "")
    if raw:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError as exc:
            raise Http404("Not a week.") from exc
        return day - dt.timedelta(days=day.weekday())
    now = timezone.now()
    if store is None:
        return now.date() - dt.timedelta(days=now.date().weekday())
    return plans.week_of(now, store)


def _item_context(item: PlanItem) -> dict[str, Any]:
    return {"item": item, "outcomes": PlanOutcome.choices}


@login_required
def plan(request: HttpRequest) -> HttpResponse:
    """Show this week's plan: an associate's own gestures; a manager's whole store."""
    user = signed_in_staff(request)
    week = _week(request, user.store)
    items = plans.visible_plan_items(user).filter(week=week)
    manager = user.role in (Role.MANAGER, Role.ADMIN)
    if not manager:
        items = items.filter(associate=user).exclude(state=PlanState.HELD_OUT)
    by_associate: dict[User, list[PlanItem]] = defaultdict(list)
    for item in items.order_by("associate__username", "rank", "id"):
        by_associate[item.associate].append(item)
    context = {
        "week": week,
        "week_end": week + dt.timedelta(days=6),
        "previous": week - dt.timedelta(days=7),
        "next": week + dt.timedelta(days=7),
        "groups": sorted(by_associate.items(), key=lambda pair: pair[0].username),
        "manager": manager,
        "outcomes": PlanOutcome.choices,
        "can_build": manager and user.store is not None,
    }
    return render(request, "loyalty/plan.html", context)


def _plan_item(request: HttpRequest, pk: int) -> PlanItem:
    return get_object_or_404(plans.visible_plan_items(signed_in_staff(request)), pk=pk)


def _item_response(request: HttpRequest, item: PlanItem, error: str = "") -> HttpResponse:
    if _is_htmx(request):
        context = {**_item_context(item), "error": error, "manager": True}
        return render(request, "loyalty/_plan_item.html", context, status=422 if error else 200)
    if error:
        messages.error(request, error)
    return redirect(f"{reverse('loyalty:plan')}?week={item.week.isoformat()}")


@login_required
@require_POST
def plan_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Record what the associate did for the client."""
    item = _plan_item(request, pk)
    try:
        item = plans.mark_done(item, by=signed_in_staff(request), note=request.POST.get("note", ""))
    except ValidationError as exc:
        return _item_response(request, item, error=" ".join(exc.messages))
    return _item_response(request, item)


@login_required
@require_POST
def plan_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    """Record what came of the gesture."""
    item = _plan_item(request, pk)
    try:
        item = plans.record_outcome(
            item,
            by=signed_in_staff(request),
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        return _item_response(request, item, error=" ".join(exc.messages))
    return _item_response(request, item)


@login_required
@require_POST
def plan_build(request: HttpRequest) -> HttpResponse:
    """Build this week's plans for the manager's store (those not built yet)."""
    user = signed_in_staff(request)
    if user.role not in (Role.MANAGER, Role.ADMIN) or user.store is None:
        raise PermissionDenied("Only a store's manager builds its plans.")
    build = plans.build_plans(store=user.store, now=timezone.now())
    messages.success(
        request,
        f"{len(build.items)} gestures planned for the week of {build.week:%A %d %B}"
        + (f"; {len(build.kept)} associates already had a plan." if build.kept else "."),
    )
    return redirect(f"{reverse('loyalty:plan')}?week={build.week.isoformat()}")


# --- The client's loyalty section -------------------------------------------------------------


def section_context(client: Client) -> dict[str, Any]:
    """What the client's loyalty section shows (also used by its template tag)."""
    return {"client": client, "loyalty": services.client_loyalty(client)}


@login_required
@require_POST
def record_referral(request: HttpRequest, pk: int) -> HttpResponse:
    """Record who sent this client to us; the referrer gets a thank-you action."""
    user = signed_in_staff(request)
    client = get_object_or_404(scope_to_user(Client.objects.select_related("store"), user), pk=pk)
    error = ""
    try:
        referrer = services.find_referrer(
            client.store, request.POST.get("referrer", ""), exclude=client
        )
        _, created = services.record_referral(
            referrer=referrer,
            referred=client,
            source=ReferralSource.PROFILE,
            by=user,
            note=request.POST.get("note", ""),
        )
        notice = (
            f"Recorded: {referrer.full_name} sent {client.full_name}. A thank-you is on "
            f"{referrer.first_name or referrer.full_name}'s associate's list."
            if created
            else "Already recorded."
        )
    except ValidationError as exc:
        error, notice = " ".join(exc.messages), ""
    if _is_htmx(request):
        context = {**section_context(client), "error": error, "notice": notice}
        return render(
            request, "loyalty/_client_loyalty.html", context, status=422 if error else 200
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect("clients:profile", pk=client.pk)


# --- The public survey page -------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """Ask the client the one question, and record their answer once."""
    try:
        found = services.survey_for_token(token)
    except services.InvalidSurveyLink as exc:
        return render(request, "loyalty/survey_invalid.html", {"reason": str(exc)}, status=400)
    context: dict[str, Any] = {"survey": found, "store": found.store, "scale": range(11)}
    if request.method == "POST" and found.answered_at is None:
        raw = request.POST.get("score", "")
        try:
            if not raw.isdigit():
                raise ValidationError({"score": "Choose a number from 0 to 10."})
            recorded = services.answer_survey(
                found, score=int(raw), comment=request.POST.get("comment", "")
            )
        except ValidationError:
            context["error"] = "Choose a number from 0 to 10."
            response = render(request, "loyalty/survey.html", context, status=422)
            response["X-Robots-Tag"] = "noindex"
            return response
        context["just_answered"] = recorded
        found.refresh_from_db()
    response = render(request, "loyalty/survey.html", context)
    response["X-Robots-Tag"] = "noindex"
    return response
