"""The signed events webhook, mounted at /webhooks/events/."""

from django.urls import path

from extramile.moments import webhooks

app_name = "events_webhook"

urlpatterns = [
    path("", webhooks.events_webhook, name="events"),
]
