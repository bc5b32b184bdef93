"""The HTML part of an email: the links an associate or a survey writes into the text."""

from django.template.loader import render_to_string


def test_a_link_in_the_body_is_a_link_in_the_html_and_the_rest_stays_escaped():
    # given: a survey invitation with its one-tap link, and text that looks like markup
    body = (
        "Hello Maya,\n\nAnswer with one tap: https://shop.example/survey/abc:1x/\n\n<b>Thanks</b>"
    )
    # when
    html = render_to_string(
        "outreach/email.html",
        {
            "body": body,
            "products": [],
            "store": None,
            "preference_url": "https://shop.example/p/t/",
        },
    )
    # then
    assert '<a href="https://shop.example/survey/abc:1x/" rel="nofollow">' in html
    assert "<p>Hello Maya,</p>" in html
    assert "&lt;b&gt;Thanks&lt;/b&gt;" in html
