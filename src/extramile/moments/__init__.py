"""The moments engine: events and the calendar become explained, prioritised actions."""
