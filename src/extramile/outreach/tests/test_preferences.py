import time

import pytest
from django.core import signing
from django.test import Client as HttpClient

from extramile.clients.services import current_consents
from extramile.moments.governance import consented_channels
from extramile.outreach.models import AuditEntry
from extramile.outreach.services import (
    PREFERENCE_SALT,
    preference_token,
    preference_url,
)

pytestmark = pytest.mark.django_db


def page(client) -> str:
    return f"/p/{preference_token(client)}/"


def test_the_preference_link_is_absolute_and_signed(scene):
    # when
    url = preference_url(scene.client)
    # then
    assert url.startswith("https://shop.example/p/")
    token = url.removeprefix("https://shop.example/p/").removesuffix("/")
    assert signing.loads(token, salt=PREFERENCE_SALT) == scene.client.pk


def test_the_page_shows_each_channel_with_its_consent_without_a_login(scene, client):
    # given: yes to email and SMS, nothing said about calls
    # when
    response = client.get(page(scene.client))
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "How Uptown contacts you" in html
    assert 'name="channels" value="email" checked' in html
    assert 'name="channels" value="sms" checked' in html
    assert 'name="channels" value="phone">' in html
    assert "m•••@example.com" in html
    assert "maya@example.com" not in html
    assert "•••0123" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert response["X-Robots-Tag"] == "noindex"
    assert "no-cache" in response["Cache-Control"]


def test_a_change_is_recorded_from_the_preference_page_and_applies_at_once(scene, client):
    # given
    url = page(scene.client)
    # when: Maya keeps SMS, leaves email, adds calls
    response = client.post(url, {"channels": ["sms", "phone"]})
    # then
    assert response.status_code == 302
    assert response["Location"] == url
    consents = current_consents(scene.client)
    assert {c: (consents[c].granted, consents[c].source) for c in ("email", "sms", "phone")} == {
        "email": (False, "preference page"),
        "sms": (True, "signup form"),
        "phone": (True, "preference page"),
    }
    assert consented_channels(scene.client) == {"sms", "phone"}
    entry = AuditEntry.objects.get()
    assert (entry.verb, entry.client, entry.detail) == (
        "preferences_changed",
        scene.client,
        {"changes": {"email": False, "phone": True}},
    )
    follow = client.get(response["Location"])
    assert "Saved. Your choices apply from now on." in follow.content.decode()


def test_opting_out_of_everything_withdraws_every_channel(scene, client):
    # when
    response = client.post(page(scene.client), {"everything": "1"})
    # then
    assert response.status_code == 302
    assert consented_channels(scene.client) == set()
    # calls were never agreed to, so there is nothing to withdraw there
    assert {c.channel: c.granted for c in current_consents(scene.client).values()} == {
        "email": False,
        "sms": False,
    }
    assert list(AuditEntry.objects.values_list("verb", flat=True)) == ["opted_out"]


def test_saving_the_same_choices_again_records_nothing(scene, client):
    # when
    client.post(page(scene.client), {"channels": ["email", "sms"]})
    # then
    assert scene.client.consents.count() == 2
    assert AuditEntry.objects.count() == 0


def test_a_channel_without_an_address_is_left_as_it_is(scene, client):
    # given: SMS consent on record, but no number any more
    scene.client.phone = ""
    scene.client.save()
    # when: the form cannot submit SMS (disabled), only email
    client.post(page(scene.client), {"channels": ["email"]})
    # then: the SMS consent is untouched
    assert current_consents(scene.client)["sms"].granted is True
    assert "phone" not in current_consents(scene.client)


def test_the_form_is_csrf_protected(scene):
    # given
    browser = HttpClient(enforce_csrf_checks=True)
    # when
    response = browser.post(page(scene.client), {"everything": "1"})
    # then
    assert response.status_code == 403
    assert consented_channels(scene.client) == {"email", "sms"}


def test_a_tampered_link_is_refused(scene, client):
    # given
    token = preference_token(scene.client)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    # when
    response = client.post(f"/p/{forged}/", {"everything": "1"})
    # then
    assert response.status_code == 400
    assert "This link is not valid." in response.content.decode()
    assert consented_channels(scene.client) == {"email", "sms"}


def test_an_expired_link_is_refused(scene, client):
    # given: a link signed 401 days ago
    class SignedLongAgo(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - 401 * 24 * 3600)

    token = SignedLongAgo(salt=PREFERENCE_SALT).sign_object(scene.client.pk, compress=True)
    # when
    response = client.get(f"/p/{token}/")
    # then
    assert response.status_code == 400
    assert "This link has expired." in response.content.decode()


def test_a_link_signed_for_something_else_is_refused(scene, client):
    # given: a valid signature with another salt
    token = signing.dumps(scene.client.pk, salt="another.purpose", compress=True)
    # when
    response = client.get(f"/p/{token}/")
    # then
    assert response.status_code == 400


def test_one_click_unsubscribe_withdraws_email_without_a_csrf_token(scene):
    # given: a mail provider posts as RFC 8058 says
    provider = HttpClient(enforce_csrf_checks=True)
    # when
    response = provider.post(f"{page(scene.client)}unsubscribe/", {"List-Unsubscribe": "One-Click"})
    # then
    assert response.status_code == 200
    assert consented_channels(scene.client) == {"sms"}
    assert current_consents(scene.client)["email"].source == "preference page"
