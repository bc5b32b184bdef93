"""The Staff pages for managers: the team, deactivating with a handover, absences."""

from django.urls import path

from extramile.accounts import views

app_name = "staff"
urlpatterns = [
    path("", views.staff_list, name="list"),
    path("<str:username>/deactivate/", views.deactivate, name="deactivate"),
    path("<str:username>/absence/", views.absence, name="absence"),
]
