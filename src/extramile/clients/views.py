"""Client book pages: thin views that parse input, call the services and render."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from functools import cached_property, wraps
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from django.conf.locale import LANG_INFO
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import BooleanField, Manager, Max, Model, OuterRef, Q, QuerySet, Subquery
from django.forms import ChoiceField, Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from extramile.accounts.access import can_access_store, scope_to_user, signed_in_staff
from extramile.accounts.models import Store, User
from extramile.clients import forms, services
from extramile.clients.models import (
    Channel,
    Client,
    ClientStatus,
    Consent,
    Need,
    Preference,
    Size,
)
from extramile.loyalty.models import ReferralSource
from extramile.loyalty.services import record_referral

PAGE_SIZE = 50

_M = TypeVar("_M", bound=Model)


class HtmxHttpRequest(HttpRequest):
    """A request seen through django-htmx's middleware."""

    htmx: HtmxDetails


def _visible_clients(user: User) -> QuerySet[Client]:
    return scope_to_user(Client.objects.all(), user)


def _get_client(request: HttpRequest, pk: int) -> Client:
    """Return the client if this user may see it; any other client is a 404, never a 403."""
    queryset = _visible_clients(signed_in_staff(request)).select_related(
        "store", "primary_associate"
    )
    return get_object_or_404(queryset, pk=pk)


# --- Client book ------------------------------------------------------------------------------


def _filter_book(data: dict[str, Any], user: User) -> QuerySet[Client]:
    status = data.get("status")
    clients: QuerySet[Client] = (
        Client.objects.filter(status=status) if status else Client.objects.current()
    )
    clients = services.search_clients(scope_to_user(clients, user), data.get("q") or "")
    if tag := data.get("tag"):
        clients = clients.filter(tags__name=tag)
    associate = data.get("associate")
    if associate == "me":
        clients = clients.filter(primary_associate=user)
    elif associate == "none":
        clients = clients.filter(primary_associate__isnull=True)
    elif associate:
        clients = clients.filter(primary_associate_id=int(associate))
    if channel := data.get("consent"):
        latest = Consent.objects.filter(client=OuterRef("pk"), channel=channel).order_by(
            "-recorded_at", "-id"
        )
        clients = clients.annotate(
            consent_now=Subquery(latest.values("granted")[:1], output_field=BooleanField())
        ).filter(consent_now=True)
    return clients


@login_required
def client_book(request: HtmxHttpRequest) -> HttpResponse:
    """List the clients this member of staff may see, with live search, filters and pages."""
    user = signed_in_staff(request)
    form = forms.BookFilterForm(request.GET, user=user)
    form.is_valid()  # a filter that does not apply is reported and left out; the rest still work
    data = form.cleaned_data
    clients = (
        _filter_book(data, user)
        .select_related("primary_associate")
        .prefetch_related("tags")
        .annotate(last_order=Max("orders__placed_at", filter=~Q(orders__status="cancelled")))
        # Meta.ordering is dropped from aggregating queries, so say it again.
        .order_by("last_name", "first_name", "id")
    )
    page = Paginator(clients, PAGE_SIZE).get_page(request.GET.get("page"))
    filters_active = any(value for name, value in data.items() if name != "q")
    context = {"form": form, "page": page, "filters_active": filters_active}
    partial = request.htmx and request.htmx.target == "results"
    template = "clients/_book_results.html" if partial else "clients/book.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- Client profile ---------------------------------------------------------------------------


class ClientProfile:
    """What the profile page shows; each part is loaded when a section first asks for it."""

    def __init__(self, client: Client, user: User) -> None:
        """Show this client to this member of staff."""
        self.client = client
        self.user = user

    @cached_property
    def tags(self) -> list[str]:
        """The client's tag names."""
        return [tag.name for tag in self.client.tags.all()]

    @cached_property
    def contact_points(self) -> list[Any]:
        """Further emails, phones and addresses."""
        return list(self.client.contact_points.all())

    @cached_property
    def consents(self) -> list[tuple[str, Consent | None]]:
        """The decision in force for every channel, None where nothing was recorded."""
        current = services.current_consents(self.client)
        return [(label, current.get(value)) for value, label in Channel.choices]

    @cached_property
    def language(self) -> str:
        """The client's language by name ("French"), or its code when Django does not know it."""
        code = (self.client.language or "").strip()
        for key in (code.lower(), code.lower().split("-")[0]):
            if key in LANG_INFO and "name" in LANG_INFO[key]:
                return str(LANG_INFO[key]["name"])
        return code

    @cached_property
    def local_time(self) -> dt.datetime | None:
        """The time it is now where the client lives."""
        if not self.client.time_zone:
            return None
        return timezone.now().astimezone(ZoneInfo(self.client.time_zone))

    @cached_property
    def sizes(self) -> list[Size]:
        """Sizes per category."""
        return list(self.client.sizes.all())

    @cached_property
    def preferences(self) -> list[Preference]:
        """Likes first, then dislikes."""
        return sorted(self.client.preferences.all(), key=lambda p: not p.likes)

    @cached_property
    def dates(self) -> list[dict[str, Any]]:
        """Important dates in calendar order, each with the days until it comes round."""
        today = timezone.localdate()
        return [
            {
                "item": item,
                "when": f"{item.day} {calendar.month_name[item.month]}"
                + (f" {item.year}" if item.year else ""),
                "days_until": _days_until(today, item.month, item.day),
            }
            for item in self.client.important_dates.all()
        ]

    @cached_property
    def needs(self) -> list[Need]:
        """Open needs first, newest first."""
        return sorted(self.client.needs.all(), key=lambda n: n.met_at is not None)

    @cached_property
    def relations(self) -> list[dict[str, Any]]:
        """Household ties and referrals, in both directions."""
        found = []
        outgoing = self.client.relations.select_related("other__store")
        for relation in outgoing:
            found.append(
                self._relation(relation.get_kind_display(), relation.label, relation.other)
            )
        incoming = self.client.relations_to.select_related("client__store")
        for relation in incoming:
            kind = "Referred" if relation.kind == "referred_by" else relation.get_kind_display()
            found.append(self._relation(kind, relation.label, relation.client))
        return found

    def _relation(self, kind: str, label: str, other: Client) -> dict[str, Any]:
        visible = can_access_store(self.user, other.store_id)
        return {"kind": kind, "label": label, "other": other, "visible": visible}

    @cached_property
    def timeline(self) -> list[services.TimelineEntry]:
        """Everything that happened, newest first."""
        return services.client_timeline(self.client)


def _days_until(today: dt.date, month: int, day: int) -> int:
    for year in (today.year, today.year + 1, today.year + 4):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:  # 29 February outside a leap year
            continue
        if candidate >= today:
            return (candidate - today).days
    return 366


SECTION_FORMS: dict[str, type[Form]] = {
    "contact": forms.ContactForm,
    "consent": forms.ConsentForm,
    "tags": forms.TagsForm,
    "sizes": forms.SizeForm,
    "preferences": forms.PreferenceForm,
    "dates": forms.ImportantDateForm,
    "needs": forms.NeedForm,
    "timeline": forms.NoteForm,
}


def _section_form(section: str, data: Any = None, initial: dict[str, Any] | None = None) -> Form:
    # Several forms share one page, so ids carry the section name to stay unique.
    return SECTION_FORMS[section](data, initial=initial, auto_id=f"id_{section}_%s")


def _blank_forms(client: Client, profile: ClientProfile) -> dict[str, Form]:
    initial: dict[str, dict[str, Any]] = {
        "contact": {"email": client.email, "phone": client.phone, "address": client.address},
        "tags": {"tags": ", ".join(profile.tags)},
    }
    return {name: _section_form(name, initial=initial.get(name)) for name in SECTION_FORMS}


def _profile_context(client: Client, user: User, bound: dict[str, Form] | None = None) -> dict:
    profile = ClientProfile(client, user)
    section_forms = _blank_forms(client, profile)
    section_forms.update(bound or {})
    return {"client": client, "profile": profile, "forms": section_forms}


@login_required
def client_profile(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one client: header, sections and the one timeline."""
    client = _get_client(request, pk)
    return _render_in_store_time(
        request, client, "clients/profile.html", _profile_context(client, signed_in_staff(request))
    )


def _render_in_store_time(
    request: HttpRequest, client: Client, template: str, context: dict, status: int = 200
) -> HttpResponse:
    """Render with times shown in the client's store's time zone, as its staff live them."""
    with timezone.override(ZoneInfo(client.store.time_zone or "UTC")):
        return render(request, template, context, status=status)


def _section_url(client: Client, section: str) -> str:
    return reverse("clients:profile", args=[client.pk]) + f"#{section}"


def _add_service_errors(form: Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _save_section(
    request: HtmxHttpRequest,
    client: Client,
    section: str,
    write: Callable[[dict[str, Any]], str | None],
    *,
    form: Form | None = None,
) -> HttpResponse:
    """Run one quick edit: the section fragment for HTMX, else a redirect or the page again.

    `write` calls a service and may return a notice to show instead of "Saved."; `form`
    defaults to the section's form bound to the POST.
    """
    form = form if form is not None else _section_form(section, request.POST)
    notice = ""
    if form.is_valid():
        try:
            notice = write(form.cleaned_data) or "Saved."
        except ValidationError as exc:
            _add_service_errors(form, exc)
    saved = not form.errors
    if not request.htmx:
        if saved:
            messages.success(request, notice)
            return HttpResponseRedirect(_section_url(client, section))
        context = _profile_context(client, signed_in_staff(request), {section: form})
        return _render_in_store_time(request, client, "clients/profile.html", context, 400)
    context = _profile_context(client, signed_in_staff(request), {} if saved else {section: form})
    context["notice"] = notice if saved else ""
    return _render_in_store_time(request, client, f"clients/sections/{section}.html", context)


def _act_on_item(
    request: HtmxHttpRequest,
    client: Client,
    *,
    items: Manager[_M],
    pk: int,
    act: Callable[[_M], object],
    section: str,
    notice: str = "Removed.",
) -> HttpResponse:
    """Run a one-button action on one of the client's items; any other item is a 404."""
    target = get_object_or_404(items, pk=pk)

    def write(data: dict[str, Any]) -> str:
        act(target)
        return notice

    return _save_section(request, client, section, write, form=Form({}))


SectionWrite = Callable[[Client, dict[str, Any], User], str | None]
SectionView = Callable[[HtmxHttpRequest, int], HttpResponse]
ItemView = Callable[[HtmxHttpRequest, int, int], HttpResponse]


def _section_edit(section: str) -> Callable[[SectionWrite], SectionView]:
    """Turn a write of one profile section into its quick-edit view (POST, signed in).

    The write gets the client, the section form's cleaned data and the member of staff, calls
    a service, and may return a notice to show instead of "Saved.".
    """

    def decorate(write: SectionWrite) -> SectionView:
        @login_required
        @require_POST
        @wraps(write)
        def view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
            client = _get_client(request, pk)
            staff = signed_in_staff(request)
            return _save_section(request, client, section, lambda data: write(client, data, staff))

        return view

    return decorate


def _item_action(
    *, items: str, act: Callable[[Any], object], section: str, doc: str, notice: str = "Removed."
) -> ItemView:
    """Make the one-button view that acts on one of the client's items (a size, a date…)."""

    @login_required
    @require_POST
    def view(request: HtmxHttpRequest, pk: int, item: int) -> HttpResponse:
        client = _get_client(request, pk)
        related = getattr(client, items)
        return _act_on_item(
            request, client, items=related, pk=item, act=act, section=section, notice=notice
        )

    view.__doc__ = doc
    return view


@_section_edit("contact")
def edit_contact(client: Client, data: dict[str, Any], staff: User) -> None:
    """Change the primary email, phone and address."""
    services.update_contact(
        client, email=data["email"], phone=data["phone"], address=data["address"]
    )


@_section_edit("consent")
def record_consent(client: Client, data: dict[str, Any], staff: User) -> str | None:
    """Record a consent decision for one channel."""
    consent = services.record_consent(
        client, channel=data["channel"], granted=data["granted"], source=data["source"], by=staff
    )
    if consent is None:
        return "No change: that decision was already in force."
    return None


@_section_edit("tags")
def edit_tags(client: Client, data: dict[str, Any], staff: User) -> None:
    """Replace the client's tags."""
    services.set_tags(client, data["tags"])


@_section_edit("sizes")
def set_size(client: Client, data: dict[str, Any], staff: User) -> None:
    """Record the size worn in a category."""
    services.set_size(client, category=data["category"], size=data["size"])


@_section_edit("preferences")
def add_preference(client: Client, data: dict[str, Any], staff: User) -> None:
    """Record a like or dislike."""
    services.add_preference(
        client,
        dimension=data["dimension"],
        value=data["value"],
        likes=data["likes"],
        source=data["source"],
    )


@_section_edit("dates")
def add_date(client: Client, data: dict[str, Any], staff: User) -> None:
    """Remember an important date."""
    fields = ("kind", "label", "month", "day", "year")
    services.add_important_date(client, **{name: data[name] for name in fields})


@_section_edit("needs")
def add_need(client: Client, data: dict[str, Any], staff: User) -> None:
    """Write down a stated need."""
    services.add_need(client, text=data["text"], budget=data["budget"])


@_section_edit("timeline")
def add_note(client: Client, data: dict[str, Any], staff: User) -> None:
    """Write a note; it appears on the timeline."""
    services.add_note(client, body=data["body"], author=staff)


remove_size = _item_action(
    items="sizes", act=services.remove_detail, section="sizes", doc="Forget a size."
)
remove_preference = _item_action(
    items="preferences",
    act=services.remove_detail,
    section="preferences",
    doc="Forget a like or dislike.",
)
remove_date = _item_action(
    items="important_dates",
    act=services.remove_detail,
    section="dates",
    doc="Forget an important date.",
)
mark_need_met = _item_action(
    items="needs",
    act=services.mark_need_met,
    section="needs",
    doc="Mark a need as met.",
    notice="Marked as met.",
)


# --- New client and the edit page -------------------------------------------------------------


def _main_fields(data: dict[str, Any]) -> dict[str, Any]:
    names = ("first_name", "last_name", "email", "phone", "address", "language", "time_zone")
    fields = {name: data[name] for name in names}
    fields["status"] = data["status"]
    fields["primary_associate"] = data["primary_associate"]
    return fields


def _record_referral(*, referrer: Client, referred: Client, by: User) -> None:
    """Record who sent a client just added; a refusal is reported on the referred_by field."""
    try:
        record_referral(referrer=referrer, referred=referred, source=ReferralSource.PROFILE, by=by)
    except ValidationError as exc:
        raise ValidationError({"referred_by": exc.messages}) from exc


@login_required
def new_client(request: HttpRequest) -> HttpResponse:
    """Create a client in the user's store; an admin picks the store."""
    user = signed_in_staff(request)
    stores = Store.objects.all() if user.is_admin else None
    if not user.is_admin and user.store is None:
        raise Http404
    form = forms.NewClientForm(request.POST or None, store=user.store, stores=stores)
    if request.method == "POST" and form.is_valid():
        store = form.cleaned_data.get("store") or user.store
        if store is None or not can_access_store(user, store.pk):
            raise Http404
        referrer: Client | None = form.cleaned_data["referred_by"]
        try:
            with transaction.atomic():
                client = services.create_client(store=store, **_main_fields(form.cleaned_data))
                if referrer is not None:
                    _record_referral(referrer=referrer, referred=client, by=user)
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            added = f"{client} added"
            if referrer is not None:
                added += f", sent to us by {referrer.full_name or referrer}"
            messages.success(request, f"{added}.")
            return redirect("clients:profile", pk=client.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "clients/client_form.html", {"form": form, "client": None}, status=status
    )


@login_required
def edit_client(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the main fields of a client."""
    client = _get_client(request, pk)
    initial = {
        "first_name": client.first_name,
        "last_name": client.last_name,
        "email": client.email,
        "phone": client.phone,
        "address": client.address,
        "language": client.language,
        "time_zone": client.time_zone,
        "status": client.status,
        "primary_associate": client.primary_associate_id,
    }
    form = forms.ClientForm(request.POST or None, initial=initial, store=client.store)
    if client.status == ClientStatus.MERGED:
        cast(ChoiceField, form.fields["status"]).choices = ClientStatus.choices
    if request.method == "POST" and form.is_valid():
        try:
            services.update_client(client, **_main_fields(form.cleaned_data))
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("clients:profile", pk=client.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "client": client}
    return render(request, "clients/client_form.html", context, status=status)
