"""The Uptown store and its staff, shared by the continuity and the staff tests."""

from __future__ import annotations

import pytest

from extramile.accounts.models import Role, Store, User
from tests.factories import StoreFactory, UserFactory


@pytest.fixture
def store() -> Store:
    return StoreFactory(code="uptown", name="Uptown", time_zone="America/New_York")


@pytest.fixture
def walter(store: Store) -> User:
    return UserFactory(username="walter", first_name="Walter", last_name="Kessler", store=store)


@pytest.fixture
def sofia(store: Store) -> User:
    return UserFactory(username="sofia", first_name="Sofia", last_name="Marchetti", store=store)


@pytest.fixture
def james(store: Store) -> User:
    return UserFactory(username="james", first_name="James", last_name="Whitaker", store=store)


@pytest.fixture
def manager(store: Store) -> User:
    return UserFactory(username="margaret", role=Role.MANAGER, store=store)
