"""The demo store: a believable boutique with the situations of the ten stories."""
