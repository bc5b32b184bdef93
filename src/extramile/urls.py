"""The URL map: the web app, the REST API, webhooks and the admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from extramile.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="clients:book", permanent=False)),
    path("", include("extramile.accounts.urls")),
    path("clients/", include("extramile.clients.urls")),
    path("webhooks/", include("extramile.ingest.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
