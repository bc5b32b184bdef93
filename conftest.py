"""Fixtures for every test: two stores, their staff, and logged-in clients for each role."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from extramile.accounts.models import Role, Store, User
from tests.factories import StoreFactory, UserFactory


@pytest.fixture
def store_a() -> Store:
    return StoreFactory(code="uptown", name="Uptown")


@pytest.fixture
def store_b() -> Store:
    return StoreFactory(code="harbour", name="Harbour")


@pytest.fixture
def associate_a(store_a: Store) -> User:
    return UserFactory(username="ana", role=Role.ASSOCIATE, store=store_a)


@pytest.fixture
def associate_b(store_b: Store) -> User:
    return UserFactory(username="ben", role=Role.ASSOCIATE, store=store_b)


@pytest.fixture
def manager_a(store_a: Store) -> User:
    return UserFactory(username="mia", role=Role.MANAGER, store=store_a)


@pytest.fixture
def admin_user() -> User:
    return UserFactory(username="root", role=Role.ADMIN, store=None)


def logged_in(user: User) -> HttpClient:
    """An HTTP client with a session for this user (no password round-trip)."""
    http = HttpClient()
    http.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return http


@pytest.fixture
def web_as():
    """Return a function that gives a logged-in test client for a user."""
    return logged_in
