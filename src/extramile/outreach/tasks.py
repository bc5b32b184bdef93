"""Background tasks of outreach: delivering one outbox message, and the minute-by-minute sweep.

Both are declared in services (where send_action_message enqueues them); importing them here
registers them with the one task API, which loads every app's tasks module.
"""

from extramile.outreach.services import deliver_due_messages, deliver_message

__all__ = ["deliver_due_messages", "deliver_message"]
