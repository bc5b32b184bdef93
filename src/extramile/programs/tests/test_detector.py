"""The introduction detector on the engine's sweep: what each open introduction needs next."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from extramile.moments.detectors import introduction as detector
from extramile.moments.engine_run import run_engine
from extramile.moments.models import Action, ActionKind
from extramile.programs.models import (
    Answer,
    Introduction,
    IntroductionConsent,
    IntroductionState,
    Offer,
    Side,
)
from extramile.programs.tests.conftest import NOW

pytestmark = pytest.mark.django_db

RELATIVE = re.compile(r"\b(yesterday|today|tomorrow|ago|last week|this morning)\b", re.I)


@pytest.fixture
def recorded(olivia, ben, party_need) -> Introduction:
    """An introduction written without its actions, as after a crash before proposing."""
    offer = Offer.objects.create(client=olivia, text="caterer", created_at=NOW)
    intro = Introduction.objects.create(
        store=olivia.store,
        offer=offer,
        need=party_need,
        offering_client=olivia,
        needing_client=ben,
        score=1.0,
        shared_words=["cater"],
        suggested_at=NOW,
    )
    for side, client in ((Side.OFFERING, olivia), (Side.NEEDING, ben)):
        IntroductionConsent.objects.create(introduction=intro, side=side, client=client)
    return intro


def test_the_sweep_asks_each_side_still_to_answer(recorded, olivia, ben):
    # given Olivia already agreed
    IntroductionConsent.objects.filter(introduction=recorded, side=Side.OFFERING).update(
        answer=Answer.AGREED, answered_at=NOW
    )
    recorded.state = IntroductionState.ASKED
    recorded.save()
    # when
    found = detector.detect(now=NOW, stores=[olivia.store])
    # then only Ben is to be asked
    assert [(c.client, c.key) for c in found] == [(ben, f"introduction:{recorded.pk}:ask:needing")]
    assert found[0].due_at == NOW
    assert not RELATIVE.search(found[0].reason)


def test_the_engine_run_makes_the_asks_once(recorded):
    run_engine(now=NOW)
    run_engine(now=NOW + dt.timedelta(minutes=5))
    assert Action.objects.filter(kind=ActionKind.INTRODUCTION).count() == 2


def test_closed_introductions_need_nothing(recorded, olivia):
    for state in (IntroductionState.MADE, IntroductionState.DECLINED, IntroductionState.DISMISSED):
        recorded.state = state
        recorded.save()
        assert detector.detect(now=NOW, stores=[olivia.store]) == []


def test_both_agreed_asks_to_make_it_naming_both_in_words_true_whenever_read(recorded, ben):
    # given
    IntroductionConsent.objects.filter(introduction=recorded).update(
        answer=Answer.AGREED, answered_at=NOW, how="phone"
    )
    recorded.state = IntroductionState.AGREED
    recorded.save()
    # when
    (make,) = detector.candidates_for(recorded, now=NOW)
    # then
    assert (make.client, make.key) == (ben, f"introduction:{recorded.pk}:make")
    assert make.reason.startswith(
        "Ben Hall and Olivia Grant both agreed to be introduced — "
        "Ben on Wednesday 18 June (phone call), Olivia on Wednesday 18 June (phone call)."
    )
    assert not RELATIVE.search(make.reason)
    assert make.subject == "Meet Olivia Grant — Uptown"
