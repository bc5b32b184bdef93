"""The arrivals page: what came in lately and which clients it is going to."""

from django.urls import path

from extramile.moments import arrivals_view

app_name = "arrivals"
urlpatterns = [
    path("", arrivals_view.arrivals, name="arrivals"),
]
