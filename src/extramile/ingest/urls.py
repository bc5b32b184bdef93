"""Inbound webhooks."""

from django.urls import path

from extramile.ingest import views

app_name = "webhooks"

urlpatterns = [
    path("shopify/", views.shopify_webhook, name="shopify"),
]
