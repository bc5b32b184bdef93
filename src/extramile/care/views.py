"""Problems pages: the list, reporting one, one problem from report to resolution; promises.

Every page needs a login and looks records up through scope_to_user, so another store's
problem, promise or action is a 404. Promises are recorded from a problem or an action page
and kept from Today, by HTMX (the partial comes back in place) or a plain POST (a redirect).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from extramile.accounts.access import scope_to_user, signed_in_staff
from extramile.accounts.models import User
from extramile.care import services
from extramile.care.forms import ProblemForm, PromiseForm, ResolveForm
from extramile.care.models import Problem, ProblemStatus, Promise, unresolved_first
from extramile.clients.models import Client
from extramile.clients.services import search_clients
from extramile.moments.models import Action
from extramile.moments.today import visible_actions

PAGE_SIZE = 50
STATUS_FILTERS = {
    "unresolved": ("Not resolved", [ProblemStatus.OPEN, ProblemStatus.IN_PROGRESS]),
    "open": ("Open", [ProblemStatus.OPEN]),
    "in_progress": ("In progress", [ProblemStatus.IN_PROGRESS]),
    "resolved": ("Resolved", [ProblemStatus.RESOLVED]),
    "all": ("All", list(ProblemStatus)),
}


def _zone(store: Any) -> ZoneInfo:
    return ZoneInfo(store.time_zone if store is not None and store.time_zone else "UTC")


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, store: Any, status: int = 200
) -> HttpResponse:
    """Render with times in the store's time zone, as its staff read them."""
    with timezone.override(_zone(store)):
        response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _problems(user: User) -> QuerySet[Problem]:
    return scope_to_user(Problem.objects.all(), user).select_related(
        "store", "client", "owner", "reported_by", "resolved_by", "product", "order"
    )


def _get_problem(request: HttpRequest, pk: int) -> Problem:
    return get_object_or_404(_problems(signed_in_staff(request)), pk=pk)


@login_required
def problem_list(request: HttpRequest) -> HttpResponse:
    """List the store's problems: unresolved first, the most urgent on top."""
    user = signed_in_staff(request)
    status = request.GET.get("status", "unresolved")
    if status not in STATUS_FILTERS:
        status = "unresolved"
    problems = unresolved_first(_problems(user).filter(status__in=STATUS_FILTERS[status][1]))
    page = Paginator(problems, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "filters": [(key, label) for key, (label, _) in STATUS_FILTERS.items()],
        "unresolved": _problems(user)
        .filter(status__in=[ProblemStatus.OPEN, ProblemStatus.IN_PROGRESS])
        .count(),
    }
    return _render(request, "care/problem_list.html", context, store=user.store)


@login_required
def report_problem(request: HttpRequest) -> HttpResponse:
    """Report a problem for a client: pick the client, then say what went wrong."""
    user = signed_in_staff(request)
    clients = scope_to_user(Client.objects.current(), user).select_related("store")
    client_id = request.POST.get("client") or request.GET.get("client")
    client = get_object_or_404(clients, pk=client_id) if client_id else None
    if client is None:
        query = request.GET.get("q", "").strip()
        found = list(search_clients(clients, query)[:20]) if query else []
        picking = {"query": query, "found": found}
        return _render(request, "care/report_pick.html", picking, store=user.store)
    if request.method == "POST":
        form = ProblemForm(request.POST, store=client.store)
        if form.is_valid():
            try:
                problem = services.report_problem(
                    client=client,
                    kind=form.cleaned_data["kind"],
                    urgency=form.cleaned_data["urgency"],
                    description=form.cleaned_data["description"],
                    owner=form.cleaned_data["owner"],
                    promised_by=form.moment(),
                    by=user,
                    now=timezone.now(),
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, f"Problem reported for {client}.")
                return HttpResponseRedirect(reverse("care:problem", args=[problem.pk]))
        status = 400
    else:
        form = ProblemForm(store=client.store, initial={"owner": user.pk})
        status = 200
    context: dict[str, Any] = {"client": client, "form": form}
    return _render(request, "care/report.html", context, store=client.store, status=status)


def _add_errors(form: Form, exc: ValidationError) -> None:
    fields = {"promised_by": "promised_date", "due_at": "promised_date"}
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            name = fields.get(field, field)
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _problem_context(
    problem: Problem, *, update: Form | None = None, resolve: Form | None = None
) -> dict[str, Any]:
    zone = _zone(problem.store)
    promised = problem.promised_by.astimezone(zone) if problem.promised_by else None
    initial = {
        "urgency": problem.urgency,
        "owner": problem.owner_id,
        "promised_date": promised.date() if promised else None,
        "promised_time": promised.time().replace(second=0, microsecond=0) if promised else None,
    }
    actions = Action.objects.filter(
        client=problem.client, keys__key__in=_action_keys(problem)
    ).select_related("associate")
    return {
        "problem": problem,
        "update_form": update or ProblemForm(store=problem.store, with_kind=False, initial=initial),
        "resolve_form": resolve or ResolveForm(),
        "actions": list(actions.distinct()),
        "panel": promise_panel(problem=problem),
    }


def _action_keys(problem: Problem) -> list[str]:
    return [f"service_recovery:{problem.pk}", f"problem_follow_up:{problem.pk}"]


@login_required
def problem_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one problem: state, urgency, owner, promised time, its calls and promises."""
    problem = _get_problem(request, pk)
    return _render(request, "care/problem.html", _problem_context(problem), store=problem.store)


@login_required
@require_POST
def update_problem(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a problem's urgency, owner and promised resolution time."""
    problem = _get_problem(request, pk)
    form = ProblemForm(request.POST, store=problem.store, with_kind=False)
    if form.is_valid():
        try:
            services.update_problem(
                problem,
                urgency=form.cleaned_data["urgency"],
                owner=form.cleaned_data["owner"],
                promised_by=form.moment(),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Problem updated.")
            return HttpResponseRedirect(reverse("care:problem", args=[problem.pk]))
    context = _problem_context(problem, update=form)
    return _render(request, "care/problem.html", context, store=problem.store, status=400)


@login_required
@require_POST
def start_problem(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the problem in progress; the one who takes it on owns it if nobody did."""
    problem = _get_problem(request, pk)
    try:
        services.start_problem(problem, by=signed_in_staff(request), now=timezone.now())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Marked in progress.")
    return HttpResponseRedirect(reverse("care:problem", args=[problem.pk]))


@login_required
@require_POST
def resolve_problem(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve the problem with how it was put right; a follow-up call is planned."""
    problem = _get_problem(request, pk)
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            services.resolve_problem(
                problem,
                resolution=form.cleaned_data["resolution"],
                by=signed_in_staff(request),
                now=timezone.now(),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Resolved. A follow-up call is planned to check all is well.")
            return HttpResponseRedirect(reverse("care:problem", args=[problem.pk]))
    context = _problem_context(problem, resolve=form)
    return _render(request, "care/problem.html", context, store=problem.store, status=400)


# --- Promises ---------------------------------------------------------------------------------


def promise_panel(
    *, problem: Problem | None = None, action: Action | None = None, form: Form | None = None
) -> dict[str, Any]:
    """What the promise panel of a problem or an action shows: its promises and the form."""
    if problem is not None:
        promises = problem.promises.all()
        url = reverse("care:promise_on_problem", args=[problem.pk])
        store = problem.store
    else:
        assert action is not None
        promises = action.promises.all()
        url = reverse("care:promise_on_action", args=[action.pk])
        store = action.store
    return {
        "promises": list(promises.select_related("made_by")),
        "promise_form": form or PromiseForm(store=store, auto_id="id_promise_%s"),
        "promise_url": url,
    }


def _record_promise(
    request: HttpRequest,
    *,
    problem: Problem | None = None,
    action: Action | None = None,
    back: str,
) -> HttpResponse:
    record = problem if problem is not None else action
    assert record is not None
    form = PromiseForm(request.POST, store=record.store, auto_id="id_promise_%s")
    if form.is_valid():
        due_at = form.moment()
        assert due_at is not None
        try:
            services.make_promise(
                client=record.client,
                text=form.cleaned_data["text"],
                due_at=due_at,
                by=signed_in_staff(request),
                now=timezone.now(),
                action=action,
                problem=problem,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
    ok = not form.errors
    if not _is_htmx(request):
        if ok:
            messages.success(request, "Promise recorded.")
            return HttpResponseRedirect(back)
        messages.error(request, "The promise was not recorded: " + _first_error(form))
        return HttpResponseRedirect(back)
    panel = promise_panel(problem=problem, action=action, form=None if ok else form)
    panel["notice"] = "Promise recorded." if ok else ""
    return _render(request, "care/_promises.html", panel, store=record.store)


def _first_error(form: Form) -> str:
    errors = [str(error) for errors in form.errors.values() for error in errors]
    return errors[0] if errors else "check the form"


@login_required
@require_POST
def promise_on_problem(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a promise made about a problem."""
    problem = _get_problem(request, pk)
    back = reverse("care:problem", args=[problem.pk])
    return _record_promise(request, problem=problem, back=back)


@login_required
@require_POST
def promise_on_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a promise made on an action (a call, a message)."""
    actions = visible_actions(signed_in_staff(request)).select_related("store", "client")
    action = get_object_or_404(actions, pk=pk)
    back = reverse("moments:action", args=[action.pk])
    return _record_promise(request, action=action, back=back)


@login_required
@require_POST
def keep_promise(request: HttpRequest, pk: int) -> HttpResponse:
    """Record that a promise was kept now; say how (early, on time, late, or still broken)."""
    user = signed_in_staff(request)
    promises = scope_to_user(Promise.objects.all(), user).select_related("store", "client")
    promise = get_object_or_404(promises, pk=pk)
    error = ""
    try:
        services.keep_promise(promise, by=user, now=timezone.now())
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"{promise.get_outcome_display()}: {promise.text}")
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = reverse("moments:today")
        return HttpResponseRedirect(back)
    context = {"promise": promise, "error": error}
    row = (
        "care/_promise_due.html" if request.POST.get("row") == "due" else "care/_promise_item.html"
    )
    return _render(request, row, context, store=promise.store)
