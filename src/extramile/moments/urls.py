"""Today pages: the associate's list, the team board, and one action with its buttons."""

from django.urls import path

from extramile.moments import views

app_name = "moments"
urlpatterns = [
    path("", views.today, name="today"),
    path("team/", views.team, name="team"),
    path("<int:pk>/", views.action_detail, name="action"),
    path("<int:pk>/draft/", views.save_draft, name="save_draft"),
    path("<int:pk>/send/", views.send, name="send"),
    path("<int:pk>/call/", views.log_call, name="log_call"),
    path("<int:pk>/snooze/", views.snooze, name="snooze"),
    path("<int:pk>/skip/", views.skip, name="skip"),
]
