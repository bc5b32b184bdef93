"""What every signed-in page shares: the menu, and the pages shown when a request is refused."""

import pytest

pytestmark = pytest.mark.django_db


def test_an_associate_finds_insights_in_the_menu(web_as, associate_a):
    # when
    page = web_as(associate_a).get("/today/").content.decode()
    # then: their own numbers are one tap away, as for a manager; Staff and Admin are not
    assert '<a href="/insights/">Insights</a>' in page
    assert 'href="/staff/"' not in page
    assert 'href="/admin/"' not in page


def test_a_refused_page_says_why_inside_the_app(web_as, associate_a):
    # when: an associate opens the team board, which is for managers
    response = web_as(associate_a).get("/today/team/")
    # then: the reason, with the menu and a way back, not a bare "403 Forbidden"
    assert response.status_code == 403
    page = response.content.decode()
    assert "<h1>Not allowed</h1>" in page
    assert "The team board is for managers." in page
    assert 'aria-label="Main"' in page
    assert '<a href="/today/">\u2039 Back to Today</a>' in page
