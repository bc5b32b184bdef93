"""The client's preference page: no login, reached by the signed link in every message."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from extramile.clients.models import Client
from extramile.outreach.services import (
    InvalidPreferenceLink,
    channel_choices,
    client_for_token,
    opt_out_everywhere,
    set_preferences,
)


def _masked(address: str) -> str:
    """Show enough of an address to recognise it, not enough to harvest it."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}•••@{domain}"
    return f"•••{address[-4:]}" if address else ""


def _invalid(request: HttpRequest, exc: InvalidPreferenceLink) -> HttpResponse:
    return render(request, "outreach/preferences_invalid.html", {"reason": str(exc)}, status=400)


def _page(request: HttpRequest, client: Client, token: str) -> HttpResponse:
    choices = [
        {**choice, "shown_address": _masked(choice["address"])}
        for choice in channel_choices(client)
    ]
    response = render(
        request,
        "outreach/preferences.html",
        {"client": client, "store": client.store, "choices": choices, "token": token},
    )
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    """Show the client's channels and record their choices, or their opt-out of everything."""
    try:
        client = client_for_token(token)
    except InvalidPreferenceLink as exc:
        return _invalid(request, exc)
    if request.method == "GET":
        return _page(request, client, token)
    if "everything" in request.POST:
        opt_out_everywhere(client)
        messages.success(request, "Done: we will not contact you by email, text or phone.")
    else:
        chosen = set(request.POST.getlist("channels"))
        reachable = [c["channel"] for c in channel_choices(client) if c["address"]]
        set_preferences(client, wanted={channel: channel in chosen for channel in reachable})
        messages.success(request, "Saved. Your choices apply from now on.")
    return redirect("outreach:preferences", token=token)


# Mail providers post the one-click unsubscribe (RFC 8058) without a cookie or CSRF token; the
# signed token in the address is what authorises it.
@csrf_exempt
@never_cache
@require_POST
def one_click_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Withdraw email consent at once, as the List-Unsubscribe-Post header promises."""
    try:
        client = client_for_token(token)
    except InvalidPreferenceLink as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    set_preferences(client, wanted={"email": False})
    return HttpResponse("You are unsubscribed from email.", content_type="text/plain")
