import json

import pytest
from django.core.management import call_command

from extramile.catalog.models import Product
from extramile.moments.models import Event
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def arrival(event_id, ref, **fields):
    return {
        "id": event_id,
        "type": "product.arrived",
        "occurred_at": "2026-03-14T09:00:00-05:00",
        "data": {"product": {"id": ref}, "arrived_on": "2026-03-14"},
        **fields,
    }


def run_load(path, capsys):
    code = 0
    try:
        call_command("events", "load", str(path), "--no-progress")
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().out


@pytest.fixture
def events_file(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = [
        json.dumps(arrival("evt-1", "SU-NAVY")),
        "",
        "{not json",
        json.dumps(arrival("evt-2", "SU-GREY", occurred_at="2026-03-14T09:00:00")),
        json.dumps(arrival("evt-3", "UNKNOWN")),
        json.dumps({"id": "evt-4", "type": "order.placed", "occurred_at": "2026-03-14T09:00:00Z"}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_loading_keeps_good_lines_and_names_each_bad_one(events_file, capsys):
    # given
    ProductFactory(external_ref="SU-NAVY", arrived_on=None)

    # when
    code, out = run_load(events_file, capsys)

    # then
    assert code == 1
    assert out.splitlines() == [
        "events.jsonl: 2 events recorded, 0 already known (unchanged), 3 lines refused.",
        "  error: events.jsonl:3: not a JSON object on one line (Expecting property name "
        "enclosed in double quotes)",
        '  error: events.jsonl:4: occurred_at: "2026-03-14T09:00:00" is not a date and time with '
        "an offset, such as 2026-03-14T15:20:00-05:00 (a time without its offset is refused: "
        "say which time zone it is in)",
        "  error: events.jsonl:6: data: is required",
        "  error: events.jsonl:6: store: is required: this type of event belongs to a store",
    ]
    assert sorted(Event.objects.values_list("event_id", "source")) == [
        ("evt-1", "file"),
        ("evt-3", "file"),
    ]


def test_loading_twice_changes_nothing(events_file, capsys):
    # given
    ProductFactory(external_ref="SU-NAVY", arrived_on=None)
    run_load(events_file, capsys)
    before = list(Event.objects.order_by("id").values_list("id", "event_id", "received_at"))

    # when
    code, out = run_load(events_file, capsys)

    # then
    assert code == 1
    assert out.splitlines()[0] == (
        "events.jsonl: 0 events recorded, 2 already known (unchanged), 3 lines refused."
    )
    assert list(Event.objects.order_by("id").values_list("id", "event_id", "received_at")) == before


@pytest.mark.django_db(transaction=True)
def test_loaded_events_are_applied_and_failures_are_reported_by_line(tmp_path, capsys):
    # given
    ProductFactory(external_ref="SU-NAVY", arrived_on=None)
    path = tmp_path / "arrivals.jsonl"
    path.write_text(
        json.dumps(arrival("evt-1", "SU-NAVY")) + "\n" + json.dumps(arrival("evt-2", "NOPE")),
        encoding="utf-8",
    )

    # when: each line commits on its own, and the embedded default processes it at once
    code, out = run_load(path, capsys)

    # then
    assert code == 0
    assert out.splitlines() == [
        "arrivals.jsonl: 2 events recorded, 0 already known (unchanged), 0 lines refused.",
        "  not applied: arrivals.jsonl:2: evt-2: data.product.id: no product 'NOPE' is known "
        "(send product.upserted first)",
    ]
    assert str(Product.objects.get().arrived_on) == "2026-03-14"
