import datetime as dt
import json
import random

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from extramile.clients.duplicates import (
    MergeError,
    _move_rows,
    find_duplicate_groups,
    merge_clients,
    resolve_merged,
)
from extramile.clients.models import (
    Client,
    ClientStatus,
    Consent,
    ContactKind,
    ContactPoint,
    DateKind,
    ImportantDate,
    Need,
    Note,
    Preference,
    PreferenceSource,
    Relation,
    RelationKind,
    Size,
    Tag,
)
from extramile.clients.services import current_consents
from extramile.orders.models import Order
from tests.factories import ClientFactory, OrderFactory, StoreFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)


def ids_of(groups):
    return [[member.id for member in group.members] for group in groups]


# --- finding ------------------------------------------------------------------------------------


def test_groups_emails_differing_only_in_case_and_spaces(store_a):
    # given
    ann = ClientFactory(store=store_a, email="ann@example.com", created_at=T0)
    ann_again = ClientFactory(
        store=store_a, email="  Ann@Example.COM ", created_at=T0 + dt.timedelta(days=1)
    )
    ClientFactory(store=store_a, email="bob@example.com")
    # when
    groups = find_duplicate_groups(Client.objects.all())
    # then
    assert ids_of(groups) == [[ann.pk, ann_again.pk]]
    assert groups[0].shared == ("ann@example.com",)
    assert groups[0].store_code == "uptown"


def test_groups_phones_written_in_different_formats(store_a):
    # given
    one = ClientFactory(store=store_a, email="", phone="(415) 555-0123", created_at=T0)
    two = ClientFactory(
        store=store_a, email="", phone="+1 415 555 0123", created_at=T0 + dt.timedelta(days=1)
    )
    ClientFactory(store=store_a, email="", phone="+1 415 555 0124")
    # when
    groups = find_duplicate_groups(Client.objects.all())
    # then
    assert ids_of(groups) == [[one.pk, two.pk]]
    assert groups[0].shared == ("+14155550123",)
    assert groups[0].keep.phones == ("+14155550123",)


def test_ignores_blank_and_unparseable_values(store_a):
    # given: shared values that are no email or phone at all
    ClientFactory(store=store_a, email="", phone="n/a")
    ClientFactory(store=store_a, email="", phone="n/a")
    ClientFactory(store=store_a, email="not-an-email", phone="12")
    ClientFactory(store=store_a, email="not-an-email", phone="12")
    # when
    groups = find_duplicate_groups(Client.objects.all())
    # then
    assert groups == []


def test_finds_values_shared_through_contact_points(store_a):
    # given
    ann = ClientFactory(store=store_a, email="ann@example.com", created_at=T0)
    work = ClientFactory(store=store_a, email="ann@work.com", created_at=T0 + dt.timedelta(1))
    ContactPoint.objects.create(client=ann, kind=ContactKind.EMAIL, value="ann@work.com")
    # when
    groups = find_duplicate_groups(Client.objects.all())
    # then
    assert ids_of(groups) == [[ann.pk, work.pk]]
    assert groups[0].keep.emails == ("ann@example.com", "ann@work.com")


def test_links_are_followed_across_email_and_phone(store_a):
    # given: a shares an email with b, b a phone with c; d stands alone
    a = ClientFactory(store=store_a, email="a@example.com", phone="", created_at=T0)
    b = ClientFactory(
        store=store_a,
        email="A@example.com",
        phone="+14155550100",
        created_at=T0 + dt.timedelta(days=1),
    )
    c = ClientFactory(
        store=store_a, email="c@example.com", phone="415-555-0100", created_at=T0 + dt.timedelta(2)
    )
    ClientFactory(store=store_a, email="d@example.com", phone="+14155550199")
    # when
    groups = find_duplicate_groups(Client.objects.all())
    # then
    assert ids_of(groups) == [[a.pk, b.pk, c.pk]]
    assert groups[0].shared == ("+14155550100", "a@example.com")


def test_never_groups_clients_of_different_stores(store_a, store_b):
    # given
    ClientFactory(store=store_a, email="ann@example.com")
    ClientFactory(store=store_b, email="ann@example.com")
    in_b = ClientFactory(store=store_b, email="ANN@example.com", created_at=T0)
    # when
    groups = find_duplicate_groups(Client.objects.all())
    # then
    assert len(groups) == 1
    assert groups[0].store_code == "harbour"
    assert groups[0].keep.id == in_b.pk
    assert len(groups[0].others) == 1


def test_leaves_out_merged_clients_and_their_contact_points(store_a):
    # given
    keep = ClientFactory(store=store_a, email="ann@example.com")
    gone = ClientFactory(
        store=store_a, email="ann@example.com", status=ClientStatus.MERGED, merged_into=keep
    )
    ContactPoint.objects.create(client=gone, kind=ContactKind.PHONE, value="+14155550123")
    ClientFactory(store=store_a, email="", phone="+14155550123")
    # when
    groups = find_duplicate_groups(Client.objects.all())
    # then
    assert groups == []


def test_keeps_the_client_with_most_orders_then_the_oldest(store_a):
    # given
    oldest = ClientFactory(store=store_a, email="ann@example.com", created_at=T0)
    buyer = ClientFactory(store=store_a, email="ann@example.com", created_at=T0 + dt.timedelta(9))
    older = ClientFactory(store=store_a, email="ann@example.com", created_at=T0 + dt.timedelta(1))
    OrderFactory.create_batch(2, store=store_a, client=buyer)
    # when
    groups = find_duplicate_groups(Client.objects.all())
    # then
    assert groups[0].keep.id == buyer.pk
    assert groups[0].keep.order_count == 2
    assert [other.id for other in groups[0].others] == [oldest.pk, older.pk]


def test_finding_runs_a_fixed_number_of_queries(store_a, django_assert_num_queries):
    # given: 20 pairs and 20 single clients
    for n in range(20):
        ClientFactory(store=store_a, email=f"pair{n}@example.com")
        ClientFactory(store=store_a, email=f"PAIR{n}@example.com")
        ClientFactory(store=store_a, email=f"single{n}@example.com")
    OrderFactory(store=store_a, client=Client.objects.first())
    # when / then: the clients with their order counts, and the contact points
    with django_assert_num_queries(2):
        groups = find_duplicate_groups(Client.objects.all())
    assert len(groups) == 20


# --- merging ------------------------------------------------------------------------------------


def test_merge_moves_every_order_note_consent_and_need(store_a, associate_a):
    # given
    keep = ClientFactory(store=store_a, email="ann@example.com")
    other = ClientFactory(store=store_a, email="ann@example.com")
    OrderFactory.create_batch(2, store=store_a, client=keep)
    OrderFactory.create_batch(3, store=store_a, client=other)
    for client in (keep, other):
        Note.objects.create(client=client, body=f"note on {client.pk}")
        Need.objects.create(client=client, text="a recorder for interviews")
        Consent.objects.create(client=client, channel="email", granted=True, source="form")
    Consent.objects.create(client=other, channel="sms", granted=False, source="call")
    # when
    merge_clients(keep=keep, others=[other], by=associate_a)
    # then
    assert keep.orders.count() == 5
    assert keep.notes.count() == 2 + 1  # the merge note
    assert keep.consents.count() == 3
    assert keep.needs.count() == 2
    assert Order.objects.filter(client=other).count() == 0
    assert other.consents.count() == 0


def test_latest_consent_per_channel_stays_in_force_after_merge(store_a):
    # given: the other record holds the later opt-out
    keep = ClientFactory(store=store_a)
    other = ClientFactory(store=store_a)
    Consent.objects.create(
        client=keep, channel="email", granted=True, source="form", recorded_at=T0
    )
    Consent.objects.create(
        client=other,
        channel="email",
        granted=False,
        source="unsubscribe link",
        recorded_at=T0 + dt.timedelta(days=3),
    )
    # when
    merge_clients(keep=keep, others=[other], by=None)
    # then
    in_force = current_consents(keep)
    assert in_force["email"].granted is False
    assert in_force["email"].source == "unsubscribe link"


def test_merge_keeps_the_kept_size_and_notes_a_different_one(store_a):
    # given
    keep = ClientFactory(store=store_a)
    other = ClientFactory(store=store_a)
    Size.objects.create(client=keep, category="Suits", size="40R")
    Size.objects.create(client=other, category="Suits", size="42R")
    Size.objects.create(client=other, category="Shoes", size="9")
    # when
    merge_clients(keep=keep, others=[other], by=None)
    # then
    assert sorted(keep.sizes.values_list("category", "size")) == [("Shoes", "9"), ("Suits", "40R")]
    note = keep.notes.get()
    assert f"Not carried over: size Suits 42R from #{other.pk} (kept 40R)." in note.body


def test_merge_prefers_a_stated_preference_over_an_observed_one(store_a):
    # given
    keep = ClientFactory(store=store_a)
    other = ClientFactory(store=store_a)
    Preference.objects.create(
        client=keep, dimension="brand", value="Acme", likes=True, source=PreferenceSource.OBSERVED
    )
    Preference.objects.create(
        client=other, dimension="brand", value="acme", likes=False, source=PreferenceSource.STATED
    )
    Preference.objects.create(client=other, dimension="colour", value="navy", likes=True)
    # when
    merge_clients(keep=keep, others=[other], by=None)
    # then
    assert sorted(keep.preferences.values_list("dimension", "value", "likes", "source")) == [
        ("brand", "Acme", False, "stated"),
        ("colour", "navy", True, "stated"),
    ]
    assert (
        f"Not carried over: likes brand Acme (observed) from #{keep.pk}, "
        "outweighed by dislikes (stated)." in keep.notes.get().body
    )


def test_merge_keeps_the_kept_stated_preference_over_an_observed_one(store_a):
    # given
    keep = ClientFactory(store=store_a)
    other = ClientFactory(store=store_a)
    Preference.objects.create(client=keep, dimension="style", value="slim", likes=True)
    Preference.objects.create(
        client=other,
        dimension="style",
        value="slim",
        likes=False,
        source=PreferenceSource.OBSERVED,
        recorded_at=timezone.now() + dt.timedelta(days=1),
    )
    # when
    merge_clients(keep=keep, others=[other], by=None)
    # then
    assert list(keep.preferences.values_list("value", "likes", "source")) == [
        ("slim", True, "stated")
    ]


def test_merge_keeps_one_contact_point_per_kind_and_value(store_a):
    # given
    keep = ClientFactory(store=store_a, email="ann@example.com", phone="+14155550100")
    other = ClientFactory(store=store_a, email="ann@work.com", phone="+14155550100")
    ContactPoint.objects.create(client=keep, kind="email", value="ann@home.net")
    ContactPoint.objects.create(client=other, kind="email", value="ann@home.net")
    ContactPoint.objects.create(client=other, kind="phone", value="+14155550177", label="mobile")
    ContactPoint.objects.create(client=other, kind="email", value="ann@example.com")
    # when
    merge_clients(keep=keep, others=[other], by=None)
    # then
    assert sorted(keep.contact_points.values_list("kind", "value", "label")) == [
        ("email", "ann@home.net", ""),
        ("email", "ann@work.com", ""),
        ("phone", "+14155550177", "mobile"),
    ]
    assert keep.email == "ann@example.com"
    assert keep.phone == "+14155550100"


def test_merge_skips_important_dates_already_known(store_a):
    # given
    keep = ClientFactory(store=store_a)
    other = ClientFactory(store=store_a)
    ImportantDate.objects.create(client=keep, kind=DateKind.BIRTHDAY, month=3, day=14)
    ImportantDate.objects.create(client=other, kind=DateKind.BIRTHDAY, month=3, day=14, year=1980)
    ImportantDate.objects.create(
        client=other, kind=DateKind.ANNIVERSARY, label="wedding", month=6, day=2, year=2010
    )
    # when
    merge_clients(keep=keep, others=[other], by=None)
    # then
    assert sorted(keep.important_dates.values_list("kind", "month", "day", "year")) == [
        ("anniversary", 6, 2, 2010),
        ("birthday", 3, 14, 1980),
    ]


def test_merge_repoints_relations_and_drops_self_and_repeated_ones(store_a):
    # given
    keep = ClientFactory(store=store_a)
    other = ClientFactory(store=store_a)
    spouse = ClientFactory(store=store_a)
    friend = ClientFactory(store=store_a)
    Relation.objects.create(client=keep, other=other, kind=RelationKind.HOUSEHOLD)
    Relation.objects.create(client=other, other=keep, kind=RelationKind.REFERRED_BY)
    Relation.objects.create(client=keep, other=spouse, kind=RelationKind.HOUSEHOLD)
    Relation.objects.create(client=other, other=spouse, kind=RelationKind.HOUSEHOLD)
    Relation.objects.create(client=friend, other=other, kind=RelationKind.REFERRED_BY)
    # when
    merge_clients(keep=keep, others=[other], by=None)
    # then
    assert sorted(Relation.objects.values_list("client_id", "other_id", "kind")) == sorted(
        [
            (keep.pk, spouse.pk, "household"),
            (friend.pk, keep.pk, "referred_by"),
        ]
    )


def test_merge_fills_blank_fields_and_moves_external_ids(store_a, associate_a):
    # given
    keep = ClientFactory(
        store=store_a, first_name="Ann", last_name="", email="", phone="", time_zone=""
    )
    other = ClientFactory(
        store=store_a,
        first_name="Annie",
        last_name="Lee",
        email="ann@example.com",
        phone="+14155550100",
        address="1 Main St",
        time_zone="America/Los_Angeles",
        primary_associate=associate_a,
        external_ref="POS-17",
        shopify_id=9001,
    )
    # when
    merge_clients(keep=keep, others=[other], by=None)
    # then
    keep.refresh_from_db()
    other.refresh_from_db()
    assert (keep.first_name, keep.last_name, keep.email, keep.phone) == (
        "Ann",
        "Lee",
        "ann@example.com",
        "+14155550100",
    )
    assert (keep.address, keep.time_zone, keep.primary_associate) == (
        "1 Main St",
        "America/Los_Angeles",
        associate_a,
    )
    assert (keep.external_ref, keep.shopify_id) == ("POS-17", 9001)
    assert (other.external_ref, other.shopify_id) == ("", None)
    assert keep.contact_points.count() == 0


def test_merge_leaves_external_ids_on_the_other_when_keep_has_its_own(store_a):
    # given
    keep = ClientFactory(store=store_a, external_ref="POS-1", shopify_id=1)
    other = ClientFactory(store=store_a, external_ref="POS-2", shopify_id=2)
    # when
    merge_clients(keep=keep, others=[other], by=None)
    # then
    other.refresh_from_db()
    assert (keep.external_ref, keep.shopify_id) == ("POS-1", 1)
    assert (other.external_ref, other.shopify_id) == ("POS-2", 2)
    assert resolve_merged(Client.objects.get(store=store_a, external_ref="POS-2")) == keep
    assert resolve_merged(Client.objects.get(shopify_id=2)) == keep


def test_merge_unites_tags(store_a):
    # given
    keep = ClientFactory(store=store_a)
    other = ClientFactory(store=store_a)
    vip, wedding = Tag.objects.create(name="vip"), Tag.objects.create(name="wedding")
    keep.tags.add(vip)
    other.tags.add(vip, wedding)
    # when
    merge_clients(keep=keep, others=[other], by=None)
    # then
    assert list(keep.tags.values_list("name", flat=True)) == ["vip", "wedding"]


def test_merge_marks_the_others_merged_and_records_a_note(store_a, associate_a):
    # given
    keep = ClientFactory(store=store_a, first_name="Ann", last_name="Lee")
    other = ClientFactory(store=store_a, first_name="Ann", last_name="Lee")
    third = ClientFactory(store=store_a, first_name="", last_name="")
    earlier = ClientFactory(store=store_a, status=ClientStatus.MERGED, merged_into=third)
    OrderFactory(store=store_a, client=other)
    # when
    before = timezone.now()
    merge_clients(keep=keep, others=[other, third], by=associate_a)
    # then
    assert (
        list(
            Client.objects.filter(pk__in=[other.pk, third.pk, earlier.pk])
            .order_by("pk")
            .values_list("status", "merged_into")
        )
        == [("merged", keep.pk)] * 3
    )
    assert keep.status == ClientStatus.ACTIVE
    note = keep.notes.get()
    assert note.author == associate_a
    assert note.created_at >= before
    assert note.body.splitlines()[:2] == [
        f"Merged #{other.pk} (Ann Lee), #{third.pk} into this record on "
        f"{note.created_at:%Y-%m-%d %H:%M} UTC by {associate_a.display_name}.",
        "Moved: contact points: 2, orders: 1.",
    ]
    assert resolve_merged(earlier) == keep


def test_merge_refuses_clients_of_another_store(store_a, store_b):
    # given
    keep = ClientFactory(store=store_a)
    other = ClientFactory(store=store_b)
    # when / then
    with pytest.raises(MergeError, match="never merged across stores"):
        merge_clients(keep=keep, others=[other], by=None)
    other.refresh_from_db()
    assert other.status == ClientStatus.ACTIVE


def test_merge_refuses_already_merged_clients_and_keep_itself(store_a):
    # given
    keep = ClientFactory(store=store_a)
    gone = ClientFactory(store=store_a, status=ClientStatus.MERGED, merged_into=keep)
    # when / then
    with pytest.raises(MergeError, match=f"#{gone.pk} was already merged into #{keep.pk}"):
        merge_clients(keep=keep, others=[gone], by=None)
    with pytest.raises(MergeError, match="into itself"):
        merge_clients(keep=keep, others=[keep], by=None)
    assert keep.notes.count() == 0


def test_generic_move_leaves_rows_that_would_clash_with_the_merged_record(store_a):
    # given: a model with a unique rule on its client field
    keep = ClientFactory(store=store_a)
    other = ClientFactory(store=store_a)
    ContactPoint.objects.create(client=keep, kind="email", value="same@example.com")
    ContactPoint.objects.create(client=other, kind="email", value="same@example.com")
    ContactPoint.objects.create(client=other, kind="email", value="new@example.com")
    # when
    moved, stayed = _move_rows(ContactPoint, "client", keep=keep, other_ids=[other.pk])
    # then
    assert (moved, stayed) == (1, 1)
    assert list(other.contact_points.values_list("value", flat=True)) == ["same@example.com"]


# --- the command line ---------------------------------------------------------------------------


def make_pair(store):
    keep = ClientFactory(
        store=store,
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
        phone="+14155550123",
        created_at=T0,
    )
    other = ClientFactory(
        store=store,
        first_name="Annie",
        last_name="Lee",
        email="",
        phone="(415) 555-0123",
        created_at=T0 + dt.timedelta(days=30),
    )
    OrderFactory(store=store, client=keep)
    return keep, other


def test_cli_lists_each_group_with_the_kept_client(capsys, store_a):
    # given
    keep, other = make_pair(store_a)
    # when
    call_command("find_duplicates")
    # then
    assert capsys.readouterr().out.splitlines() == [
        "Group 1 — store uptown — shared: +14155550123",
        f"  keep   #{keep.pk:<7} {'Ann Lee':<28} {'ann@example.com':<36} {'+14155550123':<18} "
        f"{'1 order':>10}  since 2024-01-01",
        f"  merge  #{other.pk:<7} {'Annie Lee':<28} {'-':<36} {'+14155550123':<18} "
        f"{'0 orders':>10}  since 2024-01-31",
        "1 group(s), 2 clients: 1 would be merged into the kept ones. "
        "Run with --merge to merge them.",
    ]
    assert Client.objects.current().count() == 2


def test_cli_json_prints_the_groups(capsys, store_a, store_b):
    # given
    keep, other = make_pair(store_a)
    make_pair(store_b)
    # when
    call_command("find_duplicates", "--json", "--store", "uptown")
    # then
    assert json.loads(capsys.readouterr().out) == {
        "groups": [
            {
                "store": "uptown",
                "shared": ["+14155550123"],
                "keep": keep.pk,
                "merge": [other.pk],
                "clients": [
                    {
                        "id": keep.pk,
                        "name": "Ann Lee",
                        "emails": ["ann@example.com"],
                        "phones": ["+14155550123"],
                        "orders": 1,
                        "created_at": "2024-01-01T09:00:00+00:00",
                    },
                    {
                        "id": other.pk,
                        "name": "Annie Lee",
                        "emails": [],
                        "phones": ["+14155550123"],
                        "orders": 0,
                        "created_at": "2024-01-31T09:00:00+00:00",
                    },
                ],
            }
        ],
        "merged": 0,
    }


def test_cli_merge_merges_every_group_and_a_second_run_finds_nothing(capsys, store_a, store_b):
    # given
    keep_a, other_a = make_pair(store_a)
    keep_b, other_b = make_pair(store_b)
    # when
    call_command("find_duplicates", "--merge")
    first = capsys.readouterr().out.splitlines()
    call_command("find_duplicates", "--merge")
    second = capsys.readouterr().out.splitlines()
    # then
    assert first[-1] == "Merged 2 client records into 2 (2 group(s), 4 clients)."
    assert second == ["No duplicate clients found."]
    assert list(Client.objects.current().order_by("pk")) == [keep_a, keep_b]
    assert Client.objects.get(pk=other_a.pk).merged_into == keep_a
    assert Client.objects.get(pk=other_b.pk).merged_into == keep_b
    assert Note.objects.filter(client__in=[keep_a, keep_b]).count() == 2


def test_cli_refuses_an_unknown_store(store_a):
    with pytest.raises(CommandError, match="No store with code 'nowhere' \\(stores: uptown\\)"):
        call_command("find_duplicates", "--store", "nowhere")


# --- scale --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_finds_planted_groups_among_30000_clients_in_two_queries(django_assert_num_queries):
    # given: 30,000 clients in two stores with E.164 phones, 5,000 further phones and 60,000
    # orders; 1,800 clients are planted duplicates: 500 pairs by email (case differs), 250 pairs
    # by phone (formatted), 100 chains of three
    rng = random.Random(7)
    stores = [StoreFactory(code="north"), StoreFactory(code="south")]
    rows = []
    for n in range(28_200):
        rows.append(
            Client(
                store=stores[n % 2],
                first_name=f"F{n}",
                email=f"client{n}@example.com",
                phone=f"+1212{2000000 + n:07d}",
            )
        )
    planted = []
    for n in range(500):
        store = stores[n % 2]
        planted.append(
            [
                Client(store=store, email=f"dup{n}@example.com", phone=""),
                Client(store=store, email=f" DUP{n}@Example.com", phone=""),
            ]
        )
    for n in range(250):
        store = stores[n % 2]
        planted.append(
            [
                Client(store=store, email="", phone=f"+1646{3000000 + n:07d}"),
                Client(store=store, email="", phone=f"(646) {300 + n // 10000:03d}-{n:04d}"),
            ]
        )
    for n in range(100):
        store = stores[n % 2]
        planted.append(
            [
                Client(store=store, email=f"chain{n}@example.com", phone=""),
                Client(store=store, email=f"chain{n}@example.com", phone=f"+1718{4000000 + n:07d}"),
                Client(store=store, email="", phone=f"718-{400 + n // 10000:03d}-{n:04d}"),
            ]
        )
    rows.extend(client for group in planted for client in group)
    rng.shuffle(rows)
    Client.objects.bulk_create(rows, batch_size=2000)
    singles = [client for client in rows if client.first_name]
    ContactPoint.objects.bulk_create(
        ContactPoint(client=client, kind=ContactKind.PHONE, value=f"+1917{5000000 + n:07d}")
        for n, client in enumerate(singles[:5000])
    )
    Order.objects.bulk_create(
        (
            Order(store=client.store, client=client, external_ref=f"R{n}")
            for n, client in enumerate(rng.choices(rows, k=60_000))
        ),
        batch_size=2000,
    )
    assert Client.objects.count() == 30_000
    # when: the time is measured by `make bench`, not here; the query count guards the shape
    with django_assert_num_queries(2):
        groups = find_duplicate_groups(Client.objects.all())
    # then
    assert sorted(sorted(m.id for m in g.members) for g in groups) == sorted(
        sorted(client.pk for client in group) for group in planted
    )
