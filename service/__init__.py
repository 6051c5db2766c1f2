"""Bedside: point-of-care continuing medical education inside the EHR."""

__version__ = "0.1.0"
