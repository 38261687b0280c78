"""A course of treatment: the controller, the imaging model and the result.

The public names are imported on first use, so that :mod:`tissuefate.course.prepare` (the input
checks the command line runs first) can be imported without the controller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names
from .._notice import RESEARCH_USE

if TYPE_CHECKING:
    from .controller import compare, simulate
    from .result import Result

__all__ = ["RESEARCH_USE", "Result", "compare", "simulate"]

__getattr__, __dir__ = lazy_names(
    __name__, {"Result": "result", "compare": "controller", "simulate": "controller"}
)
