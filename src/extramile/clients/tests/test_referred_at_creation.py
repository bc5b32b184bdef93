"""Naming who sent a new client when adding them: the new-client page and POST /api/v1/clients."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.test import Client as HttpClient
from django.urls import reverse

from extramile.accounts.models import Store, User
from extramile.clients.models import Client
from extramile.clients.services import record_consent
from extramile.loyalty.models import Referral, ReferralSource
from extramile.moments.models import Action, ActionKind
from tests.api_helpers import bearer
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

NEW_CLIENT = {"first_name": "Nadia", "last_name": "Klein", "language": "en", "status": "active"}


def emailable(store: Store, associate: User | None = None, **fields: object) -> Client:
    client = ClientFactory(store=store, primary_associate=associate, **fields)
    record_consent(
        client,
        channel="email",
        granted=True,
        source="form",
        at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )
    return client


def thanks_to(client: Client) -> list[Action]:
    return list(Action.objects.filter(kind=ActionKind.REFERRAL_THANKS, client=client))


def post_api(user: User, body: dict[str, object]):
    return HttpClient().post(
        "/api/v1/clients", data=body, content_type="application/json", **bearer(user)
    )


# --- The new-client page ------------------------------------------------------------------------


def test_the_new_client_page_records_who_sent_them_and_thanks_the_referrer(
    web_as, associate_a, store_a
):
    # given
    grace = emailable(store_a, associate_a, first_name="Grace", last_name="Lee")
    # when
    response = web_as(associate_a).post(
        reverse("clients:new"), {**NEW_CLIENT, "referred_by": "grace lee"}
    )
    # then
    nadia = Client.objects.get(first_name="Nadia")
    assert response.status_code == 302
    assert response.url == f"/clients/{nadia.pk}/"
    referral = Referral.objects.get()
    assert (referral.referrer, referral.referred, referral.source, referral.recorded_by) == (
        grace,
        nadia,
        ReferralSource.PROFILE,
        associate_a,
    )
    [thanks] = thanks_to(grace)
    assert (thanks.associate, thanks.evidence["referral"]["referred_id"]) == (associate_a, nadia.pk)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Nadia Klein added, sent to us by Grace Lee."
    ]


def test_the_new_client_page_reads_a_number_an_email_or_a_phone(web_as, associate_a, store_a):
    # given
    by_number = emailable(store_a, associate_a)
    by_email = emailable(store_a, associate_a, email="tom@example.com")
    by_phone = emailable(store_a, associate_a, phone="+14155550123")
    web = web_as(associate_a)
    # when
    for name, said in (
        ("Ann", f"#{by_number.pk}"),
        ("Bea", "TOM@example.com"),
        ("Cal", "(415) 555-0123"),
    ):
        response = web.post(
            reverse("clients:new"), {**NEW_CLIENT, "first_name": name, "referred_by": said}
        )
        assert response.status_code == 302, response.context["form"].errors
    # then
    assert sorted(Referral.objects.values_list("referred__first_name", "referrer_id")) == [
        ("Ann", by_number.pk),
        ("Bea", by_email.pk),
        ("Cal", by_phone.pk),
    ]


def test_an_ambiguous_referrer_is_a_form_error_and_nothing_is_created(web_as, associate_a, store_a):
    # given: two clients named Lee
    grace = emailable(store_a, associate_a, first_name="Grace", last_name="Lee")
    tom = emailable(store_a, associate_a, first_name="Tom", last_name="Lee")
    # when
    response = web_as(associate_a).post(
        reverse("clients:new"), {**NEW_CLIENT, "referred_by": "Lee"}
    )
    # then
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "referred_by": [
            f"2 clients match 'Lee': Grace Lee (#{grace.pk}), Tom Lee (#{tom.pk}). "
            f"Say which one, e.g. #{grace.pk}."
        ]
    }
    assert not Client.objects.filter(first_name="Nadia").exists()
    assert not Referral.objects.exists()
    assert not Action.objects.exists()


def test_a_referrer_of_another_store_is_not_found(web_as, associate_a, store_a, store_b):
    # given: the only Grace is a client of Harbour
    emailable(store_b, first_name="Grace", last_name="Lee", email="grace@example.com")
    # when
    response = web_as(associate_a).post(
        reverse("clients:new"), {**NEW_CLIENT, "referred_by": "grace@example.com"}
    )
    # then
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "referred_by": ["No client of Uptown matches 'grace@example.com'."]
    }
    assert Client.objects.count() == 1


def test_an_admin_names_a_referrer_in_the_store_they_pick(web_as, admin_user, store_a, store_b):
    # given: a Grace in each store
    emailable(store_a, first_name="Grace", last_name="Lee")
    harbour_grace = emailable(store_b, first_name="Grace", last_name="Lee")
    # when
    response = web_as(admin_user).post(
        reverse("clients:new"), {**NEW_CLIENT, "store": str(store_b.pk), "referred_by": "Grace"}
    )
    # then
    assert response.status_code == 302
    assert list(Referral.objects.values_list("referrer", "referred__store")) == [
        (harbour_grace.pk, store_b.pk)
    ]


def test_referred_by_is_optional_and_offered_only_when_adding_a_client(
    web_as, associate_a, store_a
):
    # given
    existing = emailable(store_a, associate_a)
    web = web_as(associate_a)
    # when
    new_form = web.get(reverse("clients:new")).context["form"]
    edit_form = web.get(reverse("clients:edit", args=[existing.pk])).context["form"]
    plain = web.post(reverse("clients:new"), NEW_CLIENT)
    # then
    assert list(new_form.fields)[-1] == "referred_by"
    assert "referred_by" not in edit_form.fields
    assert plain.status_code == 302
    assert not Referral.objects.exists()


# --- POST /api/v1/clients -----------------------------------------------------------------------


def test_the_api_records_who_sent_a_new_client(associate_a, store_a):
    # given
    grace = emailable(store_a, associate_a, email="grace@example.com")
    # when
    response = post_api(
        associate_a, {"first_name": "Nadia", "referred_by": " Grace@Example.com ", "tags": ["vip"]}
    )
    # then
    assert response.status_code == 201, response.content
    nadia = Client.objects.get(pk=response.json()["id"])
    referral = Referral.objects.get()
    assert (referral.referrer, referral.referred, referral.source, referral.recorded_by) == (
        grace,
        nadia,
        ReferralSource.API,
        associate_a,
    )
    assert len(thanks_to(grace)) == 1
    assert Action.objects.filter(kind=ActionKind.REFERRAL_THANKS).count() == 1


@pytest.mark.parametrize(
    ("said", "message"),
    [
        ("Zed", "No client of Uptown matches 'Zed'."),
        ("Lee", "2 clients match 'Lee'"),
    ],
)
def test_the_api_refuses_an_unknown_or_ambiguous_referrer_and_creates_nothing(
    associate_a, store_a, said, message
):
    # given
    emailable(store_a, first_name="Grace", last_name="Lee")
    emailable(store_a, first_name="Tom", last_name="Lee")
    # when
    response = post_api(associate_a, {"first_name": "Nadia", "referred_by": said})
    # then
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "payload", "referred_by"]
    assert error["msg"].startswith(message)
    assert not Client.objects.filter(first_name="Nadia").exists()
    assert not Referral.objects.exists()
    assert not Action.objects.exists()


def test_the_api_takes_a_blank_or_null_referrer_as_none(associate_a):
    # when
    blank = post_api(associate_a, {"first_name": "Nadia", "referred_by": "  "})
    null = post_api(associate_a, {"first_name": "Omar", "referred_by": None})
    # then
    assert (blank.status_code, null.status_code) == (201, 201)
    assert Client.objects.count() == 2
    assert not Referral.objects.exists()


def test_the_api_does_not_look_for_a_referrer_in_another_store(associate_a, store_b):
    # given
    emailable(store_b, email="grace@example.com")
    # when
    response = post_api(associate_a, {"first_name": "Nadia", "referred_by": "grace@example.com"})
    # then
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == (
        "No client of Uptown matches 'grace@example.com'."
    )
    assert Client.objects.filter(store__code="uptown").count() == 0
