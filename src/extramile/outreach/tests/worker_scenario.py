"""Run by the worker tests in a subprocess, against the file database at DATABASE_URL.

`python -m extramile.outreach.tests.worker_scenario record` creates a store, an associate, a
client who said yes to email and an action with a photographed product, sends the action by
email through send_action_message (which, with CELERY_BROKER_URL set, puts the delivery on the
Celery queue when the transaction commits) and prints {"message_id": …, "uid": …}.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sys

import django


def record() -> dict[str, object]:
    from django.core.files.base import ContentFile
    from django.utils import timezone
    from PIL import Image

    from extramile.accounts.models import Role, Store, User
    from extramile.catalog.models import Photo, Product
    from extramile.clients.services import create_client, record_consent
    from extramile.moments.governance import rules_for
    from extramile.moments.models import Action, ActionProduct
    from extramile.outreach.services import send_action_message

    now = timezone.now()
    store = Store.objects.create(code="uptown", name="Uptown", time_zone="America/New_York")
    # No quiet hours, so the scenario runs at any hour of the test machine's clock.
    rules = rules_for(store)
    rules.quiet_start = rules.quiet_end = dt.time(0, 0)
    rules.save()
    walter = User.objects.create(
        username="walter", first_name="Walter", role=Role.ASSOCIATE, store=store
    )
    maya = create_client(store=store, first_name="Maya", email="maya@example.com")
    record_consent(maya, channel="email", granted=True, source="signup form", at=now)
    suit = Product.objects.create(external_ref="SUIT-1", title="Navy suit")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 10), "navy").save(buffer, format="JPEG")
    Photo.objects.create(product=suit).image.save("navy.jpg", ContentFile(buffer.getvalue()))
    action = Action.objects.create(
        store=store,
        associate=walter,
        client=maya,
        kind="new_arrival_match",
        purpose="marketing",
        reason="The navy suit fits Maya.",
        due_at=now,
        channel="email",
    )
    ActionProduct.objects.create(action=action, product=suit)
    message = send_action_message(
        action,
        channel="email",
        subject="The navy suit is in",
        body="Hi Maya, the navy suit came in. Walter",
        by=walter,
        now=now,
    )
    return {"message_id": message.pk, "uid": str(message.uid)}


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "extramile.settings")
    django.setup()
    if sys.argv[1:] != ["record"]:
        raise SystemExit("usage: python -m extramile.outreach.tests.worker_scenario record")
    sys.stdout.write(json.dumps(record()) + "\n")
