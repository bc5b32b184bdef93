"""Client book pages."""

from django.urls import path

from extramile.clients import views

app_name = "clients"
urlpatterns = [
    path("", views.client_book, name="book"),
]
