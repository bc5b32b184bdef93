"""Problems pages, and recording and keeping promises."""

from django.urls import path

from extramile.care import views

app_name = "care"
urlpatterns = [
    path("", views.problem_list, name="problems"),
    path("new/", views.report_problem, name="report"),
    path("<int:pk>/", views.problem_detail, name="problem"),
    path("<int:pk>/edit/", views.update_problem, name="update"),
    path("<int:pk>/start/", views.start_problem, name="start"),
    path("<int:pk>/resolve/", views.resolve_problem, name="resolve"),
    path("<int:pk>/promises/", views.promise_on_problem, name="promise_on_problem"),
    path("promises/action/<int:pk>/", views.promise_on_action, name="promise_on_action"),
    path("promises/<int:pk>/kept/", views.keep_promise, name="keep_promise"),
]
