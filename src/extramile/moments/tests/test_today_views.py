"""Today, the team board and the action page, through the web as each role sees them.

The pages read the real clock, so these tests put the store in a time zone where it is midday
right now (`midday_zone`): "earlier today" and "later today" then always exist, whatever the hour
the tests run at, and nothing falls in the clients' quiet hours.
"""

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from extramile.accounts.models import Absence, Role, User
from extramile.catalog.models import Photo
from extramile.clients import services as client_services
from extramile.clients.models import Client
from extramile.moments import lifecycle
from extramile.moments.models import Action, ActionKey, ActionProduct, ActionState
from extramile.moments.today import readable_evidence, todays_actions
from extramile.outreach.models import AuditEntry, Message, MessageStatus
from tests.factories import (
    ActionFactory,
    ClientFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    UserFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


def midday_zone() -> str:
    """An IANA zone in which the local hour is 12 at this moment."""
    offset = 12 - timezone.now().astimezone(dt.UTC).hour  # from -11 to +12 hours
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-3 is UTC+3


def local(zone: ZoneInfo, hour: int, minute: int = 0, *, days: int = 0) -> dt.datetime:
    day = timezone.now().astimezone(zone).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


@pytest.fixture
def zone(store_a, store_b) -> ZoneInfo:
    name = midday_zone()
    for store in (store_a, store_b):
        store.time_zone = name
        store.save()
    return ZoneInfo(name)


def client_of(store, first: str, last: str = "Client", zone: ZoneInfo | None = None, **extra):
    return ClientFactory(
        store=store,
        first_name=first,
        last_name=last,
        time_zone=zone.key if zone else "America/New_York",
        **extra,
    )


def action_for(associate: User, first: str, zone: ZoneInfo, **fields) -> Action:
    fields.setdefault("due_at", local(zone, 10))
    client = fields.pop("client", None) or client_of(associate.store, first, zone=zone)
    return ActionFactory(store=associate.store, associate=associate, client=client, **fields)


def rows(actions: list[Action]) -> list[tuple[str, str]]:
    return [(action.client.full_name, action.get_kind_display()) for action in actions]


def snapshot(action: Action) -> tuple:
    action.refresh_from_db()
    return (action.state, action.subject, action.draft, action.snoozed_until, action.outcome)


def consent(client: Client, *channels: str) -> None:
    for channel in channels:
        client_services.record_consent(client, channel=channel, granted=True, source="form")


# --- Today ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_today_lists_own_open_actions_due_now_by_priority_then_later_today(
    web_as, associate_a, zone
):
    # given
    action_for(associate_a, "Ada", zone, priority=50, due_at=local(zone, 8))
    action_for(
        associate_a,
        "Bo",
        zone,
        priority=80,
        due_at=local(zone, 11),
        kind="order_check_in",
        purpose="service",
        channel="phone",
    )
    action_for(
        associate_a,
        "Cy",
        zone,
        priority=10,
        due_at=local(zone, 17, days=-1),
        kind="important_date",
    )
    action_for(associate_a, "Di", zone, priority=90, due_at=local(zone, 18), channel="sms")
    # when
    response = web_as(associate_a).get(reverse("moments:today"))
    # then
    assert response.status_code == 200
    day = response.context["day"]
    assert rows(day.now) == [
        ("Bo Client", "Online order check-in"),
        ("Ada Client", "New arrival for them"),
        ("Cy Client", "Important date"),
    ]
    assert rows(day.later) == [("Di Client", "New arrival for them")]
    html = response.content.decode()
    assert "3 to do now · 1 later today" in html
    assert ">08:00</time>" in html  # due times in the store's zone
    assert ">yesterday 17:00</time>" in html
    assert ">18:00</time>" in html
    assert "A new arrival fits Ada." in html


@pytest.mark.django_db
def test_today_never_shows_held_out_suppressed_closed_future_or_other_peoples_actions(
    web_as, associate_a, associate_b, store_a, zone
):
    # given
    walter = UserFactory(username="walter", role=Role.ASSOCIATE, store=store_a)
    action_for(associate_a, "Shown", zone)
    hidden = {
        "Heldout": {"state": ActionState.HELD_OUT},
        "Suppressed": {"state": ActionState.SUPPRESSED},
        "Done": {"state": ActionState.DONE},
        "Skipped": {"state": ActionState.SKIPPED},
        "Expired": {"state": ActionState.EXPIRED},
        "Sleeping": {"state": ActionState.SNOOZED, "snoozed_until": local(zone, 15)},
        "Missed": {"expires_at": local(zone, 11)},
        "Tomorrow": {"due_at": local(zone, 9, days=1)},
    }
    for first, fields in hidden.items():
        action_for(associate_a, first, zone, **fields)
    action_for(walter, "Colleagues", zone)
    action_for(associate_b, "Otherstore", zone)
    # when
    response = web_as(associate_a).get(reverse("moments:today"))
    # then
    day = response.context["day"]
    assert (rows(day.now), rows(day.later)) == ([("Shown Client", "New arrival for them")], [])
    html = response.content.decode()
    for first in [*hidden, "Colleagues", "Otherstore"]:
        assert f"{first} Client" not in html


@pytest.mark.django_db
def test_day_list_counts_woken_snoozes_and_what_was_done_today(store_a, associate_a):
    # given: 11:00 in New York
    now = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
    ny = ZoneInfo("America/New_York")

    def make(first: str, **fields) -> Action:
        client = client_of(store_a, first)
        return ActionFactory(store=store_a, associate=associate_a, client=client, **fields)

    make(
        "Woken",
        state=ActionState.SNOOZED,
        snoozed_until=now,
        due_at=now - dt.timedelta(days=1),
        priority=5,
    )
    make("Open", due_at=now, priority=40)
    make("Evening", due_at=dt.datetime(2026, 3, 10, 23, 59, tzinfo=ny), priority=99)
    make("Midnight", due_at=dt.datetime(2026, 3, 11, 0, 0, tzinfo=ny), priority=99)
    make(
        "Donetoday", state=ActionState.DONE, completed_at=dt.datetime(2026, 3, 10, 8, 0, tzinfo=ny)
    )
    make(
        "Doneyesterday",
        state=ActionState.DONE,
        completed_at=dt.datetime(2026, 3, 9, 23, 0, tzinfo=ny),
    )
    make("Skippedtoday", state=ActionState.SKIPPED, completed_at=now)
    # when
    day = todays_actions(associate_a, now=now)
    # then
    assert [a.client.first_name for a in day.now] == ["Open", "Woken"]
    assert [a.client.first_name for a in day.later] == ["Evening"]
    assert day.done_today == 1


@pytest.mark.django_db
def test_empty_today_is_encouraging_and_counts_what_was_done(web_as, associate_a, zone):
    # given
    done = action_for(associate_a, "Ada", zone)
    lifecycle.complete_action(done, by=associate_a, outcome="Called.")
    # when
    html = web_as(associate_a).get(reverse("moments:today")).content.decode()
    # then
    assert "All done — 1 client looked after today." in html
    assert "Nobody is waiting on you." in html
    assert 'id="now"' not in html


@pytest.mark.django_db
def test_reason_is_one_line_on_today_and_whole_on_the_action_page(web_as, associate_a, zone):
    # given
    reason = "Maya bought a suit in each of the last three Octobers. " * 5
    action = action_for(associate_a, "Maya", zone, reason=reason.strip())
    web = web_as(associate_a)
    # when
    today_html = web.get(reverse("moments:today")).content.decode()
    page_html = web.get(reverse("moments:action", args=[action.pk])).content.decode()
    # then
    shown = re.search(r'<span class="reason" title="[^"]*">([^<]*)</span>', today_html)
    assert shown is not None
    assert len(shown.group(1)) == 160
    assert shown.group(1).endswith("…")
    assert f'<p class="reason-full">{reason.strip()}</p>' in page_html


@pytest.mark.django_db
def test_root_and_login_lead_to_today_with_today_first_in_the_menu(web_as, associate_a):
    # when
    web = web_as(associate_a)
    root = web.get("/")
    html = web.get(reverse("moments:today")).content.decode()
    # then
    assert (root.status_code, root.url) == (302, "/today/")
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S).group(1)
    assert re.findall(r">(\w+)</a>", nav)[:2] == ["Today", "Clients"]


@pytest.mark.django_db
def test_today_needs_a_login():
    response = HttpClient().get(reverse("moments:today"))
    assert (response.status_code, response.url) == (302, "/login/?next=/today/")


# --- Team board -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_manager_sees_the_stores_actions_grouped_by_associate(
    web_as, store_a, associate_a, associate_b, manager_a, zone
):
    # given
    for user, first in ((associate_a, "Ana"), (manager_a, "Mia")):
        user.first_name, user.last_name = first, "Staff"
        user.save()
    walter = UserFactory(username="walter", first_name="Walter", last_name="Staff", store=store_a)
    action_for(associate_a, "Ada", zone, priority=10)
    action_for(associate_a, "Bo", zone, priority=20, due_at=local(zone, 18))
    action_for(walter, "Cy", zone, priority=30)
    done = action_for(walter, "Di", zone)
    lifecycle.complete_action(done, by=walter, outcome="Sent.")
    action_for(associate_a, "Hidden", zone, state=ActionState.HELD_OUT)
    ActionFactory(
        store=store_a,
        associate=None,
        client=client_of(store_a, "Nobodys", zone=zone),
        due_at=local(zone, 9),
    )
    action_for(associate_b, "Elsewhere", zone)
    # when
    response = web_as(manager_a).get(reverse("moments:team"))
    # then
    assert response.status_code == 200
    board = [
        (
            group.associate.display_name if group.associate else None,
            [a.client.first_name for a in group.day.now],
            [a.client.first_name for a in group.day.later],
            group.day.done_today,
        )
        for group in response.context["groups"]
    ]
    assert board == [
        ("Ana Staff", ["Ada"], ["Bo"], 0),
        ("Mia Staff", [], [], 0),
        ("Walter Staff", ["Cy"], [], 1),
        (None, ["Nobodys"], [], 0),
    ]
    html = response.content.decode()
    assert "Hidden Client" not in html
    assert "Elsewhere Client" not in html


@pytest.mark.django_db
def test_the_team_board_says_who_is_away_and_who_covers(web_as, store_a, associate_a, manager_a):
    # given Walter away from yesterday to Thursday in a week, Ana covering; Mia away next month
    associate_a.first_name, associate_a.last_name = "Ana", "Staff"
    associate_a.save()
    walter = UserFactory(username="walter", first_name="Walter", last_name="Staff", store=store_a)
    today = timezone.localdate()
    Absence.objects.create(
        user=walter,
        starts_on=today - dt.timedelta(days=1),
        ends_on=today + dt.timedelta(days=7),
        backup=associate_a,
    )
    Absence.objects.create(
        user=associate_a,
        starts_on=today + dt.timedelta(days=30),
        ends_on=today + dt.timedelta(days=35),
        backup=walter,
    )
    # when
    response = web_as(manager_a).get(reverse("moments:team"))
    # then only the absence that covers today is told, with its last day and the backup
    away = {g.associate.username: g.away for g in response.context["groups"] if g.associate}
    assert away["walter"] is not None
    assert away["walter"].backup == associate_a
    assert away[associate_a.username] is None
    last_day = today + dt.timedelta(days=7)
    assert (
        f"until {last_day:%a} {last_day.day} {last_day:%b}; Ana Staff takes their clients'"
        in response.content.decode()
    )


@pytest.mark.django_db
def test_admin_chooses_the_store_on_the_team_board(
    web_as, admin_user, associate_a, associate_b, zone
):
    # given
    action_for(associate_a, "Ada", zone)
    action_for(associate_b, "Ben", zone)
    # when
    response = web_as(admin_user).get(reverse("moments:team"), {"store": associate_b.store_id})
    # then
    assert response.context["store"] == associate_b.store
    names = [a.client.first_name for g in response.context["groups"] for a in g.day.now]
    assert names == ["Ben"]
    assert (
        f'<option value="{associate_b.store_id}" selected>Harbour</option>'
        in response.content.decode()
    )


@pytest.mark.django_db
def test_associates_may_not_open_the_team_board(web_as, associate_a):
    response = web_as(associate_a).get(reverse("moments:team"))
    assert response.status_code == 403


@pytest.mark.django_db
def test_team_link_only_for_managers(web_as, associate_a, manager_a):
    associate_html = web_as(associate_a).get(reverse("moments:today")).content.decode()
    manager_html = web_as(manager_a).get(reverse("moments:today")).content.decode()
    assert reverse("moments:team") not in associate_html
    assert reverse("moments:team") in manager_html


# --- The action page --------------------------------------------------------------------------


@pytest.fixture
def full_action(store_a, associate_a, zone) -> Action:
    """Maya, with her sizes, likes, needs and purchases, and an arrival to show her."""
    maya = client_of(
        store_a, "Maya", "Okafor", zone=zone, primary_associate=associate_a, phone="+12125550123"
    )
    client_services.set_size(maya, category="Suits", size="40R")
    client_services.add_preference(
        maya, dimension="colour", value="navy", likes=True, source="stated"
    )
    client_services.add_preference(
        maya, dimension="brand", value="Loud Co", likes=False, source="stated"
    )
    client_services.add_need(maya, text="A suit for a June wedding", budget=Decimal("600"))
    met = client_services.add_need(maya, text="Black belt")
    client_services.mark_need_met(met)
    for days, title in (
        (400, "Grey flannel suit"),
        (30, "Navy tie"),
        (10, "White shirt"),
        (5, "Socks"),
    ):
        order = OrderFactory(
            store=store_a, client=maya, placed_at=timezone.now() - dt.timedelta(days=days)
        )
        OrderLineFactory(order=order, title=title, variant__product__title=title)
    suit = ProductFactory(title="Navy wool suit", price=Decimal("495.00"))
    Photo.objects.create(
        product=suit, source_url="https://img.example/navy-suit.jpg", alt="Navy suit"
    )
    square = ProductFactory(title="Silk pocket square", price=Decimal("25.00"))
    full_reason = "Maya bought a suit in each of the last three Octobers; the autumn suits arrived."
    action = ActionFactory(
        store=store_a,
        associate=associate_a,
        client=maya,
        reason=full_reason,
        evidence={
            "orders_in_season": [2023, 2024, 2025],
            "arrived_on": "2026-03-02",
            "in_stock": True,
        },
        reasons=[
            {
                "kind": "new_arrival_match",
                "reason": full_reason,
                "evidence": {},
            },
            {
                "kind": "important_date",
                "reason": "Her birthday is on Friday.",
                "evidence": {"date": "2026-03-13"},
            },
        ],
        subject="The navy suit is in",
        draft="Hi Maya, the navy suit you asked about is in, in 40R.",
        surprise=square,
        surprise_note="A pocket square in her navy, with our compliments.",
        due_at=local(zone, 10),
        expires_at=local(zone, 10, days=3),
    )
    ActionProduct.objects.create(action=action, product=suit, position=0, note="In stock in 40R")
    return action


@pytest.mark.django_db
def test_action_page_shows_client_why_products_surprise_and_draft(web_as, associate_a, full_action):
    # given
    consent(full_action.client, "email", "phone")
    # when
    response = web_as(associate_a).get(reverse("moments:action", args=[full_action.pk]))
    # then
    assert response.status_code == 200
    page = response.context["page"]
    assert [f"{s.category} {s.size}" for s in page.sizes] == ["Suits 40R"]
    assert [p.value for p in page.likes] == ["navy"]
    assert [n.text for n in page.open_needs] == ["A suit for a June wedding"]
    assert [o.lines.all()[0].title for o in page.last_orders] == [
        "Socks",
        "White shirt",
        "Navy tie",
    ]
    assert page.evidence == [
        ("Arrived on", "Mon 2 Mar 2026"),
        ("In stock", "yes"),
        ("Orders in season", "2023, 2024, 2025"),
    ]
    assert page.merged_reasons == [
        {
            "kind": "Important date",
            "reason": "Her birthday is on Friday.",
            "evidence": [("Date", "Fri 13 Mar 2026")],
        }
    ]
    assert [(i.product.title, i.photo_url, i.note) for i in page.products] == [
        ("Navy wool suit", "https://img.example/navy-suit.jpg", "In stock in 40R")
    ]
    assert (page.surprise.product.title, page.surprise.note) == (
        "Silk pocket square",
        "A pocket square in her navy, with our compliments.",
    )
    html = response.content.decode()
    assert '<img src="https://img.example/navy-suit.jpg" alt="Navy wool suit"' in html
    assert (
        "<summary>All the data</summary><pre>{\n  &quot;arrived_on&quot;: &quot;2026-03-02&quot;,"
        in html
    )
    assert f'href="/clients/{full_action.client_id}/">Full profile' in html
    assert 'value="The navy suit is in"' in html
    assert ">Hi Maya, the navy suit you asked about is in, in 40R.</textarea>" in html
    assert '<a class="button primary call-button" href="tel:+12125550123">' in html
    assert "colleague" not in html


@pytest.mark.django_db
def test_buttons_for_channels_without_consent_are_disabled_with_the_reason(
    web_as, associate_a, full_action
):
    # given: email yes, SMS refused, phone never asked
    consent(full_action.client, "email")
    client_services.record_consent(full_action.client, channel="sms", granted=False, source="call")
    # when
    html = (
        web_as(associate_a).get(reverse("moments:action", args=[full_action.pk])).content.decode()
    )
    # then
    email = re.search(r'<button type="submit" name="channel" value="email"[^>]*>', html).group(0)
    sms = re.search(r'<button type="submit" name="channel" value="sms"[^>]*>', html).group(0)
    assert "disabled" not in email
    assert "disabled" in sms
    assert '<small class="why-not" id="why-sms">No SMS consent</small>' in html
    assert '<small class="why-not" id="why-phone">No phone consent</small>' in html
    assert "tel:" not in html


@pytest.mark.django_db
def test_colleagues_action_in_the_same_store_is_shown_but_marked(
    web_as, associate_a, store_a, zone
):
    # given
    walter = UserFactory(username="walter", first_name="Walter", last_name="Hale", store=store_a)
    action = action_for(walter, "Edmund", zone)
    # when
    response = web_as(associate_a).get(reverse("moments:action", args=[action.pk]))
    # then
    assert response.status_code == 200
    assert "Walter Hale's action — you can act on it for them." in response.content.decode()


# --- Scoping: another store's action, or a hidden one, is a 404 and nothing changes ----------

POSTS = [
    ("moments:save_draft", {"subject": "Hacked", "body": "Hacked"}),
    ("moments:send", {"channel": "email", "subject": "Hacked", "body": "Hacked"}),
    ("moments:log_call", {"reached": "yes", "outcome": "Hacked"}),
    ("moments:snooze", {"until": "hour"}),
    ("moments:skip", {"reason": "other", "note": "Hacked"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "data"), POSTS)
def test_another_stores_action_is_a_404_and_stays_unchanged(
    web_as, associate_a, associate_b, zone, name, data
):
    # given
    theirs = action_for(associate_b, "Olga", zone, subject="Hi", draft="Hello Olga")
    consent(theirs.client, "email", "phone")
    before = snapshot(theirs)
    web = web_as(associate_a)
    # when
    page = web.get(reverse("moments:action", args=[theirs.pk]))
    plain = web.post(reverse(name, args=[theirs.pk]), data)
    htmx = web.post(reverse(name, args=[theirs.pk]), data, **HTMX)
    # then
    assert (page.status_code, plain.status_code, htmx.status_code) == (404, 404, 404)
    assert snapshot(theirs) == before
    assert (Message.objects.count(), AuditEntry.objects.count(), len(mail.outbox)) == (0, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("state", [ActionState.HELD_OUT, ActionState.SUPPRESSED])
def test_held_out_and_suppressed_actions_are_404_even_for_their_associate(
    web_as, associate_a, manager_a, zone, state
):
    # given
    hidden = action_for(associate_a, "Hidden", zone, state=state, draft="Hello")
    consent(hidden.client, "email", "phone")
    before = snapshot(hidden)
    # when
    statuses = [
        web_as(user).get(reverse("moments:action", args=[hidden.pk])).status_code
        for user in (associate_a, manager_a)
    ] + [
        web_as(associate_a).post(reverse(name, args=[hidden.pk]), data).status_code
        for name, data in POSTS
    ]
    # then
    assert statuses == [404] * 7
    assert snapshot(hidden) == before
    assert (Message.objects.count(), AuditEntry.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_every_form_on_the_action_page_carries_a_csrf_token(web_as, associate_a, full_action):
    # given
    consent(full_action.client, "email", "sms", "phone")
    # when
    html = (
        web_as(associate_a).get(reverse("moments:action", args=[full_action.pk])).content.decode()
    )
    # then
    forms = re.findall(r"<form([^>]*)>(.*?)</form>", html, re.S)
    targets = [re.search(r'action="([^"]*)"', attrs).group(1) for attrs, _ in forms]
    base = f"/today/{full_action.pk}"
    assert targets == [
        "/logout/",
        f"/problems/promises/action/{full_action.pk}/",
        f"{base}/send/",
        f"{base}/call/",
        f"{base}/snooze/",
        f"{base}/skip/",
    ]
    assert all('method="post"' in attrs for attrs, _ in forms)
    posts = [body for _, body in forms]
    assert all("csrfmiddlewaretoken" in body for body in posts)


@pytest.mark.django_db
def test_a_post_without_the_csrf_token_is_refused(associate_a, zone):
    # given
    action = action_for(associate_a, "Ada", zone)
    web = HttpClient(enforce_csrf_checks=True)
    web.force_login(associate_a, backend="django.contrib.auth.backends.ModelBackend")
    # when
    response = web.post(reverse("moments:skip", args=[action.pk]), {"reason": "bad_timing"})
    # then
    assert response.status_code == 403
    assert snapshot(action)[0] == ActionState.OPEN


# --- Draft, snooze, skip, call ----------------------------------------------------------------


@pytest.mark.django_db
def test_draft_edit_without_javascript_saves_and_returns_to_the_action(web_as, associate_a, zone):
    # given
    action = action_for(associate_a, "Ada", zone, subject="Old", draft="Old text")
    # when
    response = web_as(associate_a).post(
        reverse("moments:save_draft", args=[action.pk]),
        {"subject": "The navy suit is in", "body": "Hi Ada,\r\nit came in today."},
    )
    # then
    assert (response.status_code, response.url) == (302, f"/today/{action.pk}/")
    action.refresh_from_db()
    assert (action.subject, action.draft) == ("The navy suit is in", "Hi Ada,\nit came in today.")


@pytest.mark.django_db
def test_draft_edit_with_htmx_returns_the_controls_with_a_notice(web_as, associate_a, zone):
    # given
    action = action_for(associate_a, "Ada", zone, subject="Old", draft="Old text")
    # when
    response = web_as(associate_a).post(
        reverse("moments:save_draft", args=[action.pk]),
        {"subject": "New", "body": "New text"},
        **HTMX,
    )
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<section id="act"')
    assert '<p class="notice" role="status">Draft saved.</p>' in html
    assert ">New text</textarea>" in html
    assert snapshot(action)[1:3] == ("New", "New text")


@pytest.mark.django_db
def test_an_empty_draft_is_refused_and_the_old_one_kept(web_as, associate_a, zone):
    # given
    action = action_for(associate_a, "Ada", zone, subject="Old", draft="Old text")
    # when
    response = web_as(associate_a).post(
        reverse("moments:save_draft", args=[action.pk]), {"subject": "New", "body": "  "}
    )
    # then
    assert response.status_code == 400
    assert "Message: This field is required." in response.content.decode()
    assert snapshot(action)[1:3] == ("Old", "Old text")


@pytest.mark.django_db
def test_snooze_until_tomorrow_goes_back_to_today_and_wakes_at_nine(web_as, associate_a, zone):
    # given
    action = action_for(associate_a, "Ada", zone, expires_at=local(zone, 10, days=5))
    # when
    web = web_as(associate_a)
    response = web.post(reverse("moments:snooze", args=[action.pk]), {"until": "tomorrow"})
    # then
    assert (response.status_code, response.url) == (302, "/today/")
    action.refresh_from_db()
    nine = local(zone, 9, days=1)
    assert (action.state, action.snoozed_until) == (ActionState.SNOOZED, nine)
    entries = list(AuditEntry.objects.values_list("verb", "actor__username", "action_id", "detail"))
    assert entries == [
        ("snoozed", "ana", action.pk, {"until": nine.astimezone(dt.UTC).isoformat()})
    ]
    today = web.get(reverse("moments:today"))
    assert today.context["day"].count == 0
    assert (
        f"Ada Client snoozed until {nine:%a} {nine.day} {nine:%b}, 09:00." in today.content.decode()
    )


@pytest.mark.django_db
def test_snooze_an_hour_with_htmx_shows_it_in_place(web_as, associate_a, zone):
    # given
    action = action_for(associate_a, "Ada", zone)
    before = timezone.now()
    # when
    response = web_as(associate_a).post(
        reverse("moments:snooze", args=[action.pk]), {"until": "hour"}, **HTMX
    )
    # then
    after = timezone.now()
    action.refresh_from_db()
    assert action.state == ActionState.SNOOZED
    assert before + dt.timedelta(hours=1) <= action.snoozed_until <= after + dt.timedelta(hours=1)
    html = response.content.decode()
    assert '<div class="state state-snoozed" role="status">' in html
    assert "Ada Client snoozed until" in html


@pytest.mark.django_db
def test_snooze_choices_past_the_expiry_are_not_offered_and_are_refused(web_as, associate_a, zone):
    # given: the moment passes at 20:00 tonight
    action = action_for(associate_a, "Ada", zone, expires_at=local(zone, 20))
    web = web_as(associate_a)
    # when
    page = web.get(reverse("moments:action", args=[action.pk]))
    refused = web.post(reverse("moments:snooze", args=[action.pk]), {"until": "week"})
    # then
    assert [value for value, _, _ in page.context["page"].snooze_options] == ["hour"]
    assert refused.status_code == 400
    assert "This moment passes before then" in refused.content.decode()
    assert snapshot(action)[0] == ActionState.OPEN


@pytest.mark.django_db
def test_skip_with_a_reason_closes_the_action(web_as, associate_a, zone):
    # given
    action = action_for(associate_a, "Ada", zone)
    # when
    response = web_as(associate_a).post(
        reverse("moments:skip", args=[action.pk]),
        {"reason": "not_relevant", "note": "bought one last week"},
    )
    # then
    assert (response.status_code, response.url) == (302, "/today/")
    action.refresh_from_db()
    assert (action.state, action.state_reason, action.completed_by) == (
        ActionState.SKIPPED,
        "Not right for this client: bought one last week",
        associate_a,
    )
    assert list(AuditEntry.objects.values_list("verb", "detail")) == [
        ("skipped", {"reason": "Not right for this client: bought one last week"})
    ]


@pytest.mark.django_db
def test_skip_for_other_reason_needs_words(web_as, associate_a, zone):
    # given
    action = action_for(associate_a, "Ada", zone)
    # when
    plain = web_as(associate_a).post(reverse("moments:skip", args=[action.pk]), {"reason": "other"})
    htmx = web_as(associate_a).post(
        reverse("moments:skip", args=[action.pk]), {"reason": "other"}, **HTMX
    )
    # then
    assert (plain.status_code, htmx.status_code) == (400, 200)
    assert "A few words: Say why in a few words." in plain.content.decode()
    assert "Say why in a few words." in htmx.content.decode()
    assert '<details class="skip" open>' in htmx.content.decode()
    assert snapshot(action)[0] == ActionState.OPEN
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db
def test_a_call_that_reached_the_client_closes_the_action(web_as, associate_a, zone):
    # given
    action = action_for(
        associate_a,
        "Claire",
        zone,
        kind="cancellation_courtesy",
        purpose="service",
        channel="phone",
    )
    consent(action.client, "phone")
    # when
    response = web_as(associate_a).post(
        reverse("moments:log_call", args=[action.pk]),
        {"reached": "yes", "outcome": "Refund confirmed; she will re-book in May."},
    )
    # then
    assert (response.status_code, response.url) == (302, f"/today/{action.pk}/")
    action.refresh_from_db()
    assert (action.state, action.outcome, action.completed_by) == (
        ActionState.DONE,
        "Refund confirmed; she will re-book in May.",
        associate_a,
    )
    assert list(AuditEntry.objects.values_list("verb", "detail")) == [
        ("called", {"reached": True, "outcome": "Refund confirmed; she will re-book in May."})
    ]
    page = web_as(associate_a).get(reverse("moments:action", args=[action.pk])).content.decode()
    assert '<div class="state state-done" role="status">' in page
    assert "Log call" not in page


@pytest.mark.django_db
def test_a_call_that_did_not_reach_keeps_the_action_open_with_the_attempt(
    web_as, associate_a, zone
):
    # given
    action = action_for(associate_a, "Claire", zone, channel="phone")
    consent(action.client, "phone")
    # when
    response = web_as(associate_a).post(
        reverse("moments:log_call", args=[action.pk]),
        {"reached": "no", "outcome": "left a voicemail"},
    )
    # then
    assert response.status_code == 302
    entry = AuditEntry.objects.get()
    called_at = entry.at.astimezone(zone)
    action.refresh_from_db()
    assert (action.state, action.state_reason, action.completed_at) == (
        ActionState.OPEN,
        f"Called {called_at:%a %d %b %H:%M}, not reached: left a voicemail",
        None,
    )
    assert (entry.verb, entry.detail) == (
        "called",
        {"reached": False, "outcome": "left a voicemail"},
    )
    today = web_as(associate_a).get(reverse("moments:today"))
    assert rows(today.context["day"].now) == [("Claire Client", "New arrival for them")]
    assert "not reached: left a voicemail" in today.content.decode()


@pytest.mark.django_db
def test_a_reached_call_needs_a_word_on_what_was_said(web_as, associate_a, zone):
    # given
    action = action_for(associate_a, "Claire", zone, channel="phone")
    consent(action.client, "phone")
    # when
    response = web_as(associate_a).post(
        reverse("moments:log_call", args=[action.pk]), {"reached": "yes"}
    )
    # then
    assert response.status_code == 400
    assert "What was said: Write a line about what was said." in response.content.decode()
    assert snapshot(action)[0] == ActionState.OPEN


@pytest.mark.django_db
def test_acting_on_a_closed_action_says_so(web_as, associate_a, zone):
    # given
    action = action_for(associate_a, "Ada", zone)
    lifecycle.skip_action(action, by=associate_a, reason="Bad timing")
    # when
    response = web_as(associate_a).post(
        reverse("moments:snooze", args=[action.pk]), {"until": "hour"}
    )
    # then
    assert response.status_code == 400
    assert "This action was skipped." in response.content.decode()
    assert snapshot(action)[0] == ActionState.SKIPPED


@pytest.mark.django_db
def test_a_withdrawn_action_says_why_and_cannot_be_acted_on(web_as, associate_a, zone):
    # given a check-in withdrawn because the order was cancelled
    action = action_for(associate_a, "Ada", zone, kind="order_check_in", purpose="service")
    ActionKey.objects.create(key="order_check_in:77", action=action)
    reason = "Order cancelled: W-77 was cancelled at 11:40 on Monday 23 November."
    lifecycle.withdraw_moment("order_check_in:77", reason=reason, now=timezone.now())
    web = web_as(associate_a)
    # when
    page = web.get(reverse("moments:action", args=[action.pk]))
    snooze = web.post(reverse("moments:snooze", args=[action.pk]), {"until": "hour"})
    # then
    html = page.content.decode()
    assert '<div class="state state-withdrawn" role="status">' in html
    assert reason in html
    assert snooze.status_code == 400
    assert f"This action was withdrawn: {reason}" in snooze.content.decode()
    assert snapshot(action)[0] == ActionState.WITHDRAWN


# --- Sending ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_send_by_email_delivers_the_edited_text_and_confirms(
    web_as, associate_a, full_action, django_capture_on_commit_callbacks
):
    # given
    consent(full_action.client, "email")
    web = web_as(associate_a)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(
            reverse("moments:send", args=[full_action.pk]),
            {
                "channel": "email",
                "subject": "Your navy suit",
                "body": "Hi Maya, I put the navy suit aside for you in 40R.",
            },
        )
    # then
    assert (response.status_code, response.url) == (302, f"/today/{full_action.pk}/")
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([full_action.client.email], "Your navy suit")
    ]
    assert "I put the navy suit aside for you in 40R." in mail.outbox[0].body
    message = Message.objects.get()
    assert (message.channel, message.status, message.body, message.sender) == (
        "email",
        MessageStatus.SENT,
        "Hi Maya, I put the navy suit aside for you in 40R.",
        associate_a,
    )
    full_action.refresh_from_db()
    assert (
        full_action.state,
        full_action.subject,
        full_action.draft,
        full_action.completed_by,
    ) == (
        ActionState.DONE,
        "Your navy suit",
        "Hi Maya, I put the navy suit aside for you in 40R.",
        associate_a,
    )
    assert list(AuditEntry.objects.order_by("at", "id").values_list("verb", flat=True)) == [
        "queued",
        "sent",
    ]
    page = web.get(response.url)
    html = page.content.decode()
    assert f"Sent by email to {full_action.client.email} <span" in html
    assert '<div class="state state-done" role="status">' in html
    assert "I put the navy suit aside for you in 40R." in html
    assert "Send by email" not in html


def two_marketing_contacts_since(action: Action) -> None:
    """Two other marketing contacts with the action's client, made yesterday and the day before."""
    for days in (1, 2):
        ActionFactory(
            store=action.store,
            client=action.client,
            purpose="marketing",
            state=ActionState.DONE,
            completed_at=timezone.now() - dt.timedelta(days=days),
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("channel", "since_made", "refusal"),
    [
        ("sms", None, "Maya has not agreed to be contacted by text message; nothing was sent."),
        (
            "email",
            two_marketing_contacts_since,
            "and the limit is 2 in 30 days; nothing was sent. The action stays open",
        ),
    ],
    ids=["no SMS consent", "past the marketing cap"],
)
def test_send_refused_by_the_rules_is_a_clear_message_and_keeps_the_edits(
    web_as, associate_a, full_action, channel, since_made, refusal
):
    # given: Maya said yes to email only
    consent(full_action.client, "email")
    if since_made is not None:
        since_made(full_action)
    body = "Edited text for the message."
    # when
    response = web_as(associate_a).post(
        reverse("moments:send", args=[full_action.pk]),
        {"channel": channel, "subject": "", "body": body},
    )
    # then
    assert response.status_code == 400
    html = response.content.decode()
    assert refusal in html
    assert f">{body}</textarea>" in html
    full_action.refresh_from_db()
    assert (full_action.state, full_action.draft) == (ActionState.OPEN, body)
    assert Message.objects.count() == 0
    assert mail.outbox == []
    assert list(AuditEntry.objects.values_list("verb", flat=True)) == ["refused"]


def test_evidence_reads_as_sorted_lines_with_times_in_the_stores_zone():
    # given
    evidence = {
        "placed_at": "2026-03-10T15:02:00+00:00",
        "order": {"total": 249.0, "ref": "R1001"},
        "needs": ["live music", "interviews"],
        "fits": False,
        "note": "",
        "alternatives": [],
        "not_a_date": "2026-99-99",
        "score": 0.857142,
        "ordered": [
            {"title": "Heavy tweed suit", "fit": 0.4, "conflicts": ["tweed"], "size": "40R"},
            {"name": "Gift box", "price": "5.00", "detail": {"x": 1}},
            {"sku": "A-1"},
        ],
    }
    # when
    lines = readable_evidence(evidence, zone=ZoneInfo("America/New_York"))
    # then
    assert lines == [
        ("Fits", "no"),
        ("Needs", "live music, interviews"),
        ("Not a date", "2026-99-99"),
        ("Order", "ref: R1001; total: 249"),
        ("Ordered", "Heavy tweed suit (fit: 0.4; size: 40R)\nGift box (price: 5.00)\nsku: A-1"),
        ("Placed at", "Tue 10 Mar 2026, 11:02"),
        ("Score", "0.86"),
    ]
    assert readable_evidence([], zone=ZoneInfo("UTC")) == []
    assert readable_evidence("a plain note", zone=ZoneInfo("UTC")) == [("Evidence", "a plain note")]


def test_evidence_leaves_ids_links_and_model_statistics_to_all_the_data():
    # given the evidence of a surprise and a problem, with database ids and the rule's figures
    evidence = {
        "problem_id": 12,
        "kind": "left_behind",
        "page": "/problems/12/",
        "surprise": {"title": "Shoe care kit", "product_id": 44, "support": 0.01, "lift": 16.2},
        "why": "promoter_to_grow",
        "event": "evt-1",
    }
    # when
    lines = readable_evidence(evidence, zone=ZoneInfo("UTC"))
    # then a person reads the words; the ids and figures stay in the raw data
    assert lines == [
        ("Kind", "left behind"),
        ("Surprise", "Shoe care kit"),
        ("Why", "promoter to grow"),
    ]
