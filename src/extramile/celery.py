"""The Celery application, used only when CELERY_BROKER_URL is set (`extramile worker`)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "extramile.settings")

app = Celery("extramile")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.on_after_finalize.connect
def register_extramile_tasks(sender: Celery, **kwargs: object) -> None:
    """Register every @task of the apps, and the periodic ones with beat."""
    import django

    django.setup()
    from extramile.tasks import periodic_tasks, registered_tasks

    for name, fn in registered_tasks().items():
        sender.task(name=name)(fn)
    for job in periodic_tasks():
        sender.add_periodic_task(float(job.seconds), sender.signature(job.name), name=job.name)
