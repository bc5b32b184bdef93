"""Insight keeps no tables of its own: it reads actions, orders and attributions."""
