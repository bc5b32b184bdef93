import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from extramile.accounts.management.commands.stats import collect_stats
from extramile.accounts.models import User
from extramile.clients.models import Client
from extramile.demo.generator import STAFF, build_demo, spoken_date

NOW = "2025-06-18T16:30:00+00:00"


@pytest.fixture
def scratch(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STATIC_ROOT = tmp_path / "static"
    # Argon2 is checked in test_demo.py; here a fast hasher keeps three loads quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path


def run_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", "--no-serve", "--clients", "30", "--now", NOW, *args, stdout=out)
    return out.getvalue()


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_twice_keeps_the_data_and_says_so(scratch):
    # given
    first = run_demo()
    counts = collect_stats()
    names = sorted(Client.objects.values_list("first_name", "last_name"))
    # when
    second = run_demo()
    # then
    assert "Loaded the demo store" in first
    assert "already loaded (its stores or logins exist): nothing added" in second
    assert collect_stats() == counts
    assert sorted(Client.objects.values_list("first_name", "last_name")) == names
    assert counts["clients"] == 30


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_reset_rebuilds_the_same_demo(scratch):
    # given
    run_demo()
    counts = collect_stats()
    names = sorted(Client.objects.values_list("first_name", "last_name", "email"))
    Client.objects.filter(last_name="Ashcroft").update(first_name="Changed")
    # when
    output = run_demo("--reset")
    # then
    assert "Loaded the demo store" in output
    assert collect_stats() == counts
    assert sorted(Client.objects.values_list("first_name", "last_name", "email")) == names


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_prints_logins_stories_and_url(scratch):
    # when
    output = run_demo("--port", "8123")
    # then
    for spec in STAFF:
        line = next(x for x in output.splitlines() if x.strip().startswith(spec.username + " "))
        assert spec.password in line
    walter = User.objects.get(username="walter")
    assert f"leaving on {spoken_date(walter.leaving_on)}" in output
    assert "Edmund Ashcroft" in output
    assert "story:s7-online-fit-check" in output
    assert re.search(r"^  clients +30$", output, re.MULTILINE)
    assert "Open http://127.0.0.1:8123/ and sign in." in output


@pytest.mark.django_db
def test_demo_refuses_a_bad_now(scratch):
    with pytest.raises(CommandError, match="not an ISO date"):
        call_command("demo", "--no-serve", "--now", "next tuesday")
    assert not User.objects.exists()


def test_same_seed_builds_the_same_boutique_and_another_seed_does_not():
    # given
    now = dt.datetime(2025, 6, 18, 16, 30, tzinfo=dt.UTC)

    def fingerprint(seed: int) -> list[tuple[str, str, str, str]]:
        data = build_demo(seed=seed, now=now, clients=40)
        clients = [(c.first_name, c.last_name, c.email, c.phone) for c in data.clients]
        orders = [(str(o.placed_at), o.external_ref, str(o.total), o.status) for o in data.orders]
        return clients + orders

    # when
    first, again, other = fingerprint(7), fingerprint(7), fingerprint(8)
    # then
    assert first == again
    assert first != other
