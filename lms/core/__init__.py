"""Shared machinery with no domain knowledge."""
