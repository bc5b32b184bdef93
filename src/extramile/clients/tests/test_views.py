import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from extramile.accounts.models import Role
from extramile.clients import services
from extramile.clients.models import (
    Client,
    ClientStatus,
    Consent,
    ImportantDate,
    Need,
    Note,
    Preference,
    Size,
    Tag,
)
from extramile.orders.models import OrderChannel, Refund
from tests.factories import ClientFactory, OrderFactory, OrderLineFactory, UserFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 0, tzinfo=dt.UTC)


def book_names(response) -> list[str]:
    return [client.full_name for client in response.context["page"].object_list]


# --- Scoping: another store's client is a 404 everywhere, and nothing is written ---------------


@pytest.mark.django_db
def test_associate_gets_404_for_profile_of_other_store(web_as, associate_a, store_b):
    # given
    other = ClientFactory(store=store_b)
    # when
    response = web_as(associate_a).get(reverse("clients:profile", args=[other.pk]))
    # then
    assert response.status_code == 404


@pytest.mark.django_db
def test_associate_gets_404_for_edit_page_of_other_store(web_as, associate_a, store_b):
    # given
    other = ClientFactory(store=store_b, first_name="Olga", email="olga@example.com")
    web = web_as(associate_a)
    url = reverse("clients:edit", args=[other.pk])
    # when
    get = web.get(url)
    post = web.post(url, {"first_name": "Hacked", "language": "en", "status": "active"})
    # then
    assert (get.status_code, post.status_code) == (404, 404)
    other.refresh_from_db()
    assert other.first_name == "Olga"


WRITES = [
    ("clients:add_note", {"body": "sneaky"}, Note),
    ("clients:set_size", {"category": "Suits", "size": "40R"}, Size),
    (
        "clients:add_preference",
        {"likes": "1", "dimension": "colour", "value": "navy", "source": "stated"},
        Preference,
    ),
    ("clients:record_consent", {"channel": "email", "granted": "1", "source": "form"}, Consent),
    ("clients:add_date", {"kind": "birthday", "month": "3", "day": "14"}, ImportantDate),
    ("clients:add_need", {"text": "a recorder", "budget": "300"}, Need),
    ("clients:edit_tags", {"tags": "vip"}, Tag),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "data", "model"), WRITES)
def test_associate_cannot_write_to_client_of_other_store(
    web_as, associate_a, store_b, name, data, model
):
    # given
    other = ClientFactory(store=store_b)
    before = model.objects.count()
    # when
    plain = web_as(associate_a).post(reverse(name, args=[other.pk]), data)
    htmx = web_as(associate_a).post(reverse(name, args=[other.pk]), data, **HTMX)
    # then
    assert (plain.status_code, htmx.status_code) == (404, 404)
    assert model.objects.count() == before


@pytest.mark.django_db
def test_associate_cannot_change_contact_or_remove_items_of_other_store(
    web_as, associate_a, store_b
):
    # given
    other = ClientFactory(store=store_b, email="olga@example.com")
    size = services.set_size(other, category="Shoes", size="9")
    need = services.add_need(other, text="boots")
    web = web_as(associate_a)
    # when
    responses = [
        web.post(
            reverse("clients:edit_contact", args=[other.pk]),
            {"email": "me@evil.example", "phone": "", "address": ""},
        ),
        web.post(reverse("clients:remove_size", args=[other.pk, size.pk])),
        web.post(reverse("clients:mark_need_met", args=[other.pk, need.pk])),
    ]
    # then
    assert [r.status_code for r in responses] == [404, 404, 404]
    other.refresh_from_db()
    need.refresh_from_db()
    assert other.email == "olga@example.com"
    assert Size.objects.filter(pk=size.pk).exists()
    assert need.met_at is None


@pytest.mark.django_db
def test_item_of_another_client_cannot_be_removed_through_own_client(
    web_as, associate_a, store_a, store_b
):
    # given
    mine = ClientFactory(store=store_a)
    other = ClientFactory(store=store_b)
    size = services.set_size(other, category="Shoes", size="9")
    # when
    response = web_as(associate_a).post(reverse("clients:remove_size", args=[mine.pk, size.pk]))
    # then
    assert response.status_code == 404
    assert Size.objects.filter(pk=size.pk).exists()


@pytest.mark.django_db
def test_search_does_not_find_client_of_other_store(web_as, associate_a, store_a, store_b):
    # given
    ClientFactory(store=store_a, first_name="Anna", last_name="Smith")
    ClientFactory(store=store_b, first_name="Bella", last_name="Smith")
    # when
    response = web_as(associate_a).get(reverse("clients:book"), {"q": "smith"})
    # then
    assert book_names(response) == ["Anna Smith"]
    assert b"Bella" not in response.content


@pytest.mark.django_db
def test_manager_sees_own_store_and_admin_sees_both(
    web_as, manager_a, admin_user, store_a, store_b
):
    # given
    ClientFactory(store=store_a, first_name="Anna", last_name="Aalto")
    other = ClientFactory(store=store_b, first_name="Bella", last_name="Berg")
    # when
    manager_book = web_as(manager_a).get(reverse("clients:book"))
    admin_book = web_as(admin_user).get(reverse("clients:book"))
    manager_profile = web_as(manager_a).get(reverse("clients:profile", args=[other.pk]))
    admin_profile = web_as(admin_user).get(reverse("clients:profile", args=[other.pk]))
    # then
    assert book_names(manager_book) == ["Anna Aalto"]
    assert book_names(admin_book) == ["Anna Aalto", "Bella Berg"]
    assert (manager_profile.status_code, admin_profile.status_code) == (404, 200)


@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_login(client, store_a):
    # given
    target = ClientFactory(store=store_a)
    # when
    book = client.get(reverse("clients:book"))
    note = client.post(reverse("clients:add_note", args=[target.pk]), {"body": "hi"})
    # then
    assert book.status_code == 302
    assert book.url.startswith("/login/")
    assert note.status_code == 302
    assert Note.objects.count() == 0


@pytest.mark.django_db
def test_csrf_is_enforced_on_quick_edit(associate_a, store_a):
    # given
    target = ClientFactory(store=store_a)
    web = HttpClient(enforce_csrf_checks=True)
    web.force_login(associate_a, backend="django.contrib.auth.backends.ModelBackend")
    # when
    response = web.post(reverse("clients:add_note", args=[target.pk]), {"body": "hi"}, **HTMX)
    # then
    assert response.status_code == 403
    assert Note.objects.count() == 0


@pytest.mark.django_db
def test_csrf_token_from_page_lets_the_post_through(associate_a, store_a):
    # given
    target = ClientFactory(store=store_a)
    web = HttpClient(enforce_csrf_checks=True)
    web.force_login(associate_a, backend="django.contrib.auth.backends.ModelBackend")
    web.get(reverse("clients:profile", args=[target.pk]))
    token = web.cookies["csrftoken"].value
    # when
    response = web.post(
        reverse("clients:add_note", args=[target.pk]),
        {"body": "hi"},
        HTTP_X_CSRFTOKEN=token,
        **HTMX,
    )
    # then
    assert response.status_code == 200
    assert list(Note.objects.values_list("body", flat=True)) == ["hi"]


# --- Quick edits --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_htmx_size_edit_returns_the_updated_section_fragment(web_as, associate_a, store_a):
    # given
    target = ClientFactory(store=store_a)
    # when
    response = web_as(associate_a).post(
        reverse("clients:set_size", args=[target.pk]), {"category": "Suits", "size": "40R"}, **HTMX
    )
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert response.templates[0].name == "clients/sections/sizes.html"
    assert html.lstrip().startswith('<section id="sizes"')
    assert "<html" not in html
    assert "40R" in html
    assert "Saved." in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert list(target.sizes.values_list("category", "size")) == [("Suits", "40R")]


@pytest.mark.django_db
def test_size_edit_without_javascript_redirects_to_the_section(web_as, associate_a, store_a):
    # given
    target = ClientFactory(store=store_a)
    services.set_size(target, category="Suits", size="40R")
    # when
    response = web_as(associate_a).post(
        reverse("clients:set_size", args=[target.pk]), {"category": "suits", "size": "42L"}
    )
    # then
    assert response.status_code == 302
    assert response.url == f"/clients/{target.pk}/#sizes"
    assert list(target.sizes.values_list("category", "size")) == [("suits", "42L")]


@pytest.mark.django_db
def test_htmx_invalid_date_shows_error_in_fragment_and_writes_nothing(web_as, associate_a, store_a):
    # given
    target = ClientFactory(store=store_a)
    # when
    response = web_as(associate_a).post(
        reverse("clients:add_date", args=[target.pk]),
        {"kind": "birthday", "month": "2", "day": "30"},
        **HTMX,
    )
    # then
    assert response.status_code == 200
    assert "February has no day 30." in response.content.decode()
    assert "<details open>" in response.content.decode()
    assert ImportantDate.objects.count() == 0


@pytest.mark.django_db
def test_invalid_note_without_javascript_rerenders_page_with_error(web_as, associate_a, store_a):
    # given
    target = ClientFactory(store=store_a)
    # when
    response = web_as(associate_a).post(reverse("clients:add_note", args=[target.pk]), {"body": ""})
    # then
    assert response.status_code == 400
    assert response.context["forms"]["timeline"].errors == {"body": ["This field is required."]}
    assert Note.objects.count() == 0


@pytest.mark.django_db
def test_quick_edits_write_through_the_services(web_as, associate_a, store_a):
    # given
    target = ClientFactory(store=store_a, email="old@example.com")
    web = web_as(associate_a)

    def post(name: str, data: dict, *args: int) -> int:
        return web.post(reverse(name, args=[target.pk, *args]), data, **HTMX).status_code

    # when
    codes = [
        post("clients:add_note", {"body": "Loves linen"}),
        post(
            "clients:add_preference",
            {"likes": "0", "dimension": "colour", "value": "orange", "source": "observed"},
        ),
        post("clients:record_consent", {"channel": "sms", "granted": "1", "source": "in person"}),
        post("clients:add_date", {"kind": "anniversary", "month": "6", "day": "2", "year": "2010"}),
        post("clients:add_need", {"text": "A recorder for interviews", "budget": "300"}),
        post("clients:edit_tags", {"tags": "vip, #Wedding 2027, vip"}),
        post(
            "clients:edit_contact",
            {"email": " New@Example.COM ", "phone": "(415) 555-0123", "address": "1 Main St"},
        ),
    ]
    need = target.needs.get()
    codes.append(post("clients:mark_need_met", {}, need.pk))
    # then
    target.refresh_from_db()
    need.refresh_from_db()
    assert codes == [200] * 8
    assert list(target.notes.values_list("body", "author")) == [("Loves linen", associate_a.pk)]
    assert list(target.preferences.values_list("dimension", "value", "likes", "source")) == [
        ("colour", "orange", False, "observed")
    ]
    consent = services.current_consents(target)["sms"]
    assert (consent.granted, consent.source, consent.recorded_by) == (
        True,
        "in person",
        associate_a,
    )
    assert list(target.important_dates.values_list("kind", "month", "day", "year")) == [
        ("anniversary", 6, 2, 2010)
    ]
    assert (need.text, need.budget, need.met_at is not None) == (
        "A recorder for interviews",
        Decimal("300.00"),
        True,
    )
    assert sorted(target.tags.values_list("name", flat=True)) == ["Wedding 2027", "vip"]
    assert (target.email, target.phone, target.address) == (
        "new@example.com",
        "+14155550123",
        "1 Main St",
    )


@pytest.mark.django_db
def test_contact_edit_shows_clear_error_for_bad_phone(web_as, associate_a, store_a):
    # given
    target = ClientFactory(store=store_a, phone="+14155550123")
    # when
    response = web_as(associate_a).post(
        reverse("clients:edit_contact", args=[target.pk]),
        {"email": "a@example.com", "phone": "12", "address": ""},
        **HTMX,
    )
    # then
    target.refresh_from_db()
    assert response.context["forms"]["contact"].errors == {
        "phone": ["'12' is not a possible phone number"]
    }
    assert target.phone == "+14155550123"


@pytest.mark.django_db
def test_repeated_consent_decision_says_no_change(web_as, associate_a, store_a):
    # given
    target = ClientFactory(store=store_a)
    services.record_consent(target, channel="email", granted=True, source="form")
    # when
    response = web_as(associate_a).post(
        reverse("clients:record_consent", args=[target.pk]),
        {"channel": "email", "granted": "1", "source": "call"},
        **HTMX,
    )
    # then
    assert "No change: that decision was already in force." in response.content.decode()
    assert target.consents.count() == 1


# --- Profile ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_profile_shows_header_sections_and_forms_with_csrf(web_as, associate_a, store_a):
    # given
    target = ClientFactory(
        store=store_a,
        first_name="Clara",
        last_name="Oswald",
        phone="+14155550123",
        language="fr",
        time_zone="Europe/Paris",
        primary_associate=associate_a,
    )
    services.record_consent(target, channel="email", granted=True, source="signed form", at=at(2))
    services.set_size(target, category="Dresses", size="M")
    services.add_preference(target, dimension="brand", value="Acne", source="observed")
    services.add_need(target, text="A coat for Oslo", budget=Decimal("500"))
    services.set_tags(target, ["vip"])
    # when
    response = web_as(associate_a).get(reverse("clients:profile", args=[target.pk]))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        "Clara Oswald",
        "tel:+14155550123",
        "Language: French",
        "Europe/Paris",
        f"With {associate_a.display_name}",
        "2 Mar 2026 · signed form",
        "Dresses",
        "Acne",
        "source-observed",
        "A coat for Oslo",
        "budget USD 500.00",
        ">vip<",
        "No household or referral ties.",
    ):
        assert text in html, text
    assert html.count('name="csrfmiddlewaretoken"') == html.count("<form")
    assert 'method="post" action="/logout/"' in html


@pytest.mark.django_db
def test_profile_shows_relations_both_ways(web_as, associate_a, store_a):
    # given
    target = ClientFactory(store=store_a, first_name="Amy", last_name="Pond")
    rory = ClientFactory(store=store_a, first_name="Rory", last_name="Williams")
    friend = ClientFactory(store=store_a, first_name="Mels", last_name="Zucker")
    target.relations.create(other=rory, kind="household", label="husband")
    friend.relations.create(other=target, kind="referred_by")
    # when
    relations = (
        web_as(associate_a)
        .get(reverse("clients:profile", args=[target.pk]))
        .context["profile"]
        .relations
    )
    # then
    assert [(r["kind"], r["label"], r["other"].full_name) for r in relations] == [
        ("Same household", "husband", "Rory Williams"),
        ("Referred", "", "Mels Zucker"),
    ]


@pytest.mark.django_db
def test_timeline_lists_every_kind_newest_first(store_a, associate_a):
    # given
    target = ClientFactory(store=store_a)
    suit = OrderFactory(
        store=store_a,
        client=target,
        associate=associate_a,
        external_ref="R-1",
        channel=OrderChannel.STORE,
        total=Decimal("850.00"),
        placed_at=at(1),
        fulfilled_at=at(2),
    )
    OrderLineFactory(
        order=suit, variant__product__title="Navy suit", quantity=2, unit_price=Decimal("400")
    )
    OrderLineFactory(order=suit, variant__product__title="Tie", unit_price=Decimal("50"))
    OrderFactory(
        store=store_a,
        client=target,
        external_ref="W-7",
        channel=OrderChannel.ONLINE,
        total=Decimal("60.00"),
        placed_at=at(3),
        cancelled_at=at(4),
        cancel_reason="changed mind",
        refunded_at=at(4, 13),
        refunded_amount=Decimal("60.00"),
    )
    Refund.objects.create(
        order=suit, external_ref="RF-1", amount=Decimal("50.00"), note="tie", created_at=at(5)
    )
    services.add_note(target, body="Prefers calls", author=associate_a, at=at(6))
    services.record_consent(
        target, channel="email", granted=True, source="form", at=at(7), by=associate_a
    )
    need = services.add_need(target, text="Winter coat", budget=Decimal("300"), at=at(8))
    services.mark_need_met(need, at=at(9))
    ClientFactory(store=store_a)  # another client's history stays out
    name = associate_a.display_name
    # when
    timeline = services.client_timeline(target)
    # then
    assert [(e.at, e.kind, e.title, e.detail, e.actor, e.lines) for e in timeline] == [
        (at(9), "need_met", "Need met", "Winter coat", "", ()),
        (at(8), "need_stated", "Need stated", "Winter coat · budget USD 300.00", "", ()),
        (at(7), "consent", "Email consent given", "Source: form", name, ()),
        (at(6), "note", "Note", "Prefers calls", name, ()),
        (at(5), "refund", "Refund USD 50.00 on order R-1", "tie", "", ()),
        (at(4, 13), "order_refunded", "Order W-7 refunded", "USD 60.00", "", ()),
        (at(4), "order_cancelled", "Order W-7 cancelled", "changed mind", "", ()),
        (at(3), "order_placed", "Order W-7 placed · Online", "0 items · USD 60.00", "", ()),
        (at(2), "order_fulfilled", "Order R-1 fulfilled", "", "", ()),
        (
            at(1),
            "order_placed",
            "Order R-1 placed · In store",
            "3 items · USD 850.00",
            name,
            ("2 x Navy suit — USD 800.00", "1 x Tie — USD 50.00"),
        ),
    ]


@pytest.mark.django_db
def test_profile_renders_timeline_and_a_new_note_appears_first(web_as, associate_a, store_a):
    # given
    target = ClientFactory(store=store_a)
    OrderFactory(store=store_a, client=target, external_ref="R-9", placed_at=at(1))
    # when
    response = web_as(associate_a).post(
        reverse("clients:add_note", args=[target.pk]), {"body": "Called about hem"}, **HTMX
    )
    # then
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="timeline"')
    assert html.index("Called about hem") < html.index("Order R-9 placed")


# --- Client book -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ann", ["Anna Lind"]),
        ("LIND", ["Anna Lind", "Peter Lindqvist"]),
        ("peter@work", ["Peter Lindqvist"]),
        ("555 0199", ["Anna Lind"]),
        ("5550123", ["Peter Lindqvist"]),
        ("vip", ["Peter Lindqvist"]),
        ("#VIP", ["Peter Lindqvist"]),
        ("anna vip", []),
    ],
)
def test_search_by_name_email_phone_digits_and_tag(web_as, associate_a, store_a, query, expected):
    # given
    ClientFactory(
        store=store_a, first_name="Anna", last_name="Lind", phone="+14155550199", email="a@x.io"
    )
    peter = ClientFactory(
        store=store_a,
        first_name="Peter",
        last_name="Lindqvist",
        phone="+14155550123",
        email="peter@work.example",
    )
    services.set_tags(peter, ["vip"])
    # when
    response = web_as(associate_a).get(reverse("clients:book"), {"q": query})
    # then
    assert book_names(response) == expected


@pytest.mark.django_db
def test_live_search_returns_only_the_results_fragment(web_as, associate_a, store_a):
    # given
    ClientFactory(store=store_a, first_name="Anna", last_name="Lind")
    # when
    response = web_as(associate_a).get(
        reverse("clients:book"), {"q": "anna"}, HTTP_HX_TARGET="results", **HTMX
    )
    # then
    html = response.content.decode()
    assert response.templates[0].name == "clients/_book_results.html"
    assert "<html" not in html
    assert "Anna Lind" in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.django_db
def test_book_page_has_live_search_box(web_as, associate_a):
    # when
    html = web_as(associate_a).get(reverse("clients:book")).content.decode()
    # then
    assert 'hx-trigger="input changed delay:250ms, search"' in html
    assert "django_htmx/htmx-2.min.js" in html


@pytest.mark.django_db
def test_book_filters_tag_associate_status_and_consent(web_as, associate_a, store_a):
    # given
    colleague = UserFactory(store=store_a, first_name="Cole", last_name="Tan")
    mine = ClientFactory(
        store=store_a, first_name="Mine", last_name="A", primary_associate=associate_a
    )
    theirs = ClientFactory(
        store=store_a, first_name="Theirs", last_name="B", primary_associate=colleague
    )
    ClientFactory(store=store_a, first_name="Nobodys", last_name="C")
    ClientFactory(store=store_a, first_name="Gone", last_name="D", status=ClientStatus.LAPSED)
    ClientFactory(store=store_a, first_name="Merged", last_name="E", status=ClientStatus.MERGED)
    services.set_tags(theirs, ["vip"])
    services.record_consent(mine, channel="email", granted=True, source="form", at=at(1))
    services.record_consent(theirs, channel="email", granted=True, source="form", at=at(1))
    services.record_consent(theirs, channel="email", granted=False, source="call", at=at(2))
    services.record_consent(theirs, channel="sms", granted=True, source="form", at=at(1))
    web = web_as(associate_a)

    def names(**params: str) -> list[str]:
        return book_names(web.get(reverse("clients:book"), params))

    # when / then
    assert names() == ["Mine A", "Theirs B", "Nobodys C", "Gone D"]
    assert names(tag="vip") == ["Theirs B"]
    assert names(associate="me") == ["Mine A"]
    assert names(associate=str(colleague.pk)) == ["Theirs B"]
    assert names(associate="none") == ["Nobodys C", "Gone D"]
    assert names(status="lapsed") == ["Gone D"]
    assert names(status="merged") == ["Merged E"]
    assert names(consent="email") == ["Mine A"]
    assert names(consent="sms") == ["Theirs B"]


@pytest.mark.django_db
def test_book_leaves_out_a_filter_naming_staff_of_other_store(
    web_as, associate_a, associate_b, store_a, store_b
):
    # given
    ClientFactory(
        store=store_b, first_name="Bella", last_name="Berg", primary_associate=associate_b
    )
    ClientFactory(store=store_a, first_name="Anna", last_name="Aalto")
    ClientFactory(store=store_a, first_name="Carl", last_name="Cruz")
    # when
    response = web_as(associate_a).get(
        reverse("clients:book"), {"associate": str(associate_b.pk), "q": "anna"}
    )
    # then
    html = response.content.decode()
    assert response.context["form"].errors["associate"][0].startswith("Select a valid choice.")
    assert "This filter was left out." in html
    assert book_names(response) == ["Anna Aalto"]
    assert associate_b.display_name not in html


@pytest.mark.django_db
def test_book_row_shows_associate_last_purchase_and_tags(web_as, associate_a, store_a):
    # given
    target = ClientFactory(
        store=store_a, first_name="Rose", last_name="Tyler", primary_associate=associate_a
    )
    OrderFactory(store=store_a, client=target, placed_at=at(3))
    OrderFactory(store=store_a, client=target, placed_at=at(9), status="cancelled")
    OrderFactory(store=store_a, client=target, placed_at=at(1))
    services.set_tags(target, ["vip", "bride"])
    # when
    response = web_as(associate_a).get(reverse("clients:book"))
    # then
    row = response.context["page"].object_list[0]
    html = response.content.decode()
    assert row.last_order == at(3)
    assert "Last bought 3 Mar 2026" in html
    assert associate_a.display_name in html
    assert '<span class="tag">bride</span><span class="tag">vip</span>' in html


@pytest.mark.django_db
def test_book_pages_by_fifty(web_as, associate_a, store_a):
    # given
    for n in range(53):
        ClientFactory(store=store_a, first_name="C", last_name=f"{n:03d}")
    web = web_as(associate_a)
    # when
    first = web.get(reverse("clients:book"))
    second = web.get(reverse("clients:book"), {"page": "2", "q": "c"})
    # then
    assert len(first.context["page"].object_list) == 50
    assert book_names(second) == ["C 050", "C 051", "C 052"]
    assert 'href="?page=2"' in first.content.decode()
    assert 'href="?page=1&amp;q=c"' in second.content.decode()


@pytest.mark.django_db
def test_book_query_count_does_not_grow_with_page_size(
    web_as, associate_a, store_a, django_assert_max_num_queries
):
    # given
    web = web_as(associate_a)

    def add_clients(count: int) -> None:
        for _ in range(count):
            client = ClientFactory(store=store_a, primary_associate=associate_a)
            services.set_tags(client, ["vip", "bride"])
            OrderFactory(store=store_a, client=client)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert web.get(reverse("clients:book"), {"q": "example"}).status_code == 200
        return len(queries)

    add_clients(2)
    few = count_queries()
    add_clients(48)
    # when / then
    with django_assert_max_num_queries(few):
        web.get(reverse("clients:book"), {"q": "example"})
    assert count_queries() == few


# --- New client and edit page --------------------------------------------------------------------


@pytest.mark.django_db
def test_new_client_goes_to_the_associates_store(web_as, associate_a, store_a):
    # when
    response = web_as(associate_a).post(
        reverse("clients:new"),
        {
            "first_name": "Martha",
            "last_name": "Jones",
            "email": "MARTHA@Example.com",
            "phone": "415 555 0100",
            "language": "en",
            "time_zone": "",
            "status": "active",
            "primary_associate": str(associate_a.pk),
        },
    )
    # then
    created = Client.objects.get()
    assert response.status_code == 302
    assert response.url == f"/clients/{created.pk}/"
    assert (created.store, created.email, created.phone, created.time_zone) == (
        store_a,
        "martha@example.com",
        "+14155550100",
        "America/New_York",
    )
    assert created.primary_associate == associate_a


@pytest.mark.django_db
def test_admin_picks_the_store_of_a_new_client(web_as, admin_user, store_b):
    # given
    ben = UserFactory(store=store_b, role=Role.ASSOCIATE)
    # when
    response = web_as(admin_user).post(
        reverse("clients:new"),
        {
            "store": str(store_b.pk),
            "first_name": "Donna",
            "language": "en",
            "status": "active",
            "primary_associate": str(ben.pk),
        },
    )
    # then
    assert response.status_code == 302
    assert list(Client.objects.values_list("first_name", "store", "primary_associate")) == [
        ("Donna", store_b.pk, ben.pk)
    ]


@pytest.mark.django_db
def test_admin_cannot_give_new_client_an_associate_of_another_store(
    web_as, admin_user, store_a, store_b
):
    # given
    ana = UserFactory(store=store_a)
    # when
    response = web_as(admin_user).post(
        reverse("clients:new"),
        {
            "store": str(store_b.pk),
            "first_name": "Donna",
            "language": "en",
            "status": "active",
            "primary_associate": str(ana.pk),
        },
    )
    # then
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "primary_associate": [f"{ana.display_name} works elsewhere."]
    }
    assert Client.objects.count() == 0


@pytest.mark.django_db
def test_new_client_form_has_no_store_choice_for_associates(web_as, associate_a):
    # when
    form = web_as(associate_a).get(reverse("clients:new")).context["form"]
    # then
    assert "store" not in form.fields


@pytest.mark.django_db
def test_edit_page_normalises_and_reports_field_errors(web_as, associate_a, store_a):
    # given
    target = ClientFactory(store=store_a, first_name="Jack", email="jack@example.com")
    base = {"first_name": "Jack", "language": "en", "status": "active", "address": ""}
    web = web_as(associate_a)
    url = reverse("clients:edit", args=[target.pk])
    # when
    bad = web.post(
        url, {**base, "email": "jack at example", "phone": "abc", "time_zone": "Mars/Olympus"}
    )
    good = web.post(
        url,
        {
            **base,
            "email": " JACK@Example.org",
            "phone": "+44 20 7946 0018",
            "time_zone": "Europe/London",
            "status": "lapsed",
        },
    )
    # then
    assert bad.status_code == 400
    assert bad.context["form"].errors == {
        "email": ["'jack at example' is not an email address"],
        "phone": [
            "'abc' is not a phone number "
            "((1) The string supplied did not seem to be a phone number.)"
        ],
        "time_zone": ["'Mars/Olympus' is not an IANA time zone (for example Europe/Paris)."],
    }
    assert good.status_code == 302
    target.refresh_from_db()
    assert (target.email, target.phone, target.time_zone, target.status) == (
        "jack@example.org",
        "+442079460018",
        "Europe/London",
        "lapsed",
    )


@pytest.mark.django_db
def test_edit_page_offers_only_staff_of_the_clients_store(
    web_as, associate_a, associate_b, manager_a, store_a
):
    # given
    target = ClientFactory(store=store_a)
    web = web_as(manager_a)
    url = reverse("clients:edit", args=[target.pk])
    # when
    form = web.get(url).context["form"]
    refused = web.post(
        url,
        {
            "first_name": "X",
            "language": "en",
            "status": "active",
            "primary_associate": str(associate_b.pk),
        },
    )
    # then
    assert set(form.fields["primary_associate"].queryset) == {associate_a, manager_a}
    assert refused.status_code == 400
    assert "primary_associate" in refused.context["form"].errors
    target.refresh_from_db()
    assert target.primary_associate is None


# --- Navigation ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_header_shows_admin_link_to_managers_only(web_as, associate_a, manager_a):
    # when
    associate_html = web_as(associate_a).get(reverse("clients:book")).content.decode()
    manager_html = web_as(manager_a).get(reverse("clients:book")).content.decode()
    # then
    assert 'href="/admin/"' not in associate_html
    assert 'href="/admin/"' in manager_html
    assert associate_a.display_name in associate_html
    assert "Log out" in associate_html


@pytest.mark.django_db
def test_merged_status_is_not_offered_when_editing(web_as, associate_a, store_a):
    # given
    target = ClientFactory(store=store_a)
    # when
    response = web_as(associate_a).post(
        reverse("clients:edit", args=[target.pk]),
        {"first_name": "X", "language": "en", "status": "merged"},
    )
    # then
    assert response.status_code == 400
    assert response.context["form"].errors["status"][0].startswith("Select a valid choice.")
    target.refresh_from_db()
    assert target.status == "active"


@pytest.mark.parametrize(
    ("code", "shown"),
    [("fr", "French"), ("pt-BR", "Brazilian Portuguese"), ("pt-XX", "Portuguese"), ("zz", "zz")],
)
def test_the_profile_names_the_language_and_falls_back_to_its_code(code, shown):
    from extramile.clients.models import Client
    from extramile.clients.views import ClientProfile

    assert ClientProfile(Client(language=code), user=None).language == shown  # type: ignore[arg-type]
