"""Pages of loyalty: the weekly plan, a client's referral, the public survey page."""

from django.urls import path

from extramile.loyalty import views

app_name = "loyalty"
urlpatterns = [
    path("plan/", views.plan, name="plan"),
    path("plan/build/", views.plan_build, name="plan_build"),
    path("plan/<int:pk>/done/", views.plan_done, name="plan_done"),
    path("plan/<int:pk>/outcome/", views.plan_outcome, name="plan_outcome"),
    path("referrals/clients/<int:pk>/", views.record_referral, name="record_referral"),
    path("survey/<str:token>/", views.survey, name="survey"),
]
