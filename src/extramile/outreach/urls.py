"""Public pages of outreach: the client's own preference page, reached by a signed link."""

from django.urls import path

from extramile.outreach import views

app_name = "outreach"
urlpatterns = [
    path("<str:token>/", views.preferences, name="preferences"),
    path("<str:token>/unsubscribe/", views.one_click_unsubscribe, name="unsubscribe"),
]
