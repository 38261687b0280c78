"""A course of treatment: the controller, the imaging model and the result.

The public names are imported on first use, so that :mod:`tissuefate.course.prepare` (the input
checks the command line runs first) can be imported without the controller.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .._notice import RESEARCH_USE

if TYPE_CHECKING:
    from .controller import compare, simulate
    from .result import Result

__all__ = ["RESEARCH_USE", "Result", "compare", "simulate"]

_LAZY = {"Result": "result", "compare": "controller", "simulate": "controller"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
