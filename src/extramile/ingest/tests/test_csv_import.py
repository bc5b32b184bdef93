import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from extramile.accounts.management.commands.stats import collect_stats
from extramile.catalog.models import Product, Stock, Variant
from extramile.clients.models import (
    Client,
    Consent,
    ContactPoint,
    ImportantDate,
    Note,
    Preference,
    Size,
    Tag,
)
from extramile.ingest.clientbook import ClientBook, ClientData
from extramile.ingest.csv_import import import_clients_csv, import_orders_csv, import_products_csv
from extramile.ingest.import_log import file_key
from extramile.ingest.models import EventStatus, InboundEvent
from extramile.ingest.report import ImportReport
from extramile.orders.models import Order, OrderLine
from tests.factories import ClientFactory, VariantFactory

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
NEW_YORK = ZoneInfo("America/New_York")


def write(tmp_path: Path, name: str, text: str, *, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def errors_of(report: ImportReport) -> list[str]:
    return [str(error) for error in report.errors]


def child_counts() -> dict[str, int]:
    return {
        "consents": Consent.objects.count(),
        "notes": Note.objects.count(),
        "sizes": Size.objects.count(),
        "preferences": Preference.objects.count(),
        "dates": ImportantDate.objects.count(),
        "contact_points": ContactPoint.objects.count(),
        "tag_links": Client.tags.through.objects.count(),
        "stock": Stock.objects.count(),
    }


@pytest.fixture
def staff(associate_a, associate_b):
    return associate_a, associate_b


# --- Clients -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_clients_sample_creates_every_client_with_exact_fields(staff):
    # given
    ana, ben = staff
    # when
    report = import_clients_csv(SAMPLES / "clients.csv", store=None, progress=False)
    # then
    assert report.errors == []
    assert report.created == {
        "clients": 7,
        "dates": 8,
        "sizes": 14,
        "preferences": 16,
        "tags": 4,
        "consents": 13,
        "notes": 5,
    }
    eleanor = Client.objects.get(external_ref="C1001")
    assert eleanor.store == ana.store
    assert (eleanor.first_name, eleanor.last_name) == ("Eleanor", "Whitfield")
    assert eleanor.email == "eleanor.whitfield@example.com"
    assert eleanor.phone == "+12125550148"
    assert eleanor.address == "88 Greene Street, Apt 4\nNew York, NY 10012"
    assert (eleanor.language, eleanor.time_zone, eleanor.status) == (
        "en",
        "America/New_York",
        "active",
    )
    assert eleanor.primary_associate == ana
    assert sorted(eleanor.important_dates.values_list("kind", "month", "day", "year")) == [
        ("anniversary", 6, 21, None),
        ("birthday", 4, 12, 1978),
    ]
    assert dict(eleanor.sizes.values_list("category", "size")) == {
        "dresses": "M",
        "shoes": "38",
        "blazers": "40",
    }
    assert set(eleanor.preferences.values_list("dimension", "value", "likes", "source")) == {
        ("brand", "Max Mara", True, "stated"),
        ("colour", "camel", True, "stated"),
        ("material", "cashmere", True, "stated"),
        ("colour", "neon green", False, "stated"),
    }
    assert sorted(eleanor.tags.values_list("name", flat=True)) == ["vip", "wedding 2026"]
    consent_at = dt.datetime(2024, 9, 14, tzinfo=NEW_YORK)
    assert sorted(eleanor.consents.values_list("channel", "granted", "recorded_at", "source")) == [
        ("email", True, consent_at, "in-store form"),
        ("phone", True, consent_at, "in-store form"),
        ("sms", False, consent_at, "in-store form"),
    ]
    assert list(eleanor.notes.values_list("body", "author")) == [
        ("Daughter's wedding in June 2026: looking for a mother-of-the-bride outfit.", None)
    ]
    james = Client.objects.get(external_ref="C1002")
    assert list(james.important_dates.values_list("kind", "month", "day", "year")) == [
        ("birthday", 11, 3, None)
    ]
    assert set(james.preferences.values_list("dimension", "value", "likes")) == {
        ("brand", "Canali", True),
        ("style", "classic", True),
        ("style", "logo-heavy", False),
    }
    margaret = Client.objects.get(external_ref="C1004")
    assert (margaret.email, margaret.phone, margaret.status) == ("", "+12125550177", "lapsed")
    assert list(margaret.important_dates.values_list("month", "day", "year")) == [(2, 29, None)]
    assert margaret.consents.count() == 0
    assert margaret.primary_associate is None
    hannah = Client.objects.get(external_ref="C2002")
    assert (hannah.store, hannah.phone, hannah.language) == (ben.store, "+4915155501234", "de")


@pytest.mark.django_db
def test_clients_same_file_twice_changes_nothing(staff):
    # given
    first = import_clients_csv(SAMPLES / "clients.csv", store=None, progress=False)
    stats, counts = collect_stats(), child_counts()
    # when
    second = import_clients_csv(SAMPLES / "clients.csv", store=None, progress=False)
    # then
    assert first.created["clients"] == 7
    assert (second.created, second.updated, second.unchanged, second.errors) == ({}, {}, 7, [])
    assert collect_stats() == stats
    assert child_counts() == counts
    assert Tag.objects.count() == 2
    event = InboundEvent.objects.get()
    data = (SAMPLES / "clients.csv").read_bytes()
    assert event.idempotency_key == file_key(source="csv", kind="clients", data=data)
    assert (event.source, event.topic, event.status) == ("csv", "clients", EventStatus.PROCESSED)
    assert event.summary == json.loads(json.dumps(second.as_dict()))


@pytest.mark.django_db
def test_clients_reimport_with_changed_values_updates_them(staff, tmp_path):
    # given
    import_clients_csv(SAMPLES / "clients.csv", store=None, progress=False)
    text = (SAMPLES / "clients.csv").read_text()
    tail = "shirts=15.5/34; shoes=9,brand:Canali; style:classic,style:logo-heavy,vip"
    changed = text.replace("j.okafor@example.com", "james.okafor@example.com").replace(
        f"suits=40R; {tail},yes,yes,,2023-03-02", f"suits=42R; {tail},no,yes,,2025-01-05"
    )
    assert changed != text
    path = write(tmp_path, "clients.csv", changed)
    # when
    report = import_clients_csv(path, store=None, progress=False)
    # then
    assert report.errors == []
    assert report.created == {"consents": 1}
    assert report.updated == {"clients": 1, "sizes": 1}
    assert report.unchanged == 6
    james = Client.objects.get(external_ref="C1002")
    assert james.email == "james.okafor@example.com"
    assert james.sizes.get(category="suits").size == "42R"
    latest = james.consents.filter(channel="email").first()
    assert (latest.granted, latest.recorded_at) == (False, dt.datetime(2025, 1, 5, tzinfo=NEW_YORK))
    assert james.consents.filter(channel="email").count() == 2
    assert Client.objects.count() == 7


@pytest.mark.django_db
def test_clients_old_export_does_not_undo_a_later_opt_out(staff):
    # given
    import_clients_csv(SAMPLES / "clients.csv", store=None, progress=False)
    eleanor = Client.objects.get(external_ref="C1001")
    Consent.objects.create(client=eleanor, channel="email", granted=False, source="unsubscribe")
    # when
    report = import_clients_csv(SAMPLES / "clients.csv", store=None, progress=False)
    # then
    assert (report.created, report.unchanged) == ({}, 7)
    assert eleanor.consents.filter(channel="email").first().granted is False
    assert eleanor.consents.filter(channel="email").count() == 2


@pytest.mark.django_db
def test_clients_bad_rows_are_refused_with_file_row_and_field_and_good_rows_kept(staff, tmp_path):
    # given
    path = write(
        tmp_path,
        "pos.csv",
        "store,client_id,first_name,last_name,email,phone,birthday,time_zone,associate\n"
        "uptown,C1,Ada,Good,ada@example.com,,,,\n"
        "uptown,C2,Bad,Email,not-an-email,,,,\n"
        "uptown,C3,Bad,Phone,,12,,,\n"
        "uptown,C4,Bad,Date,,,1980-02-30,,\n"
        "uptown,C5,Bad,Zone,,,,Mars/Olympus,\n"
        "moon,C6,Bad,Store,,,,,\n"
        "uptown,C7,Bad,Staff,,,,,zed\n"
        "uptown,C8,Other,Store,,,,,ben\n"
        "uptown,C9,Also,Good,also@example.com,,04-01,europe/paris,ana\n"
        "uptown,,No,Key,,,,,\n",
    )
    # when
    report = import_clients_csv(path, store=None, progress=False)
    # then
    messages = errors_of(report)
    assert messages[0] == "pos.csv, row 3, field 'email': 'not-an-email' is not an email address"
    assert messages[1].startswith("pos.csv, row 4, field 'phone': '12' is not")
    assert messages[2:] == [
        "pos.csv, row 5, field 'birthday': '1980-02-30' is not a date in the calendar",
        "pos.csv, row 6, field 'time_zone': 'Mars/Olympus' is not an IANA time zone "
        "(for example Europe/Paris)",
        "pos.csv, row 7, field 'store': unknown store 'moon' (stores: harbour, uptown)",
        "pos.csv, row 8, field 'associate': no member of staff has the username 'zed'",
        "pos.csv, row 9, field 'associate': 'ben' works at harbour, not uptown",
        "pos.csv, row 11, field 'client_id': empty, and no email or phone to recognise "
        "the client by",
    ]
    assert report.created["clients"] == 2
    assert sorted(Client.objects.values_list("external_ref", flat=True)) == ["C1", "C9"]
    also = Client.objects.get(external_ref="C9")
    assert (also.time_zone, also.primary_associate.username) == ("Europe/Paris", "ana")
    assert InboundEvent.objects.get().status == EventStatus.PROCESSED


@pytest.mark.django_db
def test_clients_excel_export_with_bom_semicolons_and_multiline_cells(staff, tmp_path):
    # given: Excel writes a BOM and ";"; a quoted address spans two lines yet is one row
    path = write(
        tmp_path,
        "Export.csv",
        "\ufeffStore;Client ID;First Name;Last Name;Address;Email;Sizes\r\n"
        'uptown;C1;Zoë;Müller;"1 Main Street\r\nSpringfield";zoe@example.com;shoes=38,5\r\n'
        "uptown;C2;Bo;Bad;;bo@@example;\r\n",
    )
    # when
    report = import_clients_csv(path, store=None, progress=False)
    # then
    assert errors_of(report) == [
        "Export.csv, row 3, field 'email': 'bo@@example' is not an email address"
    ]
    zoe = Client.objects.get(external_ref="C1")
    assert (zoe.first_name, zoe.last_name, zoe.address) == (
        "Zoë",
        "Müller",
        "1 Main Street\nSpringfield",
    )
    assert zoe.sizes.get().size == "38,5"


@pytest.mark.django_db
def test_clients_file_level_errors_refuse_the_whole_file(staff, tmp_path):
    # given
    path = write(tmp_path, "pos.csv", "client_id,first_name,emial\nC1,Ada,ada@example.com\n")
    # when
    report = import_clients_csv(path, store=None, progress=False)
    # then
    messages = errors_of(report)
    assert len(messages) == 2
    assert messages[0].startswith("pos.csv, field 'emial': unknown column (known columns: ")
    assert (
        messages[1] == "pos.csv, field 'last_name': required column is missing from the header row"
    )
    assert Client.objects.count() == 0
    assert InboundEvent.objects.get().status == EventStatus.FAILED


@pytest.mark.django_db
def test_clients_without_store_column_need_the_store_argument(staff, tmp_path):
    # given
    ben = staff[1]
    path = write(tmp_path, "pos.csv", "client_id,first_name,last_name\nC1,Ada,Lovelace\n")
    # when
    refused = import_clients_csv(path, store=None, progress=False)
    accepted = import_clients_csv(path, store=ben.store, progress=False)
    # then
    assert errors_of(refused) == [
        "pos.csv, field 'store': the file has no store column and no --store default was given"
    ]
    assert accepted.errors == []
    assert Client.objects.get().store == ben.store


@pytest.mark.django_db
def test_clients_match_by_email_adopts_the_client_id(staff):
    # given
    ana, _ = staff
    known = ClientFactory(store=ana.store, email="eleanor.whitfield@example.com", first_name="El")
    # when
    report = import_clients_csv(SAMPLES / "clients.csv", store=None, progress=False)
    # then
    assert (report.created["clients"], report.updated["clients"]) == (6, 1)
    known.refresh_from_db()
    assert (known.external_ref, known.first_name) == ("C1001", "Eleanor")
    assert Client.objects.count() == 7


@pytest.mark.django_db
def test_clients_with_other_pos_id_and_same_email_stay_two_clients(staff):
    # given
    ana, _ = staff
    ClientFactory(store=ana.store, email="eleanor.whitfield@example.com", external_ref="OLD-9")
    # when
    report = import_clients_csv(SAMPLES / "clients.csv", store=None, progress=False)
    # then
    assert report.created["clients"] == 7
    assert Client.objects.filter(email="eleanor.whitfield@example.com").count() == 2


@pytest.mark.django_db
def test_clients_second_row_for_the_same_client_is_refused(staff, tmp_path):
    # given
    path = write(
        tmp_path,
        "pos.csv",
        "store,client_id,first_name,last_name,email\n"
        "uptown,C1,Ada,Lovelace,ada@example.com\n"
        "uptown,C1,Ada,Byron,\n"
        "uptown,,Augusta,,ada@example.com\n",
    )
    # when
    report = import_clients_csv(path, store=None, progress=False)
    # then
    assert errors_of(report) == [
        "pos.csv, row 3, field 'client_id': 'C1' is already on row 2; give each client one row",
        "pos.csv, row 4, field 'email': 'ada@example.com' belongs to the client of row 2; "
        "give each client one row",
    ]
    assert list(Client.objects.values_list("last_name", flat=True)) == ["Lovelace"]


@pytest.mark.django_db
def test_clients_consent_without_date_is_refused(staff, tmp_path):
    # given
    path = write(
        tmp_path,
        "pos.csv",
        "store,client_id,first_name,last_name,consent_email,consent_date\n"
        "uptown,C1,Ada,Lovelace,yes,\n"
        "uptown,C2,Bo,Brummel,maybe,2024-01-01\n"
        "uptown,C3,Cy,Twombly,yes,2999-01-01\n",
    )
    # when
    report = import_clients_csv(path, store=None, progress=False)
    # then
    assert errors_of(report) == [
        "pos.csv, row 2, field 'consent_date': required when a consent column says yes or no: "
        "when did the client give it?",
        "pos.csv, row 3, field 'consent_email': 'maybe' is neither yes nor no",
        "pos.csv, row 4, field 'consent_date': '2999-01-01' is in the future",
    ]
    assert Consent.objects.count() == 0


@pytest.mark.django_db
def test_clients_bad_rows_in_several_batches_keep_every_good_row(staff, tmp_path):
    # given: more rows than one write batch, with bad rows in the first and the third batch
    lines = ["store,client_id,first_name,last_name,email,tags"]
    for n in range(1, 1202):
        email = "broken" if n in (7, 1100) else f"c{n}@example.com"
        lines.append(f"uptown,C{n},First{n},Last{n},{email},vip")
    path = write(tmp_path, "big.csv", "\n".join(lines) + "\n")
    # when
    report = import_clients_csv(path, store=None, progress=False)
    again = import_clients_csv(path, store=None, progress=False)
    # then
    assert errors_of(report) == [
        "big.csv, row 8, field 'email': 'broken' is not an email address",
        "big.csv, row 1101, field 'email': 'broken' is not an email address",
    ]
    assert report.created == {"clients": 1199, "tags": 1199}
    assert Client.objects.count() == 1199
    assert Client.tags.through.objects.count() == 1199
    assert (again.created, again.updated, again.unchanged) == ({}, {}, 1199)


@pytest.mark.django_db
def test_client_book_refuses_only_the_row_the_database_refuses(staff):
    # given: another writer takes client_id C2 after the rows were matched
    ana, _ = staff
    report = ImportReport(source="test")
    book = ClientBook(report, file="pos.csv")
    for row, ref in ((2, "C1"), (3, "C2"), (4, "C3")):
        book.add(ClientData(row=row, store=ana.store, external_ref=ref, fields={"first_name": ref}))
    ClientFactory(store=ana.store, external_ref="C2", first_name="Taken")
    # when
    book.flush()
    # then
    assert [(e.row, e.field) for e in report.errors] == [(3, "row")]
    assert report.errors[0].message.startswith("the database refused it:")
    assert report.created == {"clients": 2}
    assert sorted(Client.objects.values_list("first_name", flat=True)) == ["C1", "C3", "Taken"]


@pytest.mark.django_db
def test_import_command_exits_1_when_rows_were_refused(staff, tmp_path, capsys):
    # given
    path = write(
        tmp_path,
        "pos.csv",
        "store,client_id,first_name,last_name,email\n"
        "uptown,C1,Ada,Lovelace,ada@example.com\n"
        "uptown,C2,Bo,Brummel,nope\n",
    )
    # when
    with pytest.raises(SystemExit) as exited:
        call_command("import_data", "clients", str(path))
    # then
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert "csv clients: created 1 clients" in out
    assert "error: pos.csv, row 3, field 'email': 'nope' is not an email address" in out
    assert list(Client.objects.values_list("external_ref", flat=True)) == ["C1"]


@pytest.mark.django_db
def test_import_command_succeeds_on_the_sample(staff, capsys):
    # when
    call_command("import_data", "clients", str(SAMPLES / "clients.csv"))
    # then
    assert capsys.readouterr().out.startswith("csv clients: created 7 clients, 8 dates")
    assert collect_stats()["clients"] == 7


# --- Products ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_products_sample_creates_products_variants_and_stock(staff):
    # when
    report = import_products_csv(SAMPLES / "products.csv", store=None, progress=False)
    # then
    assert report.errors == []
    assert report.created == {"products": 6, "variants": 12, "stock": 20}
    suit = Product.objects.get(external_ref="SUIT-CAN-KEI")
    assert (suit.title, suit.brand, suit.category, suit.colour, suit.material) == (
        "Kei wool suit",
        "Canali",
        "Apparel/Suits",
        "navy",
        "wool",
    )
    assert suit.style_tags == ["classic", "tailored"]
    assert (suit.price, suit.cost, suit.currency, suit.arrived_on) == (
        Decimal("1895.00"),
        Decimal("820.00"),
        "USD",
        dt.date(2025, 9, 2),
    )
    assert list(suit.variants.values_list("sku", "size", "barcode")) == [
        ("SUIT-CAN-KEI-38R", "38R", "8051234000381"),
        ("SUIT-CAN-KEI-40R", "40R", "8051234000404"),
        ("SUIT-CAN-KEI-42L", "42L", "8051234000428"),
    ]
    stock = Stock.objects.filter(variant__sku="SUIT-CAN-KEI-40R")
    assert dict(stock.values_list("store__code", "quantity")) == {"uptown": 2, "harbour": 1}
    black = Variant.objects.get(sku="BAG-AN-TOTE-BLK")
    assert (black.colour, black.price, black.effective_price) == (
        "black",
        Decimal("560.00"),
        Decimal("560.00"),
    )
    tan = Variant.objects.get(sku="BAG-AN-TOTE-TAN")
    assert (tan.price, tan.effective_price) == (None, Decimal("540.00"))


@pytest.mark.django_db
def test_products_same_file_twice_changes_nothing(staff):
    # given
    import_products_csv(SAMPLES / "products.csv", store=None, progress=False)
    stats, counts = collect_stats(), child_counts()
    # when
    report = import_products_csv(SAMPLES / "products.csv", store=None, progress=False)
    # then
    assert (report.created, report.updated, report.unchanged, report.errors) == ({}, {}, 12, [])
    assert collect_stats() == stats
    assert child_counts() == counts
    assert InboundEvent.objects.filter(topic="products").count() == 1


@pytest.mark.django_db
def test_products_reimport_updates_price_and_stock(staff, tmp_path):
    # given
    import_products_csv(SAMPLES / "products.csv", store=None, progress=False)
    text = (SAMPLES / "products.csv").read_text()
    changed = text.replace("185.00,60.00", "195.00,60.00").replace(
        "SCARF-SILK-TW-OS,one size,,,,uptown=6; harbour=5",
        "SCARF-SILK-TW-OS,one size,,,,uptown=4; harbour=5",
    )
    path = write(tmp_path, "products.csv", changed)
    # when
    report = import_products_csv(path, store=None, progress=False)
    # then
    assert (report.created, report.updated, report.unchanged) == (
        {},
        {"products": 1, "stock": 1},
        11,
    )
    assert Product.objects.get(external_ref="SCARF-SILK-TW").price == Decimal("195.00")
    scarf_stock = Stock.objects.filter(variant__sku="SCARF-SILK-TW-OS")
    assert dict(scarf_stock.values_list("store__code", "quantity")) == {"uptown": 4, "harbour": 5}


@pytest.mark.django_db
def test_products_quantity_column_uses_the_store_column_or_argument(staff, tmp_path):
    # given
    ben = staff[1]
    path = write(tmp_path, "stock.csv", "product_ref,title,sku,quantity\nP1,Tee,P1-M,4\n")
    # when
    refused = import_products_csv(path, store=None, progress=False)
    accepted = import_products_csv(path, store=ben.store, progress=False)
    # then
    assert errors_of(refused) == [
        "stock.csv, field 'store': the file has no store column and no --store default was given"
    ]
    assert accepted.created == {"products": 1, "variants": 1, "stock": 1}
    assert list(Stock.objects.values_list("store__code", "quantity")) == [("harbour", 4)]


@pytest.mark.django_db
def test_products_bad_rows_are_refused_and_good_rows_kept(staff, tmp_path):
    # given
    VariantFactory(sku="X-1", product__external_ref="OTHER")
    path = write(
        tmp_path,
        "products.csv",
        "product_ref,title,price,sku,stock\n"
        "P1,Good shirt,120.00,P1-M,uptown=2\n"
        "P1,Other title,,P1-L,uptown=1\n"
        "P2,Bad price,12.345,P2-M,\n"
        "P3,Negative stock,10,P3-M,uptown=-1\n"
        "P4,Moon,10,P4-M,moon=1\n"
        "P5,Repeated sku,10,P1-M,\n"
        ",No ref,10,P6-M,\n"
        "P7,,10,P7-M,\n"
        "P9,Stolen sku,10,X-1,\n"
        "P1,,,P1-S,harbour=3\n",
    )
    # when
    report = import_products_csv(path, store=None, progress=False)
    # then
    assert errors_of(report) == [
        "products.csv, row 3, field 'title': 'Other title' differs from row 2 of the same "
        "product_ref 'P1' ('Good shirt')",
        "products.csv, row 4, field 'price': '12.345' has more than two decimals",
        "products.csv, row 5, field 'stock': '-1' is negative",
        "products.csv, row 6, field 'stock': unknown store 'moon' (stores: harbour, uptown)",
        "products.csv, row 7, field 'sku': 'P1-M' is already on row 2",
        "products.csv, row 8, field 'product_ref': empty: every row needs the product's reference",
        "products.csv, row 9, field 'title': required for a new product",
        "products.csv, row 10, field 'sku': 'X-1' belongs to product 'OTHER', not 'P9'",
    ]
    assert sorted(Product.objects.values_list("external_ref", flat=True)) == ["OTHER", "P1"]
    assert sorted(Variant.objects.values_list("sku", flat=True)) == ["P1-M", "P1-S", "X-1"]
    assert list(
        Stock.objects.order_by("id").values_list("variant__sku", "store__code", "quantity")
    ) == [
        ("P1-M", "uptown", 2),
        ("P1-S", "harbour", 3),
    ]


# --- Orders --------------------------------------------------------------------------------------


@pytest.fixture
def catalog_and_book(staff):
    import_clients_csv(SAMPLES / "clients.csv", store=None, progress=False)
    import_products_csv(SAMPLES / "products.csv", store=None, progress=False)
    return staff


@pytest.mark.django_db
def test_orders_sample_groups_rows_into_orders_with_exact_values(catalog_and_book):
    # given
    ana = catalog_and_book[0]
    # when
    report = import_orders_csv(SAMPLES / "orders.csv", store=None, progress=False)
    # then
    assert report.errors == []
    assert report.created == {"orders": 6, "order_lines": 8}
    first = Order.objects.get(external_ref="R-10001")
    placed = dt.datetime(2025, 9, 12, 18, 5, tzinfo=dt.UTC)
    assert (first.store, first.client.external_ref, first.associate, first.channel) == (
        ana.store,
        "C1002",
        ana,
        "store",
    )
    assert (first.status, first.placed_at, first.fulfilled_at, first.total, first.currency) == (
        "fulfilled",
        placed,
        placed,
        Decimal("2390.00"),
        "USD",
    )
    assert list(first.lines.values_list("sku", "title", "quantity", "unit_price", "unit_cost")) == [
        ("SUIT-CAN-KEI-40R", "Kei wool suit", 1, Decimal("1895.00"), Decimal("820.00")),
        ("SHOE-LOAF-SU-09", "Suede loafer", 1, Decimal("495.00"), Decimal("190.00")),
    ]
    online = Order.objects.get(external_ref="R-10002")
    assert (online.status, online.channel, online.associate, online.total) == (
        "fulfilled",
        "online",
        None,
        Decimal("1060.00"),
    )
    cancelled = Order.objects.get(external_ref="R-10003")
    assert (cancelled.status, cancelled.client.email, cancelled.cancelled_at) == (
        "cancelled",
        "marcus.lee@example.com",
        dt.datetime(2025, 10, 21, 22, 2, tzinfo=dt.UTC),
    )
    assert Order.objects.get(external_ref="R-10004").client is None
    refunded = Order.objects.get(external_ref="R-10005")
    assert (refunded.status, refunded.refunded_amount) == ("refunded", Decimal("1450.00"))
    placed_only = Order.objects.get(external_ref="R-10006")
    assert (placed_only.status, placed_only.placed_at) == (
        "placed",
        dt.datetime(2025, 11, 20, 7, 15, tzinfo=dt.UTC),
    )


@pytest.mark.django_db
def test_orders_same_file_twice_changes_nothing(catalog_and_book):
    # given
    import_orders_csv(SAMPLES / "orders.csv", store=None, progress=False)
    stats = collect_stats()
    # when
    report = import_orders_csv(SAMPLES / "orders.csv", store=None, progress=False)
    # then
    assert (report.created, report.updated, report.unchanged, report.errors) == ({}, {}, 8, [])
    assert collect_stats() == stats
    assert stats["order_lines"] == 8


@pytest.mark.django_db
def test_orders_reimport_updates_lines_in_place_and_removes_dropped_ones(
    catalog_and_book, tmp_path
):
    # given
    import_orders_csv(SAMPLES / "orders.csv", store=None, progress=False)
    rows = (SAMPLES / "orders.csv").read_text().splitlines()
    header, r1_suit, _r1_shoes, *others = rows
    r1_suit = r1_suit.replace("SUIT-CAN-KEI-40R,1,1895.00", "SUIT-CAN-KEI-40R,2,1895.00")
    path = write(tmp_path, "orders.csv", "\n".join([header, *reversed(others), r1_suit]) + "\n")
    suit_line = OrderLine.objects.get(order__external_ref="R-10001", sku="SUIT-CAN-KEI-40R")
    # when
    report = import_orders_csv(path, store=None, progress=False)
    # then
    assert report.errors == []
    assert report.created == {}
    assert report.updated == {"orders": 1, "order_lines": 1, "order_lines_removed": 1}
    assert report.unchanged == 6
    order = Order.objects.get(external_ref="R-10001")
    assert order.total == Decimal("3790.00")
    assert list(order.lines.values_list("pk", "sku", "quantity")) == [
        (suit_line.pk, "SUIT-CAN-KEI-40R", 2)
    ]
    assert OrderLine.objects.count() == 7


@pytest.mark.django_db
def test_orders_bad_rows_refuse_their_order_and_keep_the_others(catalog_and_book, tmp_path):
    # given
    sku = "SCARF-SILK-TW-OS"
    at = "2025-10-01T10:00:00-04:00"
    path = write(
        tmp_path,
        "orders.csv",
        "order_ref,store,client_id,placed_at,sku,quantity,unit_price,associate\n"
        f"R1,uptown,,{at},{sku},1,185.00,\n"
        f"R2,uptown,,{at},{sku},1,185.00,\n"
        f"R2,uptown,,{at},NOPE,1,100.00,\n"
        f"R3,uptown,,{at},{sku},-2,185.00,\n"
        f"R4,uptown,C404,{at},{sku},1,185.00,\n"
        f"R5,uptown,,yesterday,{sku},1,185.00,\n"
        f"R6,uptown,,{at},{sku},1,185.00,zed\n"
        f"R7,harbour,,{at},{sku},1,,\n"
        f"R7,uptown,,{at},{sku},1,,\n",
    )
    # when
    report = import_orders_csv(path, store=None, progress=False)
    # then
    assert errors_of(report) == [
        "orders.csv, row 4, field 'sku': unknown sku 'NOPE' (order 'R2', rows 3, 4, "
        "was not imported)",
        "orders.csv, row 5, field 'quantity': '-2' is negative (order 'R3', row 5, "
        "was not imported)",
        "orders.csv, row 6, field 'client_id': no client 'C404' in store uptown (import clients "
        "first) (order 'R4', row 6, was not imported)",
        "orders.csv, row 7, field 'placed_at': 'yesterday' is not a date and time (write "
        "ISO 8601, e.g. 2025-03-14T15:20:00-05:00) (order 'R5', row 7, was not imported)",
        "orders.csv, row 8, field 'associate': no member of staff has the username 'zed' "
        "(order 'R6', row 8, was not imported)",
        "orders.csv, row 10, field 'store': 'uptown' differs from row 9 of the same order "
        "('harbour') (order 'R7', rows 9, 10, was not imported)",
    ]
    assert list(Order.objects.values_list("external_ref", "total")) == [("R1", Decimal("185.00"))]


@pytest.mark.django_db
def test_orders_find_the_client_by_email_and_fall_back_to_the_variant_price(
    catalog_and_book, tmp_path
):
    # given
    path = write(
        tmp_path,
        "orders.csv",
        "order_ref,client_email,placed_at,sku,quantity,channel\n"
        "W-1,Eleanor.Whitfield@Example.com,2025-12-01 10:30,KNIT-MM-CREW-S,1,web\n",
    )
    ana, _ = catalog_and_book
    # when
    report = import_orders_csv(path, store=ana.store, progress=False)
    # then
    assert report.errors == []
    order = Order.objects.get(external_ref="W-1")
    assert (order.client.external_ref, order.channel, order.total, order.placed_at) == (
        "C1001",
        "online",
        Decimal("690.00"),
        dt.datetime(2025, 12, 1, 15, 30, tzinfo=dt.UTC),
    )


@pytest.mark.django_db
def test_products_excel_sep_line_and_stray_cells(staff, tmp_path):
    # given: Excel's "sep=;" hint line is not a row; the header stays row 1
    path = write(
        tmp_path,
        "stock.csv",
        "sep=;\nproduct_ref;title;sku;stock\nP1;Tee;P1-M;uptown=1\nP2;Polo;P2-M;uptown=1;9\n",
    )
    # when
    report = import_products_csv(path, store=None, progress=False)
    # then
    assert errors_of(report) == [
        "stock.csv, row 3, field 'columns': 1 more cell(s) than the header has columns"
    ]
    assert list(Variant.objects.values_list("sku", flat=True)) == ["P1-M"]


@pytest.mark.django_db
def test_progress_bar_goes_to_stderr(staff, capsys):
    # when
    import_clients_csv(SAMPLES / "clients.csv", store=None, progress=True)
    # then
    captured = capsys.readouterr()
    assert "clients clients.csv" in captured.err
    assert "7/7" in captured.err
    assert captured.out == ""
