"""Outreach: messages by email and SMS through an outbox, calls, preferences and the audit log."""
