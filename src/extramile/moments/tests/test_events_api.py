import pytest
from django.test import Client as HttpClient

from extramile.catalog.models import Product
from extramile.moments.models import Event
from tests.api_helpers import bearer
from tests.factories import ProductFactory

AT = "2026-03-14T15:20:00-05:00"

pytestmark = pytest.mark.django_db


def post(user, body, *, headers=None):
    headers = headers if headers is not None else bearer(user)
    return HttpClient().post(
        "/api/v1/events", data=body, content_type="application/json", **headers
    )


def fulfilled(event_id, **fields):
    return {
        "id": event_id,
        "type": "order.fulfilled",
        "occurred_at": AT,
        "data": {"order": {"id": "W-1"}},
        **fields,
    }


def test_one_event_is_accepted_for_the_posters_own_store(associate_a, store_a):
    # when
    response = post(associate_a, fulfilled("evt-1"))

    # then
    event = Event.objects.get()
    assert response.status_code == 202
    assert response.json() == {"events": [{"id": "evt-1", "event": event.pk, "status": "created"}]}
    assert (event.store, event.source, event.type) == (store_a, "api", "order.fulfilled")


def test_a_batch_is_recorded_in_order_and_a_replay_is_a_duplicate(manager_a):
    # given
    post(manager_a, fulfilled("evt-1"))

    # when
    response = post(manager_a, {"events": [fulfilled("evt-2", store="uptown"), fulfilled("evt-1")]})

    # then
    assert response.status_code == 202
    assert [(e["id"], e["status"]) for e in response.json()["events"]] == [
        ("evt-2", "created"),
        ("evt-1", "duplicate"),
    ]
    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["evt-1", "evt-2"]


def test_a_json_array_is_a_batch_too(admin_user, store_b):
    # when
    response = post(admin_user, [fulfilled("evt-1", store="harbour")])

    # then
    assert response.status_code == 202
    assert Event.objects.get().store == store_b


def test_without_a_token_nothing_is_stored():
    # when
    response = post(None, fulfilled("evt-1"), headers={})
    wrong = post(None, fulfilled("evt-1"), headers={"HTTP_AUTHORIZATION": "Bearer em_nope"})

    # then
    assert (response.status_code, wrong.status_code) == (401, 401)
    assert Event.objects.count() == 0


def test_an_associate_may_not_post_for_another_store(associate_a, store_b):
    # when
    response = post(
        associate_a, {"events": [fulfilled("evt-1"), fulfilled("evt-2", store="harbour")]}
    )

    # then
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Event 1 (evt-2) is for store harbour; you may post events for your own "
        "store only (uptown)."
    }
    assert Event.objects.count() == 0


def test_only_managers_deactivate_staff(associate_a, manager_a):
    # given
    event = {
        "id": "evt-1",
        "type": "associate.deactivated",
        "occurred_at": AT,
        "data": {"associate": {"username": "ana"}},
    }

    # when
    by_associate = post(associate_a, event)
    by_manager = post(manager_a, event)

    # then
    assert by_associate.status_code == 403
    assert by_manager.status_code == 202


def test_a_bad_event_refuses_the_whole_batch_naming_each_field(associate_a):
    # when
    response = post(
        associate_a,
        {
            "events": [
                fulfilled("evt-1"),
                fulfilled("evt-2", occurred_at="2026-03-14T15:20:00", data={"order": {}}),
            ]
        },
    )

    # then
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "value_error",
                "loc": ["body", "events", 1, "occurred_at"],
                "msg": '"2026-03-14T15:20:00" is not a date and time with an offset, such as '
                "2026-03-14T15:20:00-05:00 (a time without its offset is refused: say which "
                "time zone it is in)",
            },
            {
                "type": "value_error",
                "loc": ["body", "events", 1, "data", "order", "id"],
                "msg": "is required",
            },
        ]
    }
    assert Event.objects.count() == 0


def test_a_body_that_is_not_json_is_a_bad_request(associate_a):
    # when
    response = post(associate_a, "{not json")

    # then
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The body is not JSON (")


def test_an_accepted_event_is_processed_within_the_request(
    associate_a, django_capture_on_commit_callbacks
):
    # given
    ProductFactory(external_ref="SU-NAVY", arrived_on=None)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            associate_a,
            {
                "id": "evt-1",
                "type": "product.arrived",
                "occurred_at": AT,
                "data": {"product": {"id": "SU-NAVY"}, "arrived_on": "2026-03-14"},
            },
        )

    # then
    assert response.status_code == 202
    assert Event.objects.get().processed_at is not None
    assert str(Product.objects.get().arrived_on) == "2026-03-14"
