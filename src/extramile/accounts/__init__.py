"""Stores, staff users with roles, API tokens, and who may see what."""
