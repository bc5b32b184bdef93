"""client.upserted with referred_by: the referral is recorded once and the referrer thanked once."""

from __future__ import annotations

import datetime as dt

import pytest

from extramile.accounts.models import Store
from extramile.clients.models import Client
from extramile.clients.services import record_consent
from extramile.loyalty.models import Referral, ReferralSource
from extramile.loyalty.services import record_referral
from extramile.moments.event_apply import EventApplyError
from extramile.moments.event_schema import InvalidEvent
from extramile.moments.events import parse_event, process_event, store_event
from extramile.moments.models import Action, ActionKind, Event
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 14, 20, 0, tzinfo=dt.UTC)
AT_UTC = dt.datetime(2026, 3, 14, 19, 20, tzinfo=dt.UTC)


def emailable(store: Store, **fields: object) -> Client:
    client = ClientFactory(store=store, **fields)
    record_consent(
        client, channel="email", granted=True, source="form", at=AT_UTC - dt.timedelta(days=90)
    )
    return client


def stored(data: dict[str, object], *, store: Store, event_id: str = "pos:1") -> Event:
    event, created = store_event(
        event_id=event_id,
        type="client.upserted",
        occurred_at=AT_UTC,
        data=data,
        source="api",
        store=store,
    )
    assert created
    return event


def upserted(client: dict[str, object], *, store: Store, event_id: str = "pos:1") -> Event:
    event = stored({"client": client}, store=store, event_id=event_id)
    process_event(event, now=NOW)
    event.refresh_from_db()
    assert (event.processed_at, event.error) == (NOW, "")
    return event


def thanks() -> list[tuple[int, str]]:
    return list(
        Action.objects.filter(kind=ActionKind.REFERRAL_THANKS).values_list("client_id", "keys__key")
    )


@pytest.mark.parametrize(
    "referred_by",
    [{"id": "C-1"}, {"email": "Grace@Example.com"}, {"phone": "(212) 555-0143"}],
)
def test_a_new_client_referred_by_another_is_recorded_and_the_referrer_thanked(
    store_a, referred_by
):
    # given
    grace = emailable(store_a, external_ref="C-1", email="grace@example.com", phone="+12125550143")
    # when
    upserted(
        {"id": "C-2", "first_name": "Nadia", "referred_by": referred_by},
        store=store_a,
    )
    # then
    nadia = Client.objects.get(external_ref="C-2")
    referral = Referral.objects.get()
    assert (
        referral.referrer,
        referral.referred,
        referral.source,
        referral.recorded_at,
        referral.recorded_by,
    ) == (grace, nadia, ReferralSource.EVENT, AT_UTC, None)
    assert thanks() == [(grace.pk, f"referral_thanks:{referral.pk}")]


def test_the_same_event_or_the_same_referral_again_changes_nothing(store_a):
    # given
    grace = emailable(store_a, external_ref="C-1")
    client = {"id": "C-2", "first_name": "Nadia", "referred_by": {"id": "C-1"}}
    first = upserted(client, store=store_a)
    # when: the same event delivered and processed again, then a later upsert saying the same
    replay, created = store_event(
        event_id="pos:1",
        type="client.upserted",
        occurred_at=AT_UTC,
        data={"client": client},
        source="api",
        store=store_a,
    )
    again = process_event(replay, now=NOW + dt.timedelta(hours=1))
    upserted({**client, "last_name": "Klein"}, store=store_a, event_id="pos:2")
    # then
    assert (created, replay.pk, again) == (False, first.pk, None)
    assert list(Referral.objects.values_list("referrer", "referred__external_ref")) == [
        (grace.pk, "C-2")
    ]
    assert Client.objects.get(external_ref="C-2").last_name == "Klein"
    assert [client_id for client_id, _ in thanks()] == [grace.pk]


def test_an_existing_client_may_be_told_who_sent_them(store_a):
    # given
    grace = emailable(store_a, external_ref="C-1")
    nadia = emailable(store_a, external_ref="C-2")
    # when
    upserted({"id": "C-2", "referred_by": {"id": "C-1"}}, store=store_a)
    # then
    assert list(Referral.objects.values_list("referrer", "referred")) == [(grace.pk, nadia.pk)]
    assert Client.objects.count() == 2


def test_an_unknown_referrer_is_refused_with_its_path_and_nothing_is_written(store_a):
    # given
    emailable(store_a, external_ref="C-1")
    event = stored(
        {"client": {"id": "C-2", "first_name": "Nadia", "referred_by": {"id": "C-404"}}},
        store=store_a,
    )
    # when
    with pytest.raises(EventApplyError) as caught:
        process_event(event, now=NOW)
    # then
    assert str(caught.value) == (
        "data.client.referred_by: no client with id 'C-404' in store uptown "
        "(send client.upserted first)"
    )
    event.refresh_from_db()
    assert (event.processed_at, event.error) == (None, str(caught.value))
    assert not Client.objects.filter(external_ref="C-2").exists()
    assert not Referral.objects.exists()
    assert thanks() == []


def test_a_referrer_of_another_store_is_unknown_here(store_a, store_b):
    # given
    emailable(store_b, external_ref="C-1")
    event = stored(
        {"client": {"id": "C-2", "first_name": "Nadia", "referred_by": {"id": "C-1"}}},
        store=store_a,
    )
    # when
    with pytest.raises(EventApplyError) as caught:
        process_event(event, now=NOW)
    # then
    assert caught.value.path == "data.client.referred_by"
    assert "no client with id 'C-1' in store uptown" in caught.value.message
    assert not Client.objects.filter(store=store_a).exists()


def test_oneself_or_a_second_referrer_is_refused_and_the_client_stays_as_it_was(store_a):
    # given: Nadia was already sent by Grace
    grace = emailable(store_a, external_ref="C-1")
    tom = emailable(store_a, external_ref="C-3")
    nadia = emailable(store_a, external_ref="C-2", first_name="Nadia", last_name="Klein")
    record_referral(referrer=grace, referred=nadia, source=ReferralSource.PROFILE, now=AT_UTC)
    cases = [({"id": "C-2"}, "pos:self"), ({"id": "C-3"}, "pos:tom")]
    # when
    errors = []
    for referred_by, event_id in cases:
        event = stored(
            {"client": {"id": "C-2", "last_name": "Okafor", "referred_by": referred_by}},
            store=store_a,
            event_id=event_id,
        )
        with pytest.raises(EventApplyError) as caught:
            process_event(event, now=NOW)
        errors.append(str(caught.value))
    # then
    assert errors == [
        "data.client.referred_by: A client cannot refer themselves.",
        f"data.client.referred_by: Nadia Okafor was already referred by {grace.full_name}.",
    ]
    assert Client.objects.get(pk=nadia.pk).last_name == "Klein"
    assert list(Referral.objects.values_list("referrer", flat=True)) == [grace.pk]
    assert tom.referrals_made.count() == 0
    assert [client_id for client_id, _ in thanks()] == [grace.pk]


@pytest.mark.parametrize(
    ("referred_by", "problem"),
    [
        (
            {"name": "Grace"},
            "data.client.referred_by.name: is not a field here (known: email, id, phone)",
        ),
        ({}, "data.client.referred_by: needs the client's id, email or phone"),
        ({"email": "nope"}, 'data.client.referred_by.email: "nope" is not an email address'),
    ],
)
def test_referred_by_must_name_a_client_by_id_email_or_phone(store_a, referred_by, problem):
    # when
    with pytest.raises(InvalidEvent) as caught:
        parse_event(
            {
                "id": "pos:1",
                "type": "client.upserted",
                "occurred_at": "2026-03-14T15:20:00-05:00",
                "store": "uptown",
                "data": {"client": {"id": "C-2", "referred_by": referred_by}},
            }
        )
    # then
    assert [str(p) for p in caught.value.problems] == [problem]
