"""A course of treatment: the controller, the imaging model and the result."""

from .controller import RESEARCH_USE, compare, simulate
from .result import Result

__all__ = ["RESEARCH_USE", "Result", "compare", "simulate"]
