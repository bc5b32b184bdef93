import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from extramile.accounts.models import ApiToken, Role, User
from tests.factories import ClientFactory, OrderLineFactory, StoreFactory


@pytest.mark.django_db
def test_stats_json_counts_every_kind(capsys, associate_a):
    # given
    line = OrderLineFactory(order__store=associate_a.store)
    ClientFactory(store=associate_a.store)
    # when
    call_command("stats", "--json")
    # then
    stats = json.loads(capsys.readouterr().out)
    assert stats == {
        "stores": 1,
        "associates": 1,
        "clients": 2,
        "products": 1,
        "variants": 1,
        "orders": 1,
        "order_lines": 1,
    }
    assert line.order.client.store == associate_a.store


@pytest.mark.django_db
def test_createuser_hashes_password_with_argon2():
    StoreFactory(code="uptown")
    call_command("createuser", "zoe", "--store", "uptown", "--password", "a long passphrase 9")
    user = User.objects.get(username="zoe")
    assert user.role == Role.ASSOCIATE
    assert user.password.startswith("argon2")
    assert user.check_password("a long passphrase 9")


@pytest.mark.django_db
def test_createuser_refuses_associate_without_store():
    with pytest.raises(CommandError, match="store"):
        call_command("createuser", "zoe", "--password", "a long passphrase 9")
    assert not User.objects.filter(username="zoe").exists()


@pytest.mark.django_db
def test_createtoken_prints_a_secret_stored_only_as_hash(capsys, associate_a):
    call_command("createtoken", associate_a.username)
    raw = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(user=associate_a)
    assert raw.startswith("em_")
    assert raw not in token.key_hash
    assert ApiToken.objects.active_for_secret(raw) == token
    assert ApiToken.objects.active_for_secret(raw + "x") is None
