"""Client book pages: thin views that call the services."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from extramile.accounts.access import scope_to_user
from extramile.clients.models import Client


@login_required
def client_book(request: HttpRequest) -> HttpResponse:
    """List the clients this member of staff may see."""
    clients = scope_to_user(Client.objects.current(), request.user)[:50]
    return render(request, "clients/book.html", {"clients": clients})
