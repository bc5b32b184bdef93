"""Management commands of the client book."""
