"""The task API on the embedded default: after commit, in-process, errors contained."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction

from extramile.tasks import PeriodicRunner, enqueue, periodic, run_task, task, task_name

CALLS: list[str] = []
TICKS = threading.Event()


@task
def remember(*, word: str) -> None:
    CALLS.append(word)


@task
def explode() -> None:
    raise RuntimeError("boom")


@periodic(seconds=3600)
def tick_once() -> None:
    TICKS.set()


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()
    TICKS.clear()


@pytest.mark.django_db(transaction=True)
def test_enqueue_runs_after_commit_not_before():
    # given / when
    with transaction.atomic():
        enqueue(remember, word="hello")
        # then: nothing ran inside the transaction
        assert CALLS == []
    assert CALLS == ["hello"]


def _enqueue_then_fail() -> None:
    with transaction.atomic():
        enqueue(remember, word="never")
        raise ValueError("rolled back")


@pytest.mark.django_db(transaction=True)
def test_enqueue_in_a_rolled_back_transaction_runs_nothing():
    # when
    with pytest.raises(ValueError, match="rolled back"):
        _enqueue_then_fail()
    # then
    assert CALLS == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_task_is_logged_not_raised(caplog):
    # when
    enqueue(explode)
    # then
    assert "Background task tests.test_tasks.explode failed in-process" in caplog.text


def test_enqueue_refuses_a_function_that_is_not_a_task():
    def plain() -> None:
        return None

    with pytest.raises(LookupError, match="is not a task"):
        enqueue(plain)


def test_run_task_by_name_and_unknown_name():
    run_task(task_name(remember), {"word": "by name"})
    assert CALLS == ["by name"]
    with pytest.raises(LookupError, match="No background task named 'nope'"):
        run_task("nope", {})


@pytest.mark.django_db(transaction=True)
def test_periodic_runner_runs_a_due_task_and_stops():
    # given
    runner = PeriodicRunner(tick_seconds=0.05)
    # when
    runner.start()
    ran = TICKS.wait(timeout=20)
    runner.stop()
    runner.join(timeout=20)
    # then
    assert ran
    assert not runner.is_alive()
