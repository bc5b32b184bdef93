"""The store rules in the back office: the refund timing and surprise limit are edited there."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from extramile.moments.governance import rules_for
from extramile.moments.models import StoreRules

pytestmark = pytest.mark.django_db


def change_url(rules: StoreRules) -> str:
    return reverse("admin:moments_storerules_change", args=[rules.pk])


def form_of(rules: StoreRules, **changes: object) -> dict[str, object]:
    """The change form's POST body: every field as it stands, with the changes made."""
    data = {key: value for key, value in model_to_dict(rules).items() if key != "id"}
    data.update(changes)
    for key, value in data.items():
        if isinstance(value, dt.time):
            data[key] = value.strftime("%H:%M")
    return data


def test_a_new_stores_rules_keep_the_timing_and_limit_the_detectors_used_before(store_a):
    # when
    rules = rules_for(store_a)
    # then
    assert rules.refund_timing == "3 to 5 business days"
    assert rules.surprise_limit == Decimal("50.00")


def test_an_admin_changes_a_stores_refund_timing_and_surprise_limit(store_a, admin_user, web_as):
    # given
    rules = rules_for(store_a)
    # when
    response = web_as(admin_user).post(
        change_url(rules),
        form_of(rules, refund_timing="5 to 10 business days", surprise_limit="35.00"),
    )
    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    rules.refresh_from_db()
    assert (rules.refund_timing, rules.surprise_limit) == ("5 to 10 business days", Decimal("35"))


def test_a_manager_changes_their_own_stores_rules_and_not_another_stores(
    store_a, store_b, manager_a, web_as
):
    # given
    own, other = rules_for(store_a), rules_for(store_b)
    web = web_as(manager_a)
    # when
    changed = web.post(change_url(own), form_of(own, refund_timing="2 business days"))
    refused = web.post(change_url(other), form_of(other, refund_timing="2 business days"))
    # then
    assert changed.status_code == 302
    assert refused.status_code == 302  # to the index: "doesn't exist", as another store's row
    own.refresh_from_db()
    other.refresh_from_db()
    assert (own.refund_timing, other.refund_timing) == ("2 business days", "3 to 5 business days")


def test_the_rules_list_shows_the_service_call_rules(store_a, admin_user, web_as):
    # given
    rules_for(store_a)
    # when
    response = web_as(admin_user).get(reverse("admin:moments_storerules_changelist"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "3 to 5 business days" in html
    assert "50.00" in html
