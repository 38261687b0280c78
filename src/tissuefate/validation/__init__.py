"""Validation against exact solutions and published data (``tissuefate validate``)."""

from .cases import CASES, ValidationRow, run_validation

__all__ = ["CASES", "ValidationRow", "run_validation"]
