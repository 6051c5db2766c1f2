"""Outcomes: what learning changed in practice, for education leads (Moore level 5)."""
