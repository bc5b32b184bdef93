"""Pages of programs: introductions and offers, stories, the calendar page and feed."""

from django.urls import path

from extramile.programs import views

app_name = "programs"
urlpatterns = [
    path("introductions/", views.introductions, name="introductions"),
    path("introductions/<int:pk>/asked/<str:side>/", views.mark_asked, name="mark_asked"),
    path("introductions/<int:pk>/answer/<str:side>/", views.record_answer, name="record_answer"),
    path("introductions/<int:pk>/make/", views.make, name="make"),
    path("introductions/<int:pk>/dismiss/", views.dismiss, name="dismiss"),
    path("introductions/offers/client/<int:client_pk>/", views.add_offer, name="add_offer"),
    path("introductions/offers/<int:pk>/withdraw/", views.withdraw_offer, name="withdraw_offer"),
    path("stories/", views.stories, name="stories"),
    path("stories/<int:pk>/recognise/", views.recognise, name="recognise"),
    path("calendar/", views.calendar_page, name="calendar"),
    path("calendar/new/", views.issue_calendar, name="issue_calendar"),
    path("calendar/off/", views.revoke_calendar, name="revoke_calendar"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
]
