import datetime as dt
from decimal import Decimal

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.test import Client as HttpClient
from django.utils import timezone

from extramile.clients.models import (
    Client,
    ClientStatus,
    Consent,
    ContactPoint,
    ImportantDate,
    Need,
    Preference,
    Size,
    Tag,
)
from tests.api_helpers import bearer, get, ids
from tests.factories import ClientFactory, UserFactory

T0 = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)


def post(user, path, body):
    return HttpClient().post(path, data=body, content_type="application/json", **bearer(user))


def patch(user, path, body):
    return HttpClient().patch(path, data=body, content_type="application/json", **bearer(user))


@pytest.fixture
def full_client(store_a, associate_a):
    client = ClientFactory(
        store=store_a,
        primary_associate=associate_a,
        first_name="Grace",
        last_name="Hopper",
        email="grace@example.com",
        phone="+14155550123",
        address="1 Navy Way",
        language="en",
        time_zone="America/New_York",
        external_ref="POS-1",
        created_at=T0,
    )
    client.tags.set([Tag.objects.create(name="vip")])
    Size.objects.create(client=client, category="Suits", size="38R")
    Preference.objects.create(
        client=client, dimension="brand", value="Brioni", likes=True, recorded_at=T0
    )
    ImportantDate.objects.create(client=client, kind="birthday", month=12, day=9, year=1906)
    need = Need.objects.create(
        client=client, text="A recorder for interviews", budget=Decimal("300"), stated_at=T0
    )
    Consent.objects.create(
        client=client, channel="email", granted=True, source="form", recorded_at=T0
    )
    Consent.objects.create(
        client=client,
        channel="email",
        granted=False,
        source="unsubscribe link",
        recorded_at=T0 + dt.timedelta(days=1),
    )
    Consent.objects.create(
        client=client, channel="sms", granted=True, source="call", recorded_at=T0
    )
    ContactPoint.objects.create(client=client, kind="email", value="g@work.example", label="work")
    client.need_id = need.pk
    return client


@pytest.mark.django_db
def test_read_gives_every_field_of_the_client(full_client, associate_a):
    # when
    response = get(associate_a, f"/api/v1/clients/{full_client.pk}")
    # then
    assert response.status_code == 200
    assert response.json() == {
        "id": full_client.pk,
        "store": "uptown",
        "primary_associate": "ana",
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@example.com",
        "phone": "+14155550123",
        "address": "1 Navy Way",
        "language": "en",
        "time_zone": "America/New_York",
        "status": "active",
        "merged_into_id": None,
        "external_ref": "POS-1",
        "tags": ["vip"],
        "sizes": [{"category": "Suits", "size": "38R"}],
        "preferences": [
            {"dimension": "brand", "value": "Brioni", "likes": True, "source": "stated"}
        ],
        "important_dates": [{"kind": "birthday", "label": "", "month": 12, "day": 9, "year": 1906}],
        "needs": [
            {
                "id": full_client.need_id,
                "text": "A recorder for interviews",
                "budget": "300.00",
                "stated_at": "2025-03-01T09:30:00Z",
                "met_at": None,
            }
        ],
        "consents": [
            {
                "channel": "email",
                "granted": False,
                "recorded_at": "2025-03-02T09:30:00Z",
                "source": "unsubscribe link",
            },
            {
                "channel": "sms",
                "granted": True,
                "recorded_at": "2025-03-01T09:30:00Z",
                "source": "call",
            },
        ],
        "contact_points": [{"kind": "email", "value": "g@work.example", "label": "work"}],
        "created_at": "2025-03-01T09:30:00Z",
        "updated_at": DjangoJSONEncoder().default(Client.objects.get().updated_at),
    }


@pytest.mark.django_db
def test_list_pages_the_clients_of_the_own_store(store_a, associate_a):
    # given
    clients = [ClientFactory(store=store_a, last_name=name) for name in ("Adams", "Baker", "Cole")]
    # when
    first = get(associate_a, "/api/v1/clients", page_size=2)
    second = get(associate_a, "/api/v1/clients", page_size=2, page=2)
    # then
    assert first.status_code == 200
    assert first.json()["count"] == 3
    assert ids(first) == [clients[0].pk, clients[1].pk]
    assert ids(second) == [clients[2].pk]


@pytest.mark.django_db
def test_list_refuses_pages_larger_than_500(associate_a):
    # when
    response = get(associate_a, "/api/v1/clients", page_size=501)
    # then
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["query", "page_size"]]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["associate_a", "manager_a"])
def test_store_staff_never_see_another_stores_client_in_list_or_search(
    request, who, store_a, store_b
):
    # given
    user = request.getfixturevalue(who)
    own = ClientFactory(store=store_a, last_name="Lovelace")
    ClientFactory(store=store_b, last_name="Lovelace")
    # when
    listed = get(user, "/api/v1/clients")
    searched = get(user, "/api/v1/clients", q="lovelace")
    filtered = get(user, "/api/v1/clients", store="harbour")
    # then
    assert ids(listed) == [own.pk]
    assert ids(searched) == [own.pk]
    assert ids(filtered) == []


@pytest.mark.django_db
def test_admin_sees_every_store_and_may_filter_by_store(admin_user, store_a, store_b):
    # given
    ours = ClientFactory(store=store_a, last_name="Adams")
    theirs = ClientFactory(store=store_b, last_name="Baker")
    # when
    everyone = get(admin_user, "/api/v1/clients")
    harbour = get(admin_user, "/api/v1/clients", store="harbour")
    # then
    assert ids(everyone) == [ours.pk, theirs.pk]
    assert ids(harbour) == [theirs.pk]


@pytest.mark.django_db
def test_list_filters_by_tag_status_associate_and_update_time(store_a, associate_a, manager_a):
    # given
    vip = ClientFactory(store=store_a, last_name="Adams", primary_associate=associate_a)
    vip.tags.set([Tag.objects.create(name="vip")])
    lapsed = ClientFactory(store=store_a, last_name="Baker", status=ClientStatus.LAPSED)
    merged = ClientFactory(store=store_a, last_name="Cole", status=ClientStatus.MERGED)
    old = ClientFactory(store=store_a, last_name="Dunn")
    Client.objects.filter(pk=old.pk).update(updated_at=timezone.now() - dt.timedelta(days=30))
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    # when
    by_tag = get(manager_a, "/api/v1/clients", tag="VIP")
    by_status = get(manager_a, "/api/v1/clients", status="lapsed")
    default = get(manager_a, "/api/v1/clients")
    merged_only = get(manager_a, "/api/v1/clients", status="merged")
    by_associate = get(manager_a, "/api/v1/clients", primary_associate="ana")
    recent = get(manager_a, "/api/v1/clients", updated_since=since)
    # then
    assert ids(by_tag) == [vip.pk]
    assert ids(by_status) == [lapsed.pk]
    assert ids(default) == [vip.pk, lapsed.pk, old.pk]
    assert ids(merged_only) == [merged.pk]
    assert ids(by_associate) == [vip.pk]
    assert ids(recent) == [vip.pk, lapsed.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["associate_a", "manager_a"])
def test_store_staff_get_404_for_another_stores_client(request, who, store_b):
    # given
    user = request.getfixturevalue(who)
    theirs = ClientFactory(store=store_b, first_name="Ben")
    # when
    response = get(user, f"/api/v1/clients/{theirs.pk}")
    # then
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


@pytest.mark.django_db
def test_admin_reads_a_client_of_any_store(admin_user, store_b):
    # given
    theirs = ClientFactory(store=store_b)
    # when
    response = get(admin_user, f"/api/v1/clients/{theirs.pk}")
    # then
    assert response.status_code == 200
    assert response.json()["store"] == "harbour"


@pytest.mark.django_db
def test_create_normalises_contact_points_and_makes_the_associate_primary(associate_a):
    # when
    response = post(
        associate_a,
        "/api/v1/clients",
        {
            "first_name": " Ada ",
            "last_name": "Lovelace",
            "email": " Ada@Example.COM ",
            "phone": "(415) 555-0199",
            "tags": ["vip", " #VIP ", "wedding  2027", ""],
            "consents": {"email": True, "sms": False},
        },
    )
    # then
    assert response.status_code == 201
    client = Client.objects.get()
    body = response.json()
    assert body["id"] == client.pk
    assert {key: body[key] for key in ("store", "primary_associate", "first_name", "email")} == {
        "store": "uptown",
        "primary_associate": "ana",
        "first_name": "Ada",
        "email": "ada@example.com",
    }
    assert body["phone"] == "+14155550199"
    assert body["time_zone"] == "America/New_York"
    assert body["tags"] == ["vip", "wedding 2027"]
    assert [(c["channel"], c["granted"], c["source"]) for c in body["consents"]] == [
        ("email", True, "api"),
        ("sms", False, "api"),
    ]
    assert (client.email, client.phone, client.store.code) == (
        "ada@example.com",
        "+14155550199",
        "uptown",
    )
    assert list(client.consents.values_list("recorded_by__username", flat=True)) == ["ana", "ana"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["associate_a", "manager_a"])
def test_store_staff_cannot_create_a_client_in_another_store(request, who, store_b):
    # given
    user = request.getfixturevalue(who)
    # when
    response = post(user, "/api/v1/clients", {"first_name": "Ada", "store": "harbour"})
    # then
    assert response.status_code == 403
    assert response.json() == {"detail": "You may create clients only in your own store (uptown)."}
    assert Client.objects.count() == 0


@pytest.mark.django_db
def test_manager_may_name_their_own_store_and_leaves_primary_associate_empty(manager_a):
    # when
    response = post(manager_a, "/api/v1/clients", {"first_name": "Ada", "store": "uptown"})
    # then
    assert response.status_code == 201
    assert (response.json()["store"], response.json()["primary_associate"]) == ("uptown", None)


@pytest.mark.django_db
def test_admin_creates_in_the_store_named_and_must_name_one(admin_user, store_b):
    # when
    missing = post(admin_user, "/api/v1/clients", {"first_name": "Ada"})
    unknown = post(admin_user, "/api/v1/clients", {"first_name": "Ada", "store": "nowhere"})
    created = post(admin_user, "/api/v1/clients", {"first_name": "Ada", "store": "harbour"})
    # then
    assert (missing.status_code, unknown.status_code, created.status_code) == (422, 422, 201)
    assert missing.json()["detail"][0]["loc"] == ["body", "payload", "store"]
    assert unknown.json()["detail"][0]["msg"] == "No store with code 'nowhere'."
    assert list(Client.objects.values_list("store__code", "first_name")) == [("harbour", "Ada")]


@pytest.mark.django_db
def test_create_answers_422_naming_every_bad_field(associate_a):
    # when
    response = post(
        associate_a,
        "/api/v1/clients",
        {"first_name": "Ada", "email": "not-an-email", "phone": "12", "time_zone": "Mars/Base"},
    )
    # then
    assert response.status_code == 422
    assert [(e["loc"][-1], e["msg"]) for e in response.json()["detail"]] == [
        ("email", "'not-an-email' is not an email address"),
        ("phone", "'12' is not a possible phone number"),
        ("time_zone", "'Mars/Base' is not an IANA time zone (for example Europe/Paris)."),
    ]
    assert Client.objects.count() == 0


@pytest.mark.django_db
def test_create_refuses_an_unknown_status_and_a_colleague_of_another_store(
    associate_a, associate_b
):
    # when
    bad_status = post(associate_a, "/api/v1/clients", {"first_name": "Ada", "status": "gone"})
    foreign = post(
        associate_a, "/api/v1/clients", {"first_name": "Ada", "primary_associate": "ben"}
    )
    unknown = post(
        associate_a, "/api/v1/clients", {"first_name": "Ada", "primary_associate": "nobody"}
    )
    # then
    assert (bad_status.status_code, foreign.status_code, unknown.status_code) == (422, 422, 422)
    assert bad_status.json()["detail"][0]["loc"] == ["body", "payload", "status"]
    assert foreign.json()["detail"] == [
        {
            "type": "value_error",
            "loc": ["body", "payload", "primary_associate"],
            "msg": f"{associate_b.display_name} does not work at Uptown.",
        }
    ]
    assert unknown.json()["detail"][0]["msg"] == "No active member of staff 'nobody'."
    assert Client.objects.count() == 0


@pytest.mark.django_db
def test_patch_changes_only_the_fields_given(full_client, manager_a, store_a):
    # given
    colleague = UserFactory(username="cara", store=store_a)
    # when
    response = patch(
        manager_a,
        f"/api/v1/clients/{full_client.pk}",
        {
            "phone": "415 555 0100",
            "primary_associate": "cara",
            "tags": ["regular"],
            "consents": {"sms": False},
        },
    )
    # then
    assert response.status_code == 200
    client = Client.objects.get()
    assert (client.first_name, client.email, client.phone, client.primary_associate) == (
        "Grace",
        "grace@example.com",
        "+14155550100",
        colleague,
    )
    assert response.json()["tags"] == ["regular"]
    assert [(c["channel"], c["granted"]) for c in response.json()["consents"]] == [
        ("email", False),
        ("sms", False),
    ]


@pytest.mark.django_db
def test_patch_may_clear_the_primary_associate_but_not_null_a_name(full_client, associate_a):
    # when
    cleared = patch(associate_a, f"/api/v1/clients/{full_client.pk}", {"primary_associate": None})
    nulled = patch(associate_a, f"/api/v1/clients/{full_client.pk}", {"last_name": None})
    # then
    assert cleared.status_code == 200
    assert cleared.json()["primary_associate"] is None
    assert nulled.status_code == 422
    assert nulled.json()["detail"][0]["loc"] == ["body", "payload", "last_name"]
    assert Client.objects.get().last_name == "Hopper"


@pytest.mark.django_db
def test_patch_with_a_bad_phone_changes_nothing(full_client, associate_a):
    # when
    response = patch(
        associate_a,
        f"/api/v1/clients/{full_client.pk}",
        {"first_name": "Amazing", "phone": "call me", "tags": []},
    )
    # then
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "payload", "phone"]]
    client = Client.objects.get()
    assert (client.first_name, client.phone) == ("Grace", "+14155550123")
    assert list(client.tags.values_list("name", flat=True)) == ["vip"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["associate_a", "manager_a"])
def test_store_staff_cannot_patch_another_stores_client(request, who, store_b):
    # given
    user = request.getfixturevalue(who)
    theirs = ClientFactory(store=store_b, first_name="Ben", email="ben@example.com")
    # when
    response = patch(
        user, f"/api/v1/clients/{theirs.pk}", {"first_name": "Hacked", "tags": ["stolen"]}
    )
    # then
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.first_name, theirs.email) == ("Ben", "ben@example.com")
    assert list(theirs.tags.all()) == []
    assert Tag.objects.count() == 0


@pytest.mark.django_db
def test_admin_patches_a_client_of_any_store(admin_user, store_b):
    # given
    theirs = ClientFactory(store=store_b, first_name="Ben")
    # when
    response = patch(admin_user, f"/api/v1/clients/{theirs.pk}", {"first_name": "Benjamin"})
    # then
    assert response.status_code == 200
    theirs.refresh_from_db()
    assert theirs.first_name == "Benjamin"


@pytest.mark.django_db
def test_a_page_of_20_clients_takes_a_fixed_number_of_queries(
    store_a, associate_a, django_assert_max_num_queries
):
    # given
    tag = Tag.objects.create(name="vip")
    for n in range(20):
        client = ClientFactory(store=store_a, primary_associate=associate_a)
        client.tags.set([tag])
        Size.objects.create(client=client, category="Suits", size=f"{38 + n}R")
        Preference.objects.create(client=client, dimension="colour", value=f"blue {n}")
        ImportantDate.objects.create(client=client, month=1 + n % 12, day=1)
        Need.objects.create(client=client, text="A coat")
        Consent.objects.create(client=client, channel="email", granted=True, source="form")
        ContactPoint.objects.create(client=client, kind="phone", value=f"+1415555{n:04d}")
    headers = bearer(associate_a)
    http = HttpClient()
    # when
    # token look-up 1 (+1 last-use stamp), count 1, page 1, prefetches 7
    with django_assert_max_num_queries(11):
        response = http.get("/api/v1/clients", {"page_size": 20}, **headers)
    # then
    assert response.status_code == 200
    assert len(response.json()["items"]) == 20
    assert all(len(item["sizes"]) == 1 for item in response.json()["items"])
