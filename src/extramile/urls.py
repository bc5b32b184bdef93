"""The URL map: the web app, the REST API, webhooks and the admin."""

import re
from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from django.views.static import serve as static_serve

from extramile.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="moments:today", permanent=False)),
    path("", include("extramile.accounts.urls")),
    path("today/", include("extramile.moments.urls")),
    path("arrivals/", include("extramile.moments.arrivals_urls")),
    path("staff/", include("extramile.accounts.staff_urls")),
    path("clients/", include("extramile.clients.urls")),
    path("problems/", include("extramile.care.urls")),
    path("webhooks/", include("extramile.ingest.urls")),
    path("webhooks/events/", include("extramile.moments.webhook_urls")),
    path("p/", include("extramile.outreach.urls")),
    path("", include("extramile.programs.urls")),
    path("", include("extramile.loyalty.urls")),
    path("insights/", include("extramile.insight.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]

# Product photos are public catalog pictures, served in every mode (not only with DEBUG) so
# that `extramile serve` shows them; only MEDIA_ROOT/products/ is exposed, and
# django.views.static.serve refuses any path that would leave that folder.
urlpatterns += [
    re_path(
        rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}products/(?P<path>.+)$",
        static_serve,
        {"document_root": Path(settings.MEDIA_ROOT) / "products"},
    ),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
