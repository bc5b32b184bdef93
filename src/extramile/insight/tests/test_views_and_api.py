import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from extramile.insight.tables import TABLES
from extramile.moments.attribution import attribute_orders
from tests.api_helpers import get
from tests.factories import ActionFactory, ClientFactory, OrderFactory

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def marketing_history(store, associate, *, contacted=60, held_out=30):
    """Birthday actions due 30 days ago: a third of the contacted bought, a tenth of the rest."""
    due = timezone.now() - 30 * DAY
    for n in range(contacted + held_out):
        held = n >= contacted
        client = ClientFactory(store=store)
        ActionFactory(
            store=store,
            client=client,
            associate=associate,
            kind="important_date",
            state="held_out" if held else "done",
            completed_at=None if held else due,
            due_at=due,
            holdout_draw=0.05 if held else 0.5,
        )
        if (held and n % 10 == 0) or (not held and n % 3 == 0):
            OrderFactory(store=store, client=client, placed_at=due + 2 * DAY, total=Decimal("150"))
    attribute_orders(now=timezone.now())


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_a_manager_sees_the_lift_of_their_store(web_as, manager_a, associate_a):
    # given
    marketing_history(manager_a.store, associate_a)
    # when
    response = web_as(manager_a).get("/insights/")
    # then
    assert response.status_code == 200
    page = response.content.decode()
    lift = response.context["insight"].lift
    row = next(r for r in lift if r.kind == "important_date")
    assert (row.treated.n, row.treated.buyers, row.control.n, row.control.buyers) == (60, 20, 30, 3)
    assert "20 / 60 (33.3%)" in page
    assert "3 / 30 (10.0%)" in page
    assert '<svg class="chart lift-chart"' in page
    assert "Important date: +23.3 pts (95% CI" in page
    assert 'href="/insights/lift.csv?store=uptown&amp;from=' in page


def test_another_store_or_another_associate_is_not_found(
    web_as, manager_a, associate_a, associate_b, store_b
):
    # when / then: a manager cannot read another store
    assert web_as(manager_a).get("/insights/", {"store": store_b.code}).status_code == 404
    assert web_as(manager_a).get("/insights/lift.csv", {"store": store_b.code}).status_code == 404
    # nor an associate of another store
    assert web_as(manager_a).get("/insights/", {"associate": "ben"}).status_code == 404
    # an associate sees only their own numbers, never a colleague's
    assert web_as(associate_a).get("/insights/", {"associate": "mia"}).status_code == 404
    # and nobody anonymous sees anything
    anonymous = HttpClient().get("/insights/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/")


def test_an_associate_sees_their_own_numbers_only(web_as, store_a, associate_a, manager_a):
    # given: Ana made one contact, Mia (her manager) three
    for who, count in ((associate_a, 1), (manager_a, 3)):
        for _ in range(count):
            ActionFactory(
                store=store_a, associate=who, state="done", completed_at=timezone.now() - DAY
            )
    # when
    response = web_as(associate_a).get("/insights/")
    # then
    insight = response.context["insight"]
    assert insight.associate == associate_a
    assert [(row.name, row.done) for row in insight.associates] == [(associate_a.display_name, 1)]
    assert insight.totals.done == 1
    # and no filter offers the colleagues
    assert 'name="associate"' not in response.content.decode()


def test_an_admin_picks_the_store(web_as, admin_user, store_a, store_b, associate_b):
    # given
    ActionFactory(store=store_b, associate=associate_b, state="done", completed_at=timezone.now())
    # when
    response = web_as(admin_user).get("/insights/", {"store": "harbour"})
    # then
    assert response.context["filters"].store == store_b
    assert response.context["insight"].totals.done == 1
    assert '<option value="uptown">Uptown</option>' in response.content.decode()


def test_a_bad_period_is_explained(web_as, manager_a):
    # when
    response = web_as(manager_a).get("/insights/", {"from": "2026-03-01", "to": "2026-02-01"})
    # then
    assert response.status_code == 400
    assert "The period ends before it begins." in response.content.decode()


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_table_downloads_as_csv_with_the_pages_filters(web_as, manager_a, table):
    # given
    params = {"from": "2026-01-01", "to": "2026-03-01"}
    # when
    response = web_as(manager_a).get(f"/insights/{table}.csv", params)
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="uptown-{table}-2026-01-01-2026-03-01.csv"'
    )
    page = web_as(manager_a).get("/insights/", params)
    expected = page.context["tables"][table]
    rows = read_csv(response)
    assert rows[0] == expected.columns
    assert len(rows) == len(expected.rows) + 1


def test_an_unknown_table_is_not_found(web_as, manager_a):
    assert web_as(manager_a).get("/insights/secrets.csv").status_code == 404


def test_the_api_the_page_and_the_csv_agree(web_as, manager_a, associate_a):
    # given
    marketing_history(manager_a.store, associate_a)
    # when
    api = get(manager_a, "/api/v1/insights", store="uptown")
    exported = read_csv(web_as(manager_a).get("/insights/lift.csv", {"store": "uptown"}))
    page = web_as(manager_a).get("/insights/", {"store": "uptown"}).content.decode()
    # then
    assert api.status_code == 200
    body = api.json()
    assert (body["store"], body["associate"], body["attribution_days"]) == ("uptown", None, 14)
    [from_api] = [r for r in body["tables"]["lift"] if r["kind"] == "important_date"]
    header, *rows = exported
    [from_csv] = [dict(zip(header, r, strict=True)) for r in rows if r[0] == "important_date"]
    columns = ("contacted_actions", "held_out_buyers", "conversion_low_95", "conversion_high_95")
    for column in columns:
        assert str(from_api[column]) == from_csv[column]
    low, high = from_api["conversion_low_95"], from_api["conversion_high_95"]
    assert f"({low * 100:+.1f} pts to {high * 100:+.1f} pts)" in page
    assert from_api["verdict"] == "lift"
    # and the other tables come too
    assert set(body["tables"]) == set(TABLES)


def test_the_api_is_scoped_and_checks_dates(manager_a, associate_a, store_b):
    assert get(manager_a, "/api/v1/insights", store=store_b.code).status_code == 404
    assert get(associate_a, "/api/v1/insights", associate="mia").status_code == 404
    mine = get(associate_a, "/api/v1/insights")
    assert (mine.status_code, mine.json()["associate"]) == (200, "ana")
    backwards = get(manager_a, "/api/v1/insights", **{"from": "2026-03-01", "to": "2026-01-01"})
    assert backwards.status_code == 422
    assert HttpClient().get("/api/v1/insights").status_code == 401
