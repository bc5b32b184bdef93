"""Pages of the programs: introductions, the story log, the calendar page and its feed.

Thin views: they look records up through the one scoping rule (another store's record is a
404), parse a form, call a service and render. Every change is a POST with a CSRF token; with
HTMX the changed fragment comes back, without it a redirect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from extramile.accounts.access import scope_to_user, signed_in_staff
from extramile.accounts.models import User
from extramile.clients.models import Client, ClientStatus
from extramile.programs import forms, services
from extramile.programs.calendar import build_calendar
from extramile.programs.models import (
    OPEN_INTRODUCTION_STATES,
    CalendarFeed,
    Introduction,
    IntroductionState,
    Offer,
    Side,
    Story,
)

STATE_ORDER = [
    IntroductionState.AGREED,
    IntroductionState.ASKED,
    IntroductionState.SUGGESTED,
    IntroductionState.MADE,
    IntroductionState.DECLINED,
    IntroductionState.DISMISSED,
    IntroductionState.WITHDRAWN,
]
STORIES_SHOWN = 100


class HtmxHttpRequest(HttpRequest):
    """A request seen through django-htmx's middleware."""

    htmx: HtmxDetails


def _zone(user: User) -> ZoneInfo:
    return ZoneInfo(user.store.time_zone if user.store else "UTC")


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render with times in the user's store's zone, as its staff live them."""
    with timezone.override(_zone(signed_in_staff(request))):
        return render(request, template, context, status=status)


def _form_errors(form: Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# -- introductions --------------------------------------------------------------------------


def _introductions(user: User) -> QuerySet[Introduction]:
    return scope_to_user(Introduction.objects.all(), user).select_related(
        "store",
        "offer",
        "need",
        "offering_client",
        "needing_client",
        "made_by",
    )


def _with_consents(intro: Introduction) -> Introduction:
    """Attach both sides' consents, offering first, as `sides` for the template."""
    consents = {c.side: c for c in intro.consents.select_related("asked_by", "recorded_by")}
    intro.sides = [consents[side] for side in (Side.OFFERING, Side.NEEDING) if side in consents]  # type: ignore[attr-defined]
    return intro


@login_required
@require_GET
def introductions(request: HtmxHttpRequest) -> HttpResponse:
    """List the store's introductions, those waiting for someone first."""
    user = signed_in_staff(request)
    order = Case(
        *[When(state=state, then=Value(n)) for n, state in enumerate(STATE_ORDER)],
        output_field=IntegerField(),
    )
    rows = [
        _with_consents(intro)
        for intro in _introductions(user)
        .prefetch_related("consents")
        .annotate(rank=order)
        .order_by("rank", "-suggested_at", "-id")
    ]
    open_rows = [i for i in rows if i.state in OPEN_INTRODUCTION_STATES]
    closed_rows = [i for i in rows if i.state not in OPEN_INTRODUCTION_STATES]
    return _render(
        request,
        "programs/introductions.html",
        {"open_rows": open_rows, "closed_rows": closed_rows, "forms": _blank_intro_forms()},
    )


def _blank_intro_forms() -> dict[str, Form]:
    return {
        "answer": forms.AnswerForm(),
        "asked": forms.AskedForm(),
        "make": forms.MakeForm(),
        "dismiss": forms.DismissForm(),
    }


def _introduction_step(
    request: HtmxHttpRequest,
    pk: int,
    form_class: type[Form],
    act: Callable[[Introduction, dict[str, Any], User], str],
) -> HttpResponse:
    """Run one step on an introduction of the user's store: its row for HTMX, else a redirect."""
    user = signed_in_staff(request)
    intro = get_object_or_404(_introductions(user), pk=pk)
    form = form_class(request.POST)
    notice = ""
    if form.is_valid():
        try:
            notice = act(intro, form.cleaned_data, user)
        except ValidationError as exc:
            _form_errors(form, exc)
    anchor = reverse("programs:introductions") + f"#introduction-{pk}"
    if not request.htmx:
        if form.errors:
            for error in form.errors.values():
                messages.error(request, " ".join(str(e) for e in error))
        else:
            messages.success(request, notice)
        return HttpResponseRedirect(anchor)
    fresh = _with_consents(get_object_or_404(_introductions(user), pk=pk))
    context = {
        "intro": fresh,
        "forms": _blank_intro_forms(),
        "notice": notice,
        "errors": [e for errors in form.errors.values() for e in errors],
    }
    status = 200 if not form.errors else 422
    response = _render(request, "programs/_introduction.html", context, status=status)
    if form.errors:
        # HTMX swaps only 2xx answers by default: ask it to show the row with its errors.
        response["HX-Reswap"] = "outerHTML"
        response.status_code = 200
    return response


def _side(side: str) -> str:
    if side not in Side.values:
        raise Http404
    return side


@login_required
@require_POST
def mark_asked(request: HtmxHttpRequest, pk: int, side: str) -> HttpResponse:
    """Record that one side was asked."""

    def act(intro: Introduction, data: dict[str, Any], user: User) -> str:
        services.mark_asked(intro, side=_side(side), by=user, how=data["how"], now=timezone.now())
        return "Marked as asked."

    return _introduction_step(request, pk, forms.AskedForm, act)


@login_required
@require_POST
def record_answer(request: HtmxHttpRequest, pk: int, side: str) -> HttpResponse:
    """Record one side's answer."""

    def act(intro: Introduction, data: dict[str, Any], user: User) -> str:
        agreed = data["answer"] == "agreed"
        result = services.record_answer(
            intro,
            side=_side(side),
            agreed=agreed,
            by=user,
            how=data["how"],
            note=data["note"],
            now=timezone.now(),
        )
        if not result.changed:
            return "That answer was already recorded."
        if result.introduction.state == IntroductionState.AGREED:
            return "Both agreed: you can make the introduction."
        return "Agreed: now ask the other side." if agreed else "Declined: it will not be made."

    return _introduction_step(request, pk, forms.AnswerForm, act)


@login_required
@require_POST
def make(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Record that the introduction was made (only once both agreed)."""

    def act(intro: Introduction, data: dict[str, Any], user: User) -> str:
        services.make_introduction(
            intro, by=user, how=data["how"], note=data["note"], now=timezone.now()
        )
        return "Introduction made."

    return _introduction_step(request, pk, forms.MakeForm, act)


@login_required
@require_POST
def dismiss(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Set a suggestion aside as not a good match."""

    def act(intro: Introduction, data: dict[str, Any], user: User) -> str:
        services.dismiss_introduction(intro, by=user, reason=data["reason"], now=timezone.now())
        return "Dismissed."

    return _introduction_step(request, pk, forms.DismissForm, act)


# -- offers on the client profile -----------------------------------------------------------


def _visible_client(user: User, pk: int) -> Client:
    clients = scope_to_user(Client.objects.all(), user).select_related("store")
    return get_object_or_404(clients, pk=pk)


def offers_context(client: Client, *, form: Form | None = None, notice: str = "") -> dict:
    """What the offers section of the profile shows."""
    offers = list(client.offers.filter(withdrawn_at__isnull=True))
    return {
        "client": client,
        "offers": offers,
        "introduction_count": Introduction.objects.filter(offer__in=offers).count(),
        "offer_form": form or forms.OfferForm(),
        "notice": notice,
    }


def _offers_answer(
    request: HtmxHttpRequest, client: Client, *, form: Form | None, notice: str
) -> HttpResponse:
    failed = form is not None and bool(form.errors)
    if not request.htmx:
        if failed:
            assert form is not None
            for error in form.errors.values():
                messages.error(request, " ".join(str(e) for e in error))
        else:
            messages.success(request, notice)
        return HttpResponseRedirect(reverse("clients:profile", args=[client.pk]) + "#offers")
    context = offers_context(client, form=form if failed else None, notice=notice)
    return _render(request, "programs/_offers_section.html", context)


@login_required
@require_POST
def add_offer(request: HtmxHttpRequest, client_pk: int) -> HttpResponse:
    """Add what the client offers; introductions it makes possible are suggested at once."""
    user = signed_in_staff(request)
    client = _visible_client(user, client_pk)
    form = forms.OfferForm(request.POST)
    notice = ""
    if form.is_valid():
        try:
            before = Introduction.objects.filter(store=client.store).count()
            services.add_offer(
                client,
                text=form.cleaned_data["text"],
                keywords=form.cleaned_data["keywords"],
                by=user,
                now=timezone.now(),
            )
            found = Introduction.objects.filter(store=client.store).count() - before
            notice = "Saved." + (
                f" {found} introduction{'s' if found != 1 else ''} suggested." if found else ""
            )
        except ValidationError as exc:
            _form_errors(form, exc)
    return _offers_answer(request, client, form=form, notice=notice)


@login_required
@require_POST
def withdraw_offer(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Withdraw one of a client's offers."""
    user = signed_in_staff(request)
    offers = scope_to_user(Offer.objects.all(), user, store_field="client__store")
    offer = get_object_or_404(offers.select_related("client__store"), pk=pk)
    services.withdraw_offer(offer, by=user, now=timezone.now())
    return _offers_answer(request, offer.client, form=None, notice="Removed.")


# -- stories --------------------------------------------------------------------------------


def _story_clients(user: User) -> QuerySet[Client]:
    return scope_to_user(Client.objects.all(), user).filter(
        status__in=[ClientStatus.ACTIVE, ClientStatus.LAPSED]
    )


def _stories_page(request: HttpRequest, *, form: forms.StoryForm | None = None) -> HttpResponse:
    user = signed_in_staff(request)
    stories = list(
        scope_to_user(Story.objects.all(), user).select_related(
            "author", "client", "recognised_by", "store"
        )[:STORIES_SHOWN]
    )
    for story in stories:
        story.recognisable = services.can_recognise(user, story)  # type: ignore[attr-defined]
    mine_recognised = [s for s in stories if s.author_id == user.pk and s.recognised_at]
    if form is None:
        initial: dict[str, Any] = {"happened_on": timezone.now().astimezone(_zone(user)).date()}
        client_id = request.GET.get("client", "")
        if client_id.isdigit():
            initial["client"] = int(client_id)
        form = forms.StoryForm(initial=initial, clients=_story_clients(user))
    context = {
        "stories": stories,
        "mine_recognised": mine_recognised,
        "form": form,
        "recognise_form": forms.RecogniseForm(),
    }
    return _render(request, "programs/stories.html", context, status=400 if form.errors else 200)


@login_required
def stories(request: HtmxHttpRequest) -> HttpResponse:
    """The store's story log, with a form to tell a new one."""
    if request.method != "POST":
        return _stories_page(request)
    user = signed_in_staff(request)
    form = forms.StoryForm(request.POST, clients=_story_clients(user))
    if form.is_valid():
        try:
            services.record_story(
                author=user,
                what_happened=form.cleaned_data["what_happened"],
                happened_on=form.cleaned_data["happened_on"],
                client=form.cleaned_data["client"],
                now=timezone.now(),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Story saved. Thank you for going the extra mile.")
            return HttpResponseRedirect(reverse("programs:stories"))
    return _stories_page(request, form=form)


@login_required
@require_POST
def recognise(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Recognise a story (managers of its store, not its author)."""
    user = signed_in_staff(request)
    story = get_object_or_404(scope_to_user(Story.objects.all(), user), pk=pk)
    form = forms.RecogniseForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            story = services.recognise_story(
                story, by=user, note=form.cleaned_data["note"], now=timezone.now()
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = "Keep the note to 255 characters."
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, "Recognised.")
        return HttpResponseRedirect(reverse("programs:stories") + f"#story-{pk}")
    story = get_object_or_404(
        scope_to_user(Story.objects.all(), user).select_related(
            "author", "client", "recognised_by"
        ),
        pk=pk,
    )
    story.recognisable = services.can_recognise(user, story)  # type: ignore[attr-defined]
    context = {"story": story, "recognise_form": forms.RecogniseForm(), "error": error}
    return _render(request, "programs/_story.html", context)


# -- calendar -------------------------------------------------------------------------------


def _feed_of(user: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).first()


@login_required
@require_GET
def calendar_page(request: HttpRequest) -> HttpResponse:
    """The user's calendar link, to copy into a calendar app, with new-link and turn-off."""
    user = signed_in_staff(request)
    feed = _feed_of(user)
    url = ""
    if feed is not None:
        path = reverse("programs:calendar_feed", args=[services.calendar_token(feed)])
        url = request.build_absolute_uri(path)
    was_revoked = feed is None and CalendarFeed.objects.filter(user=user).exists()
    context = {"feed": feed, "feed_url": url, "was_revoked": was_revoked}
    return _render(request, "programs/calendar.html", context)


@login_required
@require_POST
def issue_calendar(request: HttpRequest) -> HttpResponse:
    """Give the user a new calendar link; the old one stops working."""
    services.issue_calendar_feed(signed_in_staff(request), now=timezone.now())
    messages.success(request, "Your calendar link is ready. Any earlier link no longer works.")
    return HttpResponseRedirect(reverse("programs:calendar"))


@login_required
@require_POST
def revoke_calendar(request: HttpRequest) -> HttpResponse:
    """Turn the user's calendar link off."""
    services.revoke_calendar_feed(signed_in_staff(request), now=timezone.now())
    messages.success(request, "Your calendar link is turned off.")
    return HttpResponseRedirect(reverse("programs:calendar"))


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed itself, for calendar apps: no login, the token in the URL is the key."""
    feed = services.feed_for_token(token)
    if feed is None:
        raise Http404
    now = timezone.now()
    body = build_calendar(feed.user, now=now, base_url=request.build_absolute_uri("/"))
    services.note_feed_read(feed, now=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="extramile.ics"'
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
