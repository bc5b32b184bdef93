import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from tests.factories import UserFactory

PASSWORD = "correct horse battery 7"


@pytest.fixture
def zoe(store_a):
    return UserFactory(username="zoe", store=store_a, password=PASSWORD)


@pytest.mark.django_db
def test_login_with_right_password_opens_today(client, zoe):
    # when
    response = client.post(reverse("login"), {"username": "zoe", "password": PASSWORD})
    # then
    assert response.status_code == 302
    assert response.url == reverse("moments:today")
    assert client.session[SESSION_KEY] == str(zoe.pk)


@pytest.mark.django_db
def test_login_with_wrong_password_shows_the_form_again(client, zoe):
    # when
    response = client.post(reverse("login"), {"username": "zoe", "password": "nope"})
    # then
    assert response.status_code == 200
    assert "Please enter a correct username and password." in response.content.decode()
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2(zoe):
    # then
    assert zoe.password.startswith("argon2$argon2id$")
    assert PASSWORD not in zoe.password


@pytest.mark.django_db
def test_sixth_attempt_after_five_failures_is_refused_even_with_right_password(client, zoe):
    # given
    failures = [
        client.post(reverse("login"), {"username": "zoe", "password": "wrong"}).status_code
        for _ in range(5)
    ]
    # when
    response = client.post(reverse("login"), {"username": "zoe", "password": PASSWORD})
    # then
    assert failures == [200, 200, 200, 200, 429]  # the fifth failure already locks
    assert response.status_code == 429
    assert "accounts/locked_out.html" in [t.name for t in response.templates]
    assert "Too many sign-in attempts" in response.content.decode()
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_four_failures_do_not_lock_the_account(client, zoe):
    # given
    for _ in range(4):
        client.post(reverse("login"), {"username": "zoe", "password": "wrong"})
    # when
    response = client.post(reverse("login"), {"username": "zoe", "password": PASSWORD})
    # then
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(zoe.pk)


@pytest.mark.django_db
def test_lockout_of_one_username_leaves_others_alone(client, zoe, store_a):
    # given
    UserFactory(username="yan", store=store_a, password=PASSWORD)
    for _ in range(5):
        client.post(reverse("login"), {"username": "zoe", "password": "wrong"})
    # when
    response = client.post(reverse("login"), {"username": "yan", "password": PASSWORD})
    # then
    assert response.status_code == 302


@pytest.mark.django_db
def test_login_page_renders_form_with_csrf(client):
    # when
    html = client.get(reverse("login")).content.decode()
    # then
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="username"' in html
    assert 'name="password"' in html


@pytest.mark.django_db
def test_logout_needs_post(client, zoe):
    # given
    client.post(reverse("login"), {"username": "zoe", "password": PASSWORD})
    # when
    get = client.get(reverse("logout"))
    post = client.post(reverse("logout"))
    # then
    assert get.status_code == 405
    assert post.status_code == 302
    assert post.url == reverse("login")
    assert SESSION_KEY not in client.session
