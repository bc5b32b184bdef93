"""The associate's calendar feed, parsed back with the icalendar package."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from extramile.moments.models import ActionState
from extramile.programs import services
from extramile.programs.calendar import next_occurrence
from extramile.programs.models import CalendarFeed
from tests.factories import ActionFactory, ClientFactory, ImportantDateFactory

pytestmark = pytest.mark.django_db


def feed_url(feed: CalendarFeed) -> str:
    return reverse("programs:calendar_feed", args=[services.calendar_token(feed)])


def parse(response) -> icalendar.Calendar:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


@pytest.mark.parametrize(
    ("month", "day", "today", "expected"),
    [
        (6, 20, dt.date(2025, 6, 18), dt.date(2025, 6, 20)),
        (6, 18, dt.date(2025, 6, 18), dt.date(2025, 6, 18)),
        (1, 5, dt.date(2025, 6, 18), dt.date(2026, 1, 5)),
        (2, 29, dt.date(2025, 6, 18), None),
        (2, 29, dt.date(2027, 6, 18), dt.date(2028, 2, 29)),
    ],
)
def test_next_occurrence_is_within_a_year(month, day, today, expected):
    assert next_occurrence(month, day, today=today) == expected


def test_the_feed_holds_the_associates_dates_and_open_actions_and_nobody_elses(
    olivia, ben, sofia, james
):
    # given Olivia (Sofia's) has a birthday and an open action; Ben (James's) a birthday too
    birthday = ImportantDateFactory(client=olivia, kind="birthday", month=3, day=14, year=1980)
    ImportantDateFactory(client=ben, kind="birthday", month=4, day=2)
    due = dt.datetime(2030, 1, 2, 15, 0, tzinfo=dt.UTC)
    action = ActionFactory(
        client=olivia, store=olivia.store, associate=sofia, due_at=due, reason="Call Olivia now."
    )
    ActionFactory(client=olivia, store=olivia.store, associate=sofia, state=ActionState.DONE)
    ActionFactory(client=ben, store=ben.store, associate=james)
    feed = services.issue_calendar_feed(sofia)
    # when
    calendar = parse(HttpClient().get(feed_url(feed)))
    # then
    assert calendar.name == "VCALENDAR"
    assert str(calendar["PRODID"]) == "-//extramile//Associate calendar//EN"
    assert str(calendar["VERSION"]) == "2.0"
    events = list(calendar.walk("VEVENT"))
    assert sorted(str(e["UID"]) for e in events) == [
        f"action-{action.pk}@extramile",
        f"important-date-{birthday.pk}@extramile",
    ]
    for event in events:
        assert "DTSTAMP" in event
        assert "DTSTART" in event
    by_uid = {str(e["UID"]): e for e in events}
    date_event = by_uid[f"important-date-{birthday.pk}@extramile"]
    start = date_event.decoded("DTSTART")
    assert isinstance(start, dt.date)
    assert not isinstance(start, dt.datetime)
    assert (start.month, start.day) == (3, 14)
    assert date_event["RRULE"]["FREQ"] == ["YEARLY"]
    assert str(date_event["SUMMARY"]).startswith("Olivia Grant — Birthday (")
    action_event = by_uid[f"action-{action.pk}@extramile"]
    assert action_event.decoded("DTSTART") == due
    assert "Call Olivia now." in str(action_event["DESCRIPTION"])
    assert str(action_event["URL"]).endswith(f"/today/{action.pk}/")
    assert "Ben" not in response_text(feed)


def response_text(feed: CalendarFeed) -> str:
    return HttpClient().get(feed_url(feed)).content.decode()


def test_a_revoked_or_regenerated_or_forged_token_is_a_404(sofia):
    # given
    first = services.issue_calendar_feed(sofia)
    old_url = feed_url(first)
    assert HttpClient().get(old_url).status_code == 200
    # when a new link is made
    second = services.issue_calendar_feed(sofia)
    # then the old one stops working
    assert HttpClient().get(old_url).status_code == 404
    assert HttpClient().get(feed_url(second)).status_code == 200
    # a token with the nonce but a made-up signature opens nothing
    forged = f"{sofia.pk}.{second.nonce}.{'0' * 32}"
    assert HttpClient().get(f"/calendar/{forged}.ics").status_code == 404
    # when revoked
    services.revoke_calendar_feed(sofia)
    assert HttpClient().get(feed_url(second)).status_code == 404


def test_a_deactivated_users_feed_is_a_404(sofia):
    feed = services.issue_calendar_feed(sofia)
    sofia.is_active = False
    sofia.save()
    assert HttpClient().get(feed_url(feed)).status_code == 404


def test_the_calendar_page_shows_the_link_and_makes_and_turns_it_off(web_as, sofia):
    # given
    web = web_as(sofia)
    # when
    page = web.get("/calendar/")
    assert "Make my calendar link" in page.content.decode()
    web.post("/calendar/new/")
    page = web.get("/calendar/").content.decode()
    # then
    feed = CalendarFeed.objects.get(user=sofia)
    assert f"http://testserver{feed_url(feed)}" in page
    web.post("/calendar/off/")
    assert "it was turned off" in web.get("/calendar/").content.decode()
    assert HttpClient().get(feed_url(feed)).status_code == 404


def test_the_calendar_page_needs_a_login_and_its_forms_a_csrf_token(sofia):
    assert HttpClient().get("/calendar/").status_code == 302
    web = HttpClient(enforce_csrf_checks=True)
    web.force_login(sofia, backend="django.contrib.auth.backends.ModelBackend")
    assert web.post("/calendar/new/").status_code == 403
    assert not CalendarFeed.objects.exists()


def test_clients_of_other_associates_never_show(olivia, ben, sofia, james):
    # given a date for Ben, James's client, in Sofia's store
    ImportantDateFactory(client=ben, kind="anniversary", month=9, day=9)
    ClientFactory(store=olivia.store, primary_associate=None)
    feed = services.issue_calendar_feed(sofia)
    # when
    calendar = parse(HttpClient().get(feed_url(feed)))
    # then
    assert list(calendar.walk("VEVENT")) == []
