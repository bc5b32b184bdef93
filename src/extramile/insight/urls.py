"""Pages of insight: the dashboard and a CSV file of each of its tables."""

from django.urls import path

from extramile.insight import views

app_name = "insight"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("<slug:table>.csv", views.export_csv, name="csv"),
]
