"""Introductions: suggested from offers and needs, asked on both sides, made when both agree."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from extramile.clients.services import client_timeline
from extramile.moments.engine_run import run_engine
from extramile.moments.models import Action, ActionKind, ActionState
from extramile.programs import services
from extramile.programs.models import Answer, HowAsked, Introduction, IntroductionState, Side
from extramile.programs.tests.conftest import NOW
from tests.factories import ClientFactory, NeedFactory, StoreFactory

pytestmark = pytest.mark.django_db


def introduction_actions() -> list[Action]:
    return list(Action.objects.filter(kind=ActionKind.INTRODUCTION).order_by("id"))


def test_an_offer_matching_a_need_suggests_one_introduction_and_asks_both_sides(
    olivia, ben, party_need, sofia, james
):
    # when
    offer = services.add_offer(olivia, text="caterer", by=sofia, now=NOW)
    # then
    intro = Introduction.objects.get()
    assert (intro.offer, intro.need) == (offer, party_need)
    assert (intro.offering_client, intro.needing_client) == (olivia, ben)
    assert intro.state == IntroductionState.SUGGESTED
    assert intro.shared_words == ["cater"]
    assert sorted(intro.consents.values_list("side", "answer")) == [
        ("needing", "pending"),
        ("offering", "pending"),
    ]
    asks = introduction_actions()
    assert [(a.client, a.associate, a.state, a.channel) for a in asks] == [
        (ben, james, ActionState.OPEN, "phone"),
        (olivia, sofia, ActionState.OPEN, "phone"),
    ]
    ben_ask = asks[0]
    assert ben_ask.purpose == "service"
    assert "Olivia Grant offers “caterer”, and Ben Hall needs" in ben_ask.reason
    assert "on Monday 16 June" in ben_ask.reason
    # the ask's script never names the other client: nothing is shared before both agree
    assert "Olivia" not in ben_ask.draft
    assert "One of our clients offers “caterer”" in ben_ask.draft
    assert "Ben" not in asks[1].draft
    # and the other side hears only that someone needs what they offer, not who or what for
    assert "One of our clients needs what you offer (“caterer”)" in asks[1].draft
    assert party_need.text not in asks[1].draft


def test_suggesting_again_and_a_second_engine_run_add_nothing(olivia, ben, party_need, sofia):
    # given
    services.add_offer(olivia, text="caterer", by=sofia, now=NOW)
    # when
    again = services.suggest_introductions(olivia.store, now=NOW)
    run_engine(now=NOW + dt.timedelta(minutes=5))
    run_engine(now=NOW + dt.timedelta(minutes=10))
    # then
    assert again == []
    assert Introduction.objects.count() == 1
    assert len(introduction_actions()) == 2


def test_needs_of_another_store_and_met_needs_are_not_matched(olivia, sofia, party_need):
    # given a caterer in Uptown; a need for one in Harbour, and one met in Uptown
    other = ClientFactory(store=StoreFactory(code="harbour"))
    NeedFactory(client=other, text="needs a caterer")
    party_need.met_at = NOW
    party_need.save()
    # when
    services.add_offer(olivia, text="caterer", by=sofia, now=NOW)
    # then
    assert not Introduction.objects.exists()


def test_it_is_made_only_after_both_agree_each_recorded_with_who_when_and_how(
    olivia, ben, party_need, sofia, james
):
    # given
    services.add_offer(olivia, text="caterer", by=sofia, now=NOW)
    intro = Introduction.objects.get()
    # when Ben agrees
    later = NOW + dt.timedelta(hours=1)
    services.record_answer(
        intro, side=Side.NEEDING, agreed=True, by=james, how=HowAsked.PHONE, now=later
    )
    # then it cannot be made yet
    intro.refresh_from_db()
    assert intro.state == IntroductionState.ASKED
    with pytest.raises(ValidationError, match="only after both clients agreed"):
        services.make_introduction(intro, by=james, how=HowAsked.EMAIL, now=later)
    ben_ask = Action.objects.get(keys__key=f"introduction:{intro.pk}:ask:needing")
    assert ben_ask.state == ActionState.WITHDRAWN
    assert "Ben Hall agreed at 13:30 on Wednesday 18 June (recorded by" in ben_ask.state_reason
    # when Olivia agrees too
    services.record_answer(
        intro, side=Side.OFFERING, agreed=True, by=sofia, how=HowAsked.IN_PERSON, now=later
    )
    # then the associate is asked to make it, with a draft naming both
    intro.refresh_from_db()
    assert intro.state == IntroductionState.AGREED
    make = Action.objects.get(keys__key=f"introduction:{intro.pk}:make")
    assert (make.client, make.associate, make.state) == (ben, james, ActionState.OPEN)
    assert "Ben Hall and Olivia Grant both agreed" in make.reason
    assert "Olivia Grant" in make.draft
    assert "Ben Hall" in make.draft
    assert "+12125550101" in make.draft
    # when it is made
    made_at = NOW + dt.timedelta(days=1)
    services.make_introduction(intro, by=james, how=HowAsked.EMAIL, note="Sent both", now=made_at)
    # then
    intro.refresh_from_db()
    assert intro.state == IntroductionState.MADE
    assert (intro.made_at, intro.made_by, intro.made_how) == (made_at, james, "email")
    consents = {c.side: c for c in intro.consents.all()}
    assert (consents["needing"].answer, consents["needing"].recorded_by) == ("agreed", james)
    assert consents["needing"].how == "phone"
    assert (consents["offering"].answered_at, consents["offering"].how) == (later, "in_person")
    make.refresh_from_db()
    assert make.state == ActionState.WITHDRAWN


def test_one_side_declining_closes_it_for_good(olivia, ben, party_need, sofia, james):
    # given Ben agreed
    services.add_offer(olivia, text="caterer", by=sofia, now=NOW)
    intro = Introduction.objects.get()
    services.record_answer(intro, side=Side.NEEDING, agreed=True, by=james, how="phone", now=NOW)
    # when Olivia declines
    services.record_answer(intro, side=Side.OFFERING, agreed=False, by=sofia, how="sms", now=NOW)
    # then
    intro.refresh_from_db()
    assert intro.state == IntroductionState.DECLINED
    assert intro.closed_reason == "Olivia Grant declined at 12:30 on Wednesday 18 June."
    with pytest.raises(ValidationError):
        services.make_introduction(intro, by=james, how="email", now=NOW)
    with pytest.raises(ValidationError, match="already declined"):
        services.record_answer(
            intro, side=Side.OFFERING, agreed=True, by=sofia, how="phone", now=NOW
        )
    assert not Action.objects.filter(keys__key=f"introduction:{intro.pk}:make").exists()
    assert {a.state for a in introduction_actions()} == {ActionState.WITHDRAWN}


def test_the_same_answer_twice_changes_nothing(olivia, ben, party_need, sofia, james):
    # given
    services.add_offer(olivia, text="caterer", by=sofia, now=NOW)
    intro = Introduction.objects.get()
    first = services.record_answer(
        intro, side=Side.NEEDING, agreed=True, by=james, how="phone", now=NOW
    )
    # when
    again = services.record_answer(
        intro, side=Side.NEEDING, agreed=True, by=sofia, how="email", now=NOW + dt.timedelta(1)
    )
    # then
    assert (first.changed, again.changed) == (True, False)
    consent = intro.consents.get(side=Side.NEEDING)
    assert (consent.answer, consent.recorded_by, consent.how) == (Answer.AGREED, james, "phone")


def test_an_answer_needs_to_say_how_it_was_given(olivia, ben, party_need, sofia, james):
    services.add_offer(olivia, text="caterer", by=sofia, now=NOW)
    intro = Introduction.objects.get()
    with pytest.raises(ValidationError, match="Say how"):
        services.record_answer(intro, side=Side.NEEDING, agreed=True, by=james, how="", now=NOW)


def test_withdrawing_the_offer_withdraws_its_open_introductions(olivia, ben, party_need, sofia):
    # given
    offer = services.add_offer(olivia, text="caterer", by=sofia, now=NOW)
    # when
    services.withdraw_offer(offer, by=sofia, now=NOW)
    # then
    intro = Introduction.objects.get()
    assert intro.state == IntroductionState.WITHDRAWN
    assert {a.state for a in introduction_actions()} == {ActionState.WITHDRAWN}


def test_marking_a_side_asked_moves_the_suggestion_on(olivia, ben, party_need, sofia):
    services.add_offer(olivia, text="caterer", by=sofia, now=NOW)
    intro = Introduction.objects.get()
    services.mark_asked(intro, side=Side.OFFERING, by=sofia, how="phone", now=NOW)
    intro.refresh_from_db()
    assert intro.state == IntroductionState.ASKED
    consent = intro.consents.get(side=Side.OFFERING)
    assert (consent.asked_at, consent.asked_by, consent.answer) == (NOW, sofia, "pending")


def test_the_timeline_shows_the_suggestion_the_answer_and_the_introduction_made(
    olivia, ben, party_need, sofia, james
):
    # given
    services.add_offer(olivia, text="caterer", by=sofia, now=NOW)
    intro = Introduction.objects.get()
    services.record_answer(intro, side=Side.NEEDING, agreed=True, by=james, how="phone", now=NOW)
    services.record_answer(intro, side=Side.OFFERING, agreed=True, by=sofia, how="phone", now=NOW)
    services.make_introduction(intro, by=james, how="email", now=NOW + dt.timedelta(hours=2))
    # when
    kinds = [entry.kind for entry in client_timeline(ben)]
    # then
    assert kinds[0] == "introduction_made"
    assert sorted(k for k in kinds if k.startswith("introduction_")) == [
        "introduction_agreed",
        "introduction_made",
        "introduction_suggested",
    ]
    made = next(e for e in client_timeline(ben) if e.kind == "introduction_made")
    assert made.title == "Introduction made: Olivia Grant (caterer) → Ben Hall"
    assert made.actor == james.display_name
