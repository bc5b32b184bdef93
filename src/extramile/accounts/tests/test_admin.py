import datetime as dt

import pytest
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.test import Client as HttpClient
from django.urls import reverse

from extramile.accounts.models import Absence, ApiToken, ClientHandover, Role, User
from extramile.care.models import OnCallShift, OpeningHours, Problem, Promise
from extramile.catalog.models import Photo, Sale, Stock
from extramile.clients.models import Client, Consent, Need, Note, Size
from extramile.ingest.models import InboundEvent
from extramile.loyalty.models import (
    LoyaltyRules,
    PlanItem,
    Referral,
    StageSnapshot,
    Survey,
)
from extramile.orders.models import Refund
from extramile.programs.models import Introduction, Offer, Story
from tests.factories import (
    ClientFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    StockFactory,
    UserFactory,
    VariantFactory,
)


def logged_in(user):
    http = HttpClient()
    http.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return http


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def changelist_url(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def listed(response):
    return {obj.pk for obj in response.context["cl"].result_list}


def client_form(client, **changes):
    """The POST body of the client change form, with every inline empty."""
    data = {
        "store": client.store_id,
        "primary_associate": client.primary_associate_id or "",
        "status": client.status,
        "first_name": client.first_name,
        "last_name": client.last_name,
        "language": client.language,
        "time_zone": client.time_zone,
        "email": client.email,
        "phone": client.phone,
        "address": client.address,
        "external_ref": client.external_ref,
    }
    for prefix in (
        "contact_points",
        "consents",
        "sizes",
        "preferences",
        "important_dates",
        "needs",
        "notes",
        "relations",
    ):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(changes)
    return data


@pytest.mark.django_db
def test_associate_is_sent_to_the_admin_login(associate_a, store_b):
    # given
    theirs = ClientFactory(store=store_b)
    http = logged_in(associate_a)
    # when
    changelist = http.get(changelist_url(Client))
    change = http.get(change_url(theirs))
    # then
    assert (changelist.status_code, changelist["Location"]) == (
        302,
        "/admin/login/?next=/admin/clients/client/",
    )
    assert (change.status_code, change["Location"]) == (
        302,
        f"/admin/login/?next=/admin/clients/client/{theirs.pk}/change/",
    )


@pytest.mark.django_db
def test_manager_changelist_shows_only_their_store_clients(manager_a, store_a, store_b):
    # given
    ours = ClientFactory(store=store_a)
    ClientFactory(store=store_b)
    # when
    response = logged_in(manager_a).get(changelist_url(Client))
    # then
    assert response.status_code == 200
    assert listed(response) == {ours.pk}


@pytest.mark.django_db
def test_manager_opening_another_stores_client_is_sent_to_the_admin_index(manager_a, store_b):
    # given
    theirs = ClientFactory(store=store_b, first_name="Ben")
    # when
    response = logged_in(manager_a).get(change_url(theirs))
    # then
    assert (response.status_code, response["Location"]) == (302, "/admin/")


@pytest.mark.django_db
def test_manager_post_to_another_stores_client_changes_nothing(manager_a, store_b):
    # given
    theirs = ClientFactory(store=store_b, first_name="Ben")
    # when
    response = logged_in(manager_a).post(
        change_url(theirs), client_form(theirs, first_name="Hacked")
    )
    # then
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    theirs.refresh_from_db()
    assert theirs.first_name == "Ben"


@pytest.mark.django_db
def test_manager_changes_their_own_client_and_notes_are_signed(manager_a, store_a, associate_a):
    # given
    ours = ClientFactory(store=store_a, first_name="Ada", email="ada@example.com")
    body = client_form(
        ours,
        first_name="Ada Augusta",
        email=" ADA@Example.com ",
        primary_associate=associate_a.pk,
        **{"notes-TOTAL_FORMS": "1", "notes-0-body": "Prefers calls", "notes-0-created_at_0": ""},
    )
    body["notes-0-created_at_0"] = "2025-03-01"
    body["notes-0-created_at_1"] = "09:30:00"
    # when
    response = logged_in(manager_a).post(change_url(ours), body)
    # then
    assert (response.status_code, response["Location"]) == (302, changelist_url(Client))
    ours.refresh_from_db()
    assert (ours.first_name, ours.email, ours.primary_associate) == (
        "Ada Augusta",
        "ada@example.com",
        associate_a,
    )
    assert list(Note.objects.values_list("body", "author__username")) == [("Prefers calls", "mia")]


@pytest.mark.django_db
def test_manager_cannot_move_a_client_or_give_it_another_stores_associate(
    manager_a, store_a, store_b, associate_b
):
    # given
    ours = ClientFactory(store=store_a, first_name="Ada")
    http = logged_in(manager_a)
    # when
    moved = http.post(change_url(ours), client_form(ours, store=store_b.pk))
    given_away = http.post(change_url(ours), client_form(ours, primary_associate=associate_b.pk))
    # then
    assert moved.status_code == 200
    assert moved.context["adminform"].form.errors == {
        "store": ["Select a valid choice. That choice is not one of the available choices."]
    }
    assert given_away.status_code == 200
    assert given_away.context["adminform"].form.errors == {
        "primary_associate": [
            "Select a valid choice. That choice is not one of the available choices."
        ]
    }
    ours.refresh_from_db()
    assert (ours.store, ours.primary_associate) == (store_a, None)


@pytest.mark.django_db
def test_manager_form_offers_only_their_store_and_staff(manager_a, associate_a, associate_b):
    # given
    ours = ClientFactory(store=manager_a.store)
    # when
    response = logged_in(manager_a).get(change_url(ours))
    # then
    form = response.context["adminform"].form
    assert list(form.fields["store"].queryset) == [manager_a.store]
    assert set(form.fields["primary_associate"].queryset) == {associate_a, manager_a}


@pytest.mark.django_db
def test_save_model_refuses_a_store_outside_the_managers_even_past_the_form(manager_a, store_b, rf):
    # given
    client_admin = admin.site._registry[Client]
    request = rf.post("/admin/clients/client/add/")
    request.user = manager_a
    client = Client(store=store_b, first_name="Sneaky")

    class Form:
        changed_data = ["store"]

    # when / then
    with pytest.raises(PermissionDenied, match="outside your store"):
        client_admin.save_model(request, client, Form(), change=False)
    assert Client.objects.count() == 0


@pytest.mark.django_db
def test_admin_sees_and_opens_clients_of_every_store(admin_user, store_a, store_b):
    # given
    ours = ClientFactory(store=store_a)
    theirs = ClientFactory(store=store_b)
    http = logged_in(admin_user)
    # when
    changelist = http.get(changelist_url(Client))
    change = http.get(change_url(theirs))
    # then
    assert listed(changelist) == {ours.pk, theirs.pk}
    assert change.status_code == 200


@pytest.mark.django_db
def test_manager_sees_only_their_store_orders_and_staff(
    manager_a, associate_a, associate_b, admin_user, store_a, store_b
):
    # given
    ours = OrderFactory(store=store_a)
    theirs = OrderFactory(store=store_b)
    http = logged_in(manager_a)
    # when
    orders = http.get(changelist_url(type(ours)))
    their_order = http.get(change_url(theirs))
    staff = http.get(changelist_url(User))
    their_staff = http.get(change_url(associate_b))
    # then
    assert listed(orders) == {ours.pk}
    assert (their_order.status_code, their_order["Location"]) == (302, "/admin/")
    assert listed(staff) == {associate_a.pk, manager_a.pk}
    assert (their_staff.status_code, their_staff["Location"]) == (302, "/admin/")


@pytest.mark.django_db
def test_manager_cannot_make_an_admin(manager_a, associate_a):
    # given
    http = logged_in(manager_a)
    # when
    form = http.get(change_url(associate_a)).context["adminform"].form
    # then
    assert [value for value, _ in form.fields["role"].choices] == ["associate", "manager"]


@pytest.mark.django_db
def test_manager_adds_staff_only_to_their_store(manager_a, store_a, store_b):
    # given
    http = logged_in(manager_a)
    body = {
        "username": "newbie",
        "usable_password": "false",
        "role": "associate",
        "first_name": "New",
        "last_name": "Bie",
        "email": "",
    }
    # when
    elsewhere = http.post(reverse("admin:accounts_user_add"), {**body, "store": store_b.pk})
    here = http.post(reverse("admin:accounts_user_add"), {**body, "store": store_a.pk})
    # then
    assert elsewhere.status_code == 200
    assert "store" in elsewhere.context["adminform"].form.errors
    assert here.status_code == 302
    newbie = User.objects.get(username="newbie")
    assert (newbie.store, newbie.role, newbie.is_staff) == (store_a, Role.ASSOCIATE, False)


@pytest.mark.django_db
def test_catalog_is_read_only_for_managers_and_stock_scoped(manager_a, store_a, store_b):
    # given
    product = ProductFactory(title="Navy suit")
    variant = VariantFactory(product=product)
    ours = StockFactory(variant=variant, store=store_a, quantity=2)
    StockFactory(variant=variant, store=store_b, quantity=5)
    http = logged_in(manager_a)
    # when
    product_page = http.get(change_url(product))
    product_post = http.post(change_url(product), {"title": "Renamed"})
    stock_list = http.get(changelist_url(Stock))
    variant_page = http.get(change_url(variant))
    # then
    assert product_page.status_code == 200
    assert product_page.context["has_change_permission"] is False
    assert product_post.status_code == 403
    product.refresh_from_db()
    assert product.title == "Navy suit"
    assert listed(stock_list) == {ours.pk}
    stock_formset = next(
        f for f in variant_page.context["inline_admin_formsets"] if f.formset.model is Stock
    )
    assert [form.instance.pk for form in stock_formset.formset.forms] == [ours.pk]


@pytest.mark.django_db
def test_manager_changes_their_stock_but_not_another_stores(manager_a, store_a, store_b):
    # given
    ours = StockFactory(store=store_a, quantity=2)
    theirs = StockFactory(store=store_b, quantity=5)
    http = logged_in(manager_a)
    body = {"quantity": "7"}
    # when
    mine = http.post(change_url(ours), {**body, "variant": ours.variant_id, "store": store_a.pk})
    other = http.post(
        change_url(theirs), {**body, "variant": theirs.variant_id, "store": store_b.pk}
    )
    # then
    assert mine.status_code == 302
    assert (other.status_code, other["Location"]) == (302, "/admin/")
    assert list(Stock.objects.order_by("store__code").values_list("quantity", flat=True)) == [5, 7]


@pytest.mark.django_db
def test_token_admin_shows_prefixes_and_revokes(manager_a, associate_a, associate_b):
    # given
    ours, raw = ApiToken.issue(associate_a)
    theirs, _ = ApiToken.issue(associate_b)
    http = logged_in(manager_a)
    # when
    changelist = http.get(changelist_url(ApiToken))
    revoke = http.post(
        changelist_url(ApiToken),
        {"action": "revoke", "_selected_action": [ours.pk, theirs.pk]},
    )
    # then
    assert listed(changelist) == {ours.pk}
    assert f"{ours.prefix}…" in changelist.content.decode()
    assert raw not in changelist.content.decode()
    assert ours.key_hash not in changelist.content.decode()
    assert revoke.status_code == 302
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.revoked_at is not None
    assert theirs.revoked_at is None
    assert ApiToken.objects.active_for_secret(raw) is None


@pytest.mark.django_db
def test_event_log_and_tags_rights(manager_a, admin_user):
    # given
    manager_http = logged_in(manager_a)
    admin_http = logged_in(admin_user)
    # when
    manager_events = manager_http.get(reverse("admin:ingest_inboundevent_changelist"))
    admin_events = admin_http.get(reverse("admin:ingest_inboundevent_changelist"))
    admin_add_event = admin_http.get(reverse("admin:ingest_inboundevent_add"))
    # then
    assert manager_events.status_code == 403
    assert admin_events.status_code == 200
    assert admin_add_event.status_code == 403


@pytest.mark.django_db
def test_admin_index_lists_what_a_manager_may_reach(manager_a):
    # when
    response = logged_in(manager_a).get("/admin/")
    # then
    models = {
        model["object_name"] for app in response.context["app_list"] for model in app["models"]
    }
    assert models == {
        "Store",
        "User",
        "ApiToken",
        "Absence",
        "ClientHandover",
        "Client",
        "Tag",
        "Product",
        "Variant",
        "Stock",
        "Sale",
        "Order",
        "StoreRules",
        "Problem",
        "Promise",
        "OpeningHours",
        "OnCallShift",
        "LoyaltyRules",
        "Survey",
        "Referral",
        "StageSnapshot",
        "PlanItem",
        "Offer",
        "Introduction",
        "Story",
    }


@pytest.mark.django_db
def test_deactivated_manager_is_sent_to_the_admin_login(store_a):
    # given
    manager = UserFactory(username="gone", role=Role.MANAGER, store=store_a)
    http = logged_in(manager)
    manager.is_active = False
    manager.save()
    # when
    response = http.get(changelist_url(Client))
    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_manager_autocomplete_offers_only_their_store_clients(manager_a, store_a, store_b):
    # given
    ours = ClientFactory(store=store_a, last_name="Lovelace")
    ClientFactory(store=store_b, last_name="Lovelace")
    # when
    response = logged_in(manager_a).get(
        reverse("admin:autocomplete"),
        {"app_label": "orders", "model_name": "order", "field_name": "client", "term": "love"},
    )
    # then
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(ours.pk)]


@pytest.mark.django_db
def test_manager_add_client_form_starts_in_their_store(manager_a):
    # when
    response = logged_in(manager_a).get(reverse("admin:clients_client_add"))
    # then
    assert response.status_code == 200
    assert response.context["adminform"].form.initial["store"] == manager_a.store_id


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin_user", "manager_a"])
def test_every_admin_page_renders(request, rf, who, store_a, associate_a):
    # given
    user = request.getfixturevalue(who)
    line = OrderLineFactory(order__store=store_a, order__client__primary_associate=associate_a)
    client = line.order.client
    client.tags.create(name="vip")
    Size.objects.create(client=client, category="Suits", size="40R")
    Consent.objects.create(client=client, channel="email", granted=True, source="form")
    Note.objects.create(client=client, author=associate_a, body="Likes navy")
    Refund.objects.create(order=line.order, external_ref="RF-1", amount=10)
    StockFactory(variant=line.variant, store=store_a)
    Sale.objects.create(
        store=store_a,
        name="Winter Sale",
        starts_on=dt.date(2026, 12, 3),
        ends_on=dt.date(2026, 12, 13),
        percent_off=25,
        category_prefixes=["Suits"],
    )
    Photo.objects.create(product=line.product, source_url="https://cdn.example.com/x.jpg")
    ApiToken.issue(associate_a)
    InboundEvent.objects.create(source="api", topic="clients", idempotency_key="k1")
    colleague = UserFactory(store=store_a)
    Absence.objects.create(
        user=associate_a,
        starts_on=dt.date(2025, 11, 17),
        ends_on=dt.date(2025, 11, 21),
        backup=colleague,
    )
    ClientHandover.objects.create(
        store=store_a,
        client=client,
        from_associate=colleague,
        to_associate=associate_a,
        why="fewest clients",
    )
    _one_of_each_program_record(store_a, client, associate_a)
    http = logged_in(user)
    answers = {}
    # when
    for model, model_admin in admin.site._registry.items():
        if not model.__module__.startswith("extramile."):
            continue
        name = f"{model._meta.app_label}.{model._meta.model_name}"
        as_user = rf.get("/admin/")
        as_user.user = user
        obj = model_admin.get_queryset(as_user).first()
        answers[name] = (
            http.get(changelist_url(model)).status_code,
            http.get(change_url(obj)).status_code if obj else None,
        )
    # then
    forbidden = 403 if who == "manager_a" else 200  # the event log is for admins only
    assert answers == {
        "accounts.store": (200, 200),
        "accounts.user": (200, 200),
        "accounts.apitoken": (200, 200),
        "accounts.absence": (200, 200),
        "accounts.clienthandover": (200, 200),
        "clients.client": (200, 200),
        "clients.tag": (200, 200),
        "catalog.product": (200, 200),
        "catalog.variant": (200, 200),
        "catalog.stock": (200, 200),
        "catalog.sale": (200, 200),
        "orders.order": (200, 200),
        "ingest.inboundevent": (forbidden, None if who == "manager_a" else 200),
        "moments.storerules": (200, None),
        "care.problem": (200, 200),
        "care.promise": (200, 200),
        "care.openinghours": (200, 200),
        "care.oncallshift": (200, 200),
        "loyalty.loyaltyrules": (200, 200),
        "loyalty.survey": (200, 200),
        "loyalty.referral": (200, 200),
        "loyalty.stagesnapshot": (200, 200),
        "loyalty.planitem": (200, 200),
        "programs.offer": (200, 200),
        "programs.introduction": (200, 200),
        "programs.story": (200, 200),
    }


def _one_of_each_program_record(store, client, associate) -> None:
    """A problem, a promise, a rota, loyalty and programs records: each admin page has a row."""
    now = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
    problem = Problem.objects.create(store=store, client=client, kind="defect")
    Promise.objects.create(
        store=store, client=client, problem=problem, text="Call back", due_at=now, made_by=associate
    )
    OpeningHours.objects.create(store=store, weekday=0, opens_at=dt.time(10), closes_at=dt.time(18))
    OnCallShift.objects.create(
        store=store, associate=associate, starts_at=now, ends_at=now + dt.timedelta(hours=12)
    )
    LoyaltyRules.objects.create(store=store)
    Survey.objects.create(store=store, client=client, trigger="purchase")
    friend = ClientFactory(store=store)
    Referral.objects.create(store=store, referrer=client, referred=friend, source="profile")
    StageSnapshot.objects.create(
        store=store, client=client, month=dt.date(2026, 11, 1), stage="new"
    )
    PlanItem.objects.create(
        store=store,
        associate=associate,
        client=client,
        week=dt.date(2026, 11, 16),
        why="newly_at_risk",
        stage="at_risk",
        reason="Slipping away",
    )
    offer = Offer.objects.create(client=friend, text="caterer")
    need = Need.objects.create(client=client, text="Needs a caterer")
    Introduction.objects.create(
        store=store,
        offer=offer,
        need=need,
        offering_client=friend,
        needing_client=client,
        score=1.0,
    )
    Story.objects.create(
        store=store, author=associate, happened_on=now.date(), what_happened="Delivered a hem"
    )
