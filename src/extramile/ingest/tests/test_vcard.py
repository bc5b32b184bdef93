from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from extramile.accounts.management.commands.stats import collect_stats
from extramile.clients.models import Client, Consent, ContactPoint, ImportantDate, Note
from extramile.ingest.models import InboundEvent
from extramile.ingest.report import ImportReport
from extramile.ingest.vcard import ImportSetupError, import_vcard
from tests.factories import ClientFactory

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def write(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_bytes("\r\n".join(lines).encode() + b"\r\n")
    return path


def errors_of(report: ImportReport) -> list[str]:
    return [str(error) for error in report.errors]


def card(*lines: str, version: str = "3.0") -> list[str]:
    return ["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD"]


@pytest.mark.django_db
def test_vcard_sample_makes_each_contact_a_client_of_the_associate(associate_a):
    # when
    report = import_vcard(SAMPLES / "contacts.vcf", store=None, associate="ana")
    # then
    assert report.errors == []
    assert report.created == {
        "clients": 5,
        "contact_points": 3,
        "dates": 8,
        "tags": 3,
        "notes": 4,
    }
    assert set(Client.objects.values_list("store", "primary_associate")) == {
        (associate_a.store_id, associate_a.pk)
    }
    camille = Client.objects.get(last_name="Laurent")
    assert (camille.first_name, camille.email, camille.phone) == (
        "Camille",
        "camille.laurent@example.com",
        "+14155550142",
    )
    assert camille.address == "12 Linden Street\nSan Francisco, CA 94102\nUnited States"
    assert sorted(camille.contact_points.values_list("kind", "value", "label")) == [
        ("email", "c.laurent@ateliernord.example", "work"),
        ("phone", "+14155550199", "work"),
    ]
    assert sorted(camille.important_dates.values_list("kind", "month", "day", "year")) == [
        ("anniversary", 6, 16, 2012),
        ("birthday", 4, 12, None),
    ]
    assert sorted(camille.notes.values_list("body", "author")) == [
        (
            "Prefers navy, slim fit. Wedding anniversary gift for her husband each June.",
            associate_a.pk,
        ),
        ("Works at Atelier Nord (Buyer).", associate_a.pk),
    ]
    assert sorted(camille.tags.values_list("name", flat=True)) == ["VIP", "Wedding 2027"]
    robert = Client.objects.get(last_name="Hayes")
    assert (robert.email, robert.phone) == ("", "+12125550184")
    juergen = Client.objects.get(phone="+4915123456789")
    assert (juergen.first_name, juergen.last_name, juergen.email) == (
        "Jürgen",
        "Müller",
        "juergen.mueller@example.de",
    )
    assert list(juergen.contact_points.values_list("kind", "value", "label")) == [
        ("phone", "+12125550187", "work")
    ]
    assert list(juergen.notes.values_list("body", flat=True)) == [
        "Größe 52 jackets; in New York each March for the trade fair."
    ]
    assert sorted(juergen.important_dates.values_list("kind", "month", "day", "year")) == [
        ("anniversary", 9, 27, 2008),
        ("birthday", 11, 3, 1979),
    ]
    aiko = Client.objects.get(last_name="Tanaka")
    assert list(aiko.tags.values_list("name", flat=True)) == ["Knitwear"]
    assert list(aiko.important_dates.values_list("kind", "month", "day", "year")) == [
        ("birthday", 7, 22, None)
    ]
    priya = Client.objects.get(last_name="Raman")
    assert (priya.email, priya.phone) == ("priya.raman@example.com", "+16465550123")
    assert sorted(priya.important_dates.values_list("kind", "month", "day", "year")) == [
        ("anniversary", 9, 12, 2015),
        ("birthday", 3, 5, 1988),
    ]
    assert Consent.objects.count() == 0


@pytest.mark.django_db
def test_vcard_same_file_twice_changes_nothing(associate_a):
    # given
    import_vcard(SAMPLES / "contacts.vcf", store=None, associate="ana")
    stats = collect_stats()
    counts = (ContactPoint.objects.count(), Note.objects.count(), ImportantDate.objects.count())
    # when
    report = import_vcard(SAMPLES / "contacts.vcf", store=None, associate="ana")
    # then
    assert (report.created, report.updated, report.unchanged, report.errors) == ({}, {}, 5, [])
    assert collect_stats() == stats
    assert (
        ContactPoint.objects.count(),
        Note.objects.count(),
        ImportantDate.objects.count(),
    ) == counts
    event = InboundEvent.objects.get()
    assert (event.source, event.topic) == ("vcard", "contacts")


@pytest.mark.django_db
def test_vcard_fills_an_existing_client_without_overwriting_it(associate_a, tmp_path):
    # given
    known = ClientFactory(
        store=associate_a.store, first_name="Cam", last_name="Laurent", email="", phone=""
    )
    ContactPoint.objects.create(client=known, kind="phone", value="+14155550142", label="old")
    path = write(
        tmp_path,
        "one.vcf",
        *card(
            "N:Laurent;Camille;;;",
            "EMAIL;TYPE=INTERNET:camille@example.com",
            "TEL;TYPE=CELL:(415) 555-0142",
        ),
    )
    # when
    report = import_vcard(path, store=None, associate="ana")
    # then
    assert report.updated == {"clients": 1}
    assert report.created == {}
    known.refresh_from_db()
    assert (known.first_name, known.email, known.phone) == (
        "Cam",
        "camille@example.com",
        "+14155550142",
    )
    assert known.primary_associate == associate_a
    assert Client.objects.count() == 1


@pytest.mark.django_db
def test_vcard_keeps_the_primary_associate_a_client_already_has(associate_a, tmp_path):
    # given
    colleague = type(associate_a).objects.create(
        username="cleo", role="associate", store=associate_a.store
    )
    known = ClientFactory(
        store=associate_a.store, email="x@example.com", primary_associate=colleague
    )
    path = write(tmp_path, "one.vcf", *card("FN:X Y", "EMAIL:x@example.com"))
    # when
    import_vcard(path, store=None, associate="ana")
    # then
    known.refresh_from_db()
    assert known.primary_associate == colleague


@pytest.mark.django_db
def test_vcard_broken_cards_are_reported_and_the_others_kept(associate_a, tmp_path):
    # given
    path = write(
        tmp_path,
        "phone.vcf",
        *card("FN:Good One", "EMAIL:good@example.com"),
        *card("FN:Bad Email", "EMAIL:not-an-email"),
        *card("FN:Bad Day", "TEL:+1 212 555 0100", "BDAY:1980-13-45"),
        *card("FN:Only Name"),
        *card("FN:Broken Line", "EMAIL;TYPE=INTERNET"),
        *card("FN:Good Two", "TEL;CELL:+1 212 555 0199", version="2.1"),
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:Never Closed",
        "EMAIL:open@example.com",
    )
    # when
    report = import_vcard(path, store=None, associate="ana")
    # then
    assert errors_of(report) == [
        "phone.vcf, card 2, field 'EMAIL': 'not-an-email' is not an email address",
        "phone.vcf, card 3, field 'BDAY': '1980-13-45' is not a date in the calendar",
        "phone.vcf, card 4, field 'EMAIL': the card has neither an email nor a phone number, "
        "so the client could not be recognised again or contacted",
        "phone.vcf, card 5, field 'EMAIL': line 24 of the file cannot be read: "
        "'EMAIL;TYPE=INTERNET'",
        "phone.vcf, card 7, field 'END': the card is never closed (END:VCARD is missing)",
    ]
    assert sorted(Client.objects.values_list("first_name", "last_name")) == [
        ("Good", "One"),
        ("Good", "Two"),
    ]


@pytest.mark.django_db
def test_vcard_photo_and_android_quoted_printable_are_read(associate_a, tmp_path):
    # given: an Android 2.1 card with a damaged photo and a soft-broken quoted-printable note
    path = write(
        tmp_path,
        "android.vcf",
        "BEGIN:VCARD",
        "VERSION:2.1",
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Dvo=C5=99=C3=A1k;Anton=C3=ADn;;;",
        "TEL;CELL:+420 601 555 123",
        "EMAIL;HOME;PREF:antonin@example.cz",
        "EMAIL;WORK:a.dvorak@example.com",
        "PHOTO;ENCODING=BASE64;JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD",
        "  AAAAAAA",
        "",
        "NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Likes hand-made sh=",
        "oes.",
        "CATEGORIES:vip,VIP",
        "END:VCARD",
    )
    # when
    report = import_vcard(path, store=None, associate="ana")
    # then
    assert report.errors == []
    client = Client.objects.get()
    assert (client.first_name, client.last_name, client.email, client.phone) == (
        "Antonín",
        "Dvořák",
        "antonin@example.cz",
        "+420601555123",
    )
    assert list(client.contact_points.values_list("value", "label")) == [
        ("a.dvorak@example.com", "work")
    ]
    assert list(client.notes.values_list("body", flat=True)) == ["Likes hand-made shoes."]
    assert list(client.tags.values_list("name", flat=True)) == ["vip"]


@pytest.mark.django_db
def test_vcard_same_person_twice_in_the_file_is_refused(associate_a, tmp_path):
    # given
    path = write(
        tmp_path,
        "dup.vcf",
        *card("FN:Ada Lovelace", "EMAIL:ada@example.com"),
        *card("FN:Ada L.", "EMAIL:ADA@example.com"),
    )
    # when
    report = import_vcard(path, store=None, associate="ana")
    # then
    assert errors_of(report) == [
        "dup.vcf, card 2, field 'email': 'ada@example.com' belongs to the client of card 1; "
        "give each client one card"
    ]
    assert Client.objects.count() == 1


@pytest.mark.django_db
def test_vcard_needs_an_associate_or_a_store(associate_a, associate_b, store_a):
    # when / then
    with pytest.raises(ValueError, match=r"needs --associate USERNAME .* or --store CODE"):
        import_vcard(SAMPLES / "contacts.vcf", store=None, associate=None)
    with pytest.raises(ImportSetupError, match=r"No member of staff has the username 'zed'"):
        import_vcard(SAMPLES / "contacts.vcf", store=None, associate="zed")
    with pytest.raises(ImportSetupError, match=r"'ben' works at harbour, not uptown"):
        import_vcard(SAMPLES / "contacts.vcf", store=store_a, associate="ben")
    assert Client.objects.count() == 0


@pytest.mark.django_db
def test_vcard_with_only_a_store_has_no_primary_associate(store_b):
    # when
    report = import_vcard(SAMPLES / "contacts.vcf", store=store_b, associate=None)
    # then
    assert report.created["clients"] == 5
    assert set(Client.objects.values_list("store", "primary_associate")) == {(store_b.pk, None)}
    assert set(Note.objects.values_list("author", flat=True)) == {None}


@pytest.mark.django_db
def test_import_command_loads_vcards_for_an_associate(associate_a, capsys):
    # when
    call_command("import_data", "vcard", str(SAMPLES / "contacts.vcf"), "--associate", "ana")
    # then
    assert capsys.readouterr().out.startswith("vcard: created 5 clients")
    assert Client.objects.filter(primary_associate=associate_a).count() == 5


@pytest.mark.django_db
def test_import_command_explains_a_missing_associate(associate_a):
    # when / then
    with pytest.raises(CommandError, match="needs --associate USERNAME"):
        call_command("import_data", "vcard", str(SAMPLES / "contacts.vcf"))
