"""Client book pages: the book, the profile with its quick edits, new and edit."""

from django.urls import path

from extramile.clients import views

app_name = "clients"
urlpatterns = [
    path("", views.client_book, name="book"),
    path("new/", views.new_client, name="new"),
    path("<int:pk>/", views.client_profile, name="profile"),
    path("<int:pk>/edit/", views.edit_client, name="edit"),
    path("<int:pk>/contact/", views.edit_contact, name="edit_contact"),
    path("<int:pk>/consent/", views.record_consent, name="record_consent"),
    path("<int:pk>/tags/", views.edit_tags, name="edit_tags"),
    path("<int:pk>/sizes/", views.set_size, name="set_size"),
    path("<int:pk>/sizes/<int:item>/remove/", views.remove_size, name="remove_size"),
    path("<int:pk>/preferences/", views.add_preference, name="add_preference"),
    path(
        "<int:pk>/preferences/<int:item>/remove/",
        views.remove_preference,
        name="remove_preference",
    ),
    path("<int:pk>/dates/", views.add_date, name="add_date"),
    path("<int:pk>/dates/<int:item>/remove/", views.remove_date, name="remove_date"),
    path("<int:pk>/needs/", views.add_need, name="add_need"),
    path("<int:pk>/needs/<int:item>/met/", views.mark_need_met, name="mark_need_met"),
    path("<int:pk>/notes/", views.add_note, name="add_note"),
]
