"""One task API for background work: in-process on the embedded default, Celery when scaled out.

Declare a task with `@task` in an app's tasks.py and start it with `enqueue(fn, **kwargs)`. The
call waits for the surrounding transaction to commit (so a task never sees data that was rolled
back) and then:

- with no CELERY_BROKER_URL (the embedded default): runs the function in this process, at once;
  an exception is logged, never raised into the request that enqueued it;
- with CELERY_BROKER_URL set: sends it to the Celery workers (`extramile worker`), which ack
  late, so a task whose worker dies is run again by another.

Either way a task may run more than once, so every task is idempotent. Periodic work (the engine
sweep, the outbox) is declared with `@periodic(seconds=…)`: `extramile serve` runs it in a
background thread on the embedded default; Celery beat runs it when scaled out.
"""

from __future__ import annotations

import importlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Periodic:
    """A task run every `seconds`."""

    name: str
    seconds: int


_TASKS: dict[str, Callable[..., Any]] = {}
_PERIODIC: dict[str, Periodic] = {}


def task_name(fn: Callable[..., Any]) -> str:
    """The registered name of a task function: its module and name."""
    return f"{fn.__module__}.{fn.__name__}"


def task(fn: F) -> F:
    """Register a function as a background task (keyword arguments only, JSON-ready)."""
    _TASKS[task_name(fn)] = fn
    return fn


def periodic(*, seconds: int) -> Callable[[F], F]:
    """Register a task that runs every `seconds` (it takes no arguments)."""

    def register(fn: F) -> F:
        task(fn)
        _PERIODIC[task_name(fn)] = Periodic(name=task_name(fn), seconds=seconds)
        return fn

    return register


def load_task_modules() -> None:
    """Import every app's tasks module, so that all tasks are registered."""
    for config in apps.get_app_configs():
        if config.name.startswith("extramile."):
            try:
                importlib.import_module(f"{config.name}.tasks")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.tasks":
                    raise


def registered_tasks() -> dict[str, Callable[..., Any]]:
    """All tasks by name."""
    load_task_modules()
    return dict(_TASKS)


def periodic_tasks() -> list[Periodic]:
    """All periodic tasks."""
    load_task_modules()
    return list(_PERIODIC.values())


def uses_celery() -> bool:
    """True when background work goes to Celery workers."""
    return bool(getattr(settings, "CELERY_BROKER_URL", ""))


def run_task(name: str, kwargs: dict[str, Any]) -> Any:
    """Run a registered task in this process now."""
    fn = registered_tasks().get(name)
    if fn is None:
        raise LookupError(f"No background task named {name!r}.")
    return fn(**kwargs)


def enqueue(fn: Callable[..., Any], /, **kwargs: Any) -> None:
    """Run a task once the current transaction commits: here, or on a Celery worker."""
    name = task_name(fn)
    if name not in _TASKS:
        raise LookupError(f"{name} is not a task: decorate it with @task.")

    def start() -> None:
        if uses_celery():
            from extramile.celery import app

            app.send_task(name, kwargs=kwargs)
            return
        try:
            fn(**kwargs)
        except Exception:
            logger.exception("Background task %s failed in-process (kwargs %r).", name, kwargs)

    transaction.on_commit(start)


class PeriodicRunner(threading.Thread):
    """Runs the periodic tasks in this process, for the embedded default (no Celery beat).

    `extramile serve` starts one. Each task runs when its interval has passed since it last
    started; a failing run is logged and tried again at its next turn.
    """

    def __init__(self, *, tick_seconds: float = 5.0) -> None:
        """Prepare a daemon thread that wakes every `tick_seconds`."""
        super().__init__(name="extramile-periodic", daemon=True)
        self.tick_seconds = tick_seconds
        self.stopping = threading.Event()

    def run(self) -> None:
        """Run due tasks until stopped."""
        last_started: dict[str, float] = {}
        while not self.stopping.is_set():
            for job in periodic_tasks():
                now = time.monotonic()
                if now - last_started.get(job.name, -math.inf) < job.seconds:
                    continue
                last_started[job.name] = now
                try:
                    run_task(job.name, {})
                except Exception:
                    logger.exception("Periodic task %s failed; it runs again later.", job.name)
                finally:
                    close_old_connections()
            self.stopping.wait(self.tick_seconds)

    def stop(self) -> None:
        """Ask the thread to finish after the task it is running."""
        self.stopping.set()
