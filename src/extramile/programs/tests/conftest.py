"""Fixtures of the programs' tests: a store, its associates, and a caterer and a client in need."""

from __future__ import annotations

import datetime as dt

import pytest

from extramile.accounts.models import Role, Store, User
from extramile.clients.models import Client, Need
from tests.factories import ClientFactory, NeedFactory, UserFactory

# 12:30 in New York (EDT): daytime for the store and its clients.
NOW = dt.datetime(2025, 6, 18, 16, 30, tzinfo=dt.UTC)


@pytest.fixture
def sofia(store_a: Store) -> User:
    return UserFactory(username="sofia", first_name="Sofia", role=Role.ASSOCIATE, store=store_a)


@pytest.fixture
def james(store_a: Store) -> User:
    return UserFactory(username="james", first_name="James", role=Role.ASSOCIATE, store=store_a)


@pytest.fixture
def olivia(store_a: Store, sofia: User) -> Client:
    """A client who runs a catering business."""
    return ClientFactory(
        store=store_a,
        first_name="Olivia",
        last_name="Grant",
        phone="+12125550101",
        primary_associate=sofia,
        external_ref="C-OLIVIA",
    )


@pytest.fixture
def ben(store_a: Store, james: User) -> Client:
    """A client who needs a caterer."""
    return ClientFactory(
        store=store_a,
        first_name="Ben",
        last_name="Hall",
        phone="+12125550102",
        primary_associate=james,
        external_ref="C-BEN",
    )


@pytest.fixture
def party_need(ben: Client) -> Need:
    return NeedFactory(
        client=ben,
        text="Needs a caterer for a summer party",
        stated_at=NOW - dt.timedelta(days=2),
    )
