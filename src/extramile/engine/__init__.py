"""The pure core: scoring and models on plain arrays and dataclasses, never Django."""
