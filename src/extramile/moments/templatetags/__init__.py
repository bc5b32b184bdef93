"""Template tags and filters of the Today pages."""
