import datetime as dt

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from extramile.accounts.models import ApiToken
from tests.api_helpers import bearer
from tests.factories import ClientFactory, OrderFactory, ProductFactory

ROUTES = [
    ("get", "/api/v1/clients"),
    ("get", "/api/v1/clients/{client}"),
    ("post", "/api/v1/clients"),
    ("patch", "/api/v1/clients/{client}"),
    ("get", "/api/v1/products"),
    ("get", "/api/v1/products/{product}"),
    ("get", "/api/v1/orders"),
    ("get", "/api/v1/orders/{order}"),
]


def call(http, method, path, **headers):
    if method in ("post", "patch"):
        return getattr(http, method)(
            path, data={"first_name": "Zoe"}, content_type="application/json", **headers
        )
    return getattr(http, method)(path, **headers)


@pytest.fixture
def paths(store_a):
    order = OrderFactory(store=store_a)
    ids = {"client": order.client_id, "product": ProductFactory().pk, "order": order.pk}
    return [(method, path.format(**ids)) for method, path in ROUTES]


@pytest.mark.django_db
def test_every_route_answers_401_without_a_token(paths):
    # when
    answers = [(path, call(HttpClient(), method, path).status_code) for method, path in paths]
    # then
    assert answers == [(path, 401) for _, path in paths]


@pytest.mark.django_db
def test_every_route_answers_401_to_an_unknown_token(paths):
    # given
    headers = {"HTTP_AUTHORIZATION": "Bearer em_not-a-token"}
    # when
    answers = [
        (path, call(HttpClient(), method, path, **headers).status_code) for method, path in paths
    ]
    # then
    assert answers == [(path, 401) for _, path in paths]


@pytest.mark.django_db
def test_a_valid_token_opens_every_route(paths, manager_a):
    # given
    headers = bearer(manager_a)
    # when
    answers = [
        (path, call(HttpClient(), method, path, **headers).status_code) for method, path in paths
    ]
    # then
    expected = [200, 200, 201, 200, 200, 200, 200, 200]
    assert answers == [(path, code) for (_, path), code in zip(paths, expected, strict=True)]


@pytest.mark.django_db
def test_revoked_token_is_refused(associate_a):
    # given
    headers = bearer(associate_a)
    ApiToken.objects.filter(user=associate_a).update(revoked_at=timezone.now())
    # when
    response = HttpClient().get("/api/v1/clients", **headers)
    # then
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


@pytest.mark.django_db
def test_token_of_a_deactivated_user_is_refused(associate_a):
    # given
    headers = bearer(associate_a)
    assert HttpClient().get("/api/v1/clients", **headers).status_code == 200
    associate_a.is_active = False
    associate_a.save()
    # when
    response = HttpClient().get("/api/v1/clients", **headers)
    # then
    assert response.status_code == 401


@pytest.mark.django_db
def test_a_logged_in_session_does_not_open_the_api(web_as, associate_a):
    # given
    ClientFactory(store=associate_a.store)
    # when
    response = web_as(associate_a).get("/api/v1/clients")
    # then
    assert response.status_code == 401


@pytest.mark.django_db
def test_using_a_token_stamps_its_last_use(associate_a):
    # given
    headers = bearer(associate_a)
    token = ApiToken.objects.get(user=associate_a)
    assert token.last_used_at is None
    before = timezone.now()
    # when
    HttpClient().get("/api/v1/clients", **headers)
    # then
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert before <= token.last_used_at <= timezone.now() + dt.timedelta(seconds=1)


@pytest.mark.django_db
def test_openapi_schema_lists_the_routes_behind_a_bearer_scheme():
    # when
    response = HttpClient().get("/api/v1/openapi.json")
    # then
    assert response.status_code == 200
    schema = response.json()
    routes = {(method, path) for path, item in schema["paths"].items() for method in item}
    assert routes == {
        ("get", "/api/v1/clients"),
        ("post", "/api/v1/clients"),
        ("get", "/api/v1/clients/{client_id}"),
        ("patch", "/api/v1/clients/{client_id}"),
        ("get", "/api/v1/products"),
        ("get", "/api/v1/products/{product_id}"),
        ("get", "/api/v1/orders"),
        ("get", "/api/v1/orders/{order_id}"),
        ("post", "/api/v1/events"),
        ("get", "/api/v1/associates"),
        ("post", "/api/v1/associates/{username}/deactivate"),
        ("get", "/api/v1/programs/introductions"),
        ("get", "/api/v1/programs/introductions/{introduction_id}"),
        ("post", "/api/v1/programs/introductions/{introduction_id}/answers"),
        ("post", "/api/v1/programs/introductions/{introduction_id}/made"),
        ("get", "/api/v1/programs/stories"),
        ("post", "/api/v1/programs/stories"),
        ("get", "/api/v1/programs/offers"),
        ("post", "/api/v1/programs/offers"),
        ("delete", "/api/v1/programs/offers/{offer_id}"),
        ("get", "/api/v1/loyalty/surveys"),
        ("get", "/api/v1/loyalty/stages"),
        ("get", "/api/v1/loyalty/stages/movement"),
        ("get", "/api/v1/loyalty/referrals"),
        ("post", "/api/v1/loyalty/referrals"),
        ("get", "/api/v1/loyalty/plan"),
        ("post", "/api/v1/loyalty/plan/{item_id}/done"),
        ("post", "/api/v1/loyalty/plan/{item_id}/outcome"),
        ("get", "/api/v1/insights"),
        ("get", "/api/v1/problems"),
        ("post", "/api/v1/problems"),
        ("get", "/api/v1/problems/{problem_id}"),
        ("post", "/api/v1/problems/{problem_id}/start"),
        ("post", "/api/v1/problems/{problem_id}/resolve"),
        ("get", "/api/v1/promises"),
        ("post", "/api/v1/promises"),
        ("post", "/api/v1/promises/{promise_id}/keep"),
    }
    assert schema["components"]["securitySchemes"] == {
        "ApiTokenAuth": {"type": "http", "scheme": "bearer"}
    }
    securities = {
        (method, path): operation.get("security")
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    assert set(map(str, securities.values())) == {str([{"ApiTokenAuth": []}])}


@pytest.mark.django_db
def test_docs_page_is_served():
    # when
    response = HttpClient().get("/api/v1/docs")
    # then
    assert response.status_code == 200
    assert b"/api/v1/openapi.json" in response.content
