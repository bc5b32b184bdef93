"""Staff pages for managers: the team at a glance, deactivating with a handover, absences.

Managers see and change the staff of their own store; admins every store's. An associate gets
403; a member of staff of another store is a 404, as everywhere (accounts.access).
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from extramile.accounts.access import scope_to_user
from extramile.accounts.forms import AbsenceForm, SuccessorForm
from extramile.accounts.models import Role, User, is_working
from extramile.accounts.services import (
    DeactivationRefused,
    StaffRow,
    deactivate_associate,
    plan_handover,
    record_absence,
    staff_overview,
    store_today,
)


def _day(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _manager(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise Http404
    if user.role not in (Role.MANAGER, Role.ADMIN):
        raise PermissionDenied("The Staff pages are for managers.")
    return user


def _member(request: HttpRequest, username: str) -> User:
    """The member of staff, if this manager may see them (admins are never managed here)."""
    staff = scope_to_user(User.objects.exclude(role=Role.ADMIN), _manager(request))
    return get_object_or_404(staff.select_related("store"), username=username)


@login_required
def staff_list(request: HttpRequest) -> HttpResponse:
    """List the staff of the manager's store (an admin: every store) with state and clients."""
    user = _manager(request)
    staff = scope_to_user(User.objects.exclude(role=Role.ADMIN), user)
    now = timezone.now()
    rows = staff_overview(staff, today=store_today(user.store, now))
    groups: dict[str, list[StaffRow]] = {}
    for row in rows:
        groups.setdefault(row.user.store.name if row.user.store else "No store", []).append(row)
    return render(
        request,
        "accounts/staff.html",
        {"groups": list(groups.items()), "today": store_today(user.store, now)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def deactivate(request: HttpRequest, username: str) -> HttpResponse:
    """Preview who takes which client (GET), then deactivate and hand over (POST)."""
    manager = _manager(request)
    member = _member(request, username)
    if member.pk == manager.pk:
        raise PermissionDenied("You cannot deactivate yourself.")
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = SuccessorForm(data, member=member)
    to = form.cleaned_data.get("to") if form.is_bound and form.is_valid() else None
    if request.method == "POST" and form.is_valid():
        try:
            result = deactivate_associate(member, by=manager, to=to, source="ui")
        except DeactivationRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"{member.display_name} is deactivated. {len(result.plan.moves)} client(s) "
                f"handed over, {result.moved_actions} open action(s) moved, "
                f"{len(result.handover_actions)} handover action(s) on their new owners' "
                "Today. Nothing was deleted.",
            )
            return redirect("staff:list")
    refused = ""
    try:
        plan = plan_handover(member, to=to)
    except DeactivationRefused as exc:
        plan, refused = plan_handover(member), str(exc)
    context = {
        "member": member,
        "form": form,
        "plan": plan,
        "groups": plan.by_colleague(),
        "refused": refused,
        "already": not is_working(member),
    }
    return render(request, "accounts/deactivate.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def absence(request: HttpRequest, username: str) -> HttpResponse:
    """Record that a member of staff is away, and who covers for them."""
    manager = _manager(request)
    member = _member(request, username)
    form = AbsenceForm(request.POST or None, member=member)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            record_absence(
                user=member,
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                backup=data["backup"],
                note=data["note"],
                by=manager,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request,
                f"{member.display_name} is away from {_day(data['starts_on'])} to "
                f"{_day(data['ends_on'])}; {data['backup'].display_name} takes their "
                "clients' service actions meanwhile.",
            )
            return redirect("staff:list")
    return render(request, "accounts/absence.html", {"member": member, "form": form})
