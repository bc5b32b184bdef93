"""The programs' part of the demo: a suggested introduction and two stories, one recognised."""

from __future__ import annotations

import datetime as dt

import pytest

from extramile.demo.services import load_demo
from extramile.moments.models import Action, ActionKind
from extramile.programs.models import Introduction, IntroductionState, Story

NOW = dt.datetime(2025, 6, 18, 16, 30, tzinfo=dt.UTC)


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_suggests_the_caterer_introduction_and_tells_two_stories(settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path
    # when
    load_demo(seed=2026, now=NOW, clients=60)
    # then
    intro = Introduction.objects.select_related("offer", "need", "offering_client").get()
    assert intro.state == IntroductionState.SUGGESTED
    assert intro.offer.text == "caterer"
    assert intro.offering_client.tags.filter(name="story:s9-raving-fan").exists()
    assert intro.need.text.startswith("Needs a caterer for a summer party")
    assert intro.store.code == "uptown"
    asks = Action.objects.filter(kind=ActionKind.INTRODUCTION)
    assert {a.client_id for a in asks} == {intro.offering_client_id, intro.needing_client_id}
    stories = list(Story.objects.order_by("happened_on"))
    assert len(stories) == 2
    assert [s.recognised_by.username if s.recognised_by else None for s in stories] == [
        "margaret",
        None,
    ]
