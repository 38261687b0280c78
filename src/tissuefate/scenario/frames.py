"""Moving a scenario's positions from one frame to another.

A scenario on a segmented image may give its positions in the image's scanner coordinates;
the simulation works relative to the grid centre. The two frames share their axes (the grid is
aligned with the scanner's x, y, z), so moving between them is a translation of every position.
"""

from __future__ import annotations

from typing import Any

import pint
from pydantic import BaseModel

from tissuefate.scenario.anatomy import ImageAnatomy
from tissuefate.scenario.quantities import ureg

__all__ = ["POSITION_KEYS", "translate_positions"]

#: The keys that hold a position ``[x, y, z]`` in some model of a scenario (tumour centres,
#: vessel ends, device tips, heat source centres). Only values that are three lengths move.
POSITION_KEYS = frozenset({"center", "start", "end", "tip"})


def translate_positions(model: Any, offset_m: tuple[float, float, float]) -> Any:
    """A copy of ``model`` (any scenario model) with every position moved by ``-offset_m``.

    ``offset_m`` is the position of the new frame's origin in the old frame (m), so a point at
    ``offset_m`` comes out at ``[0, 0, 0]``. Each position keeps the units it was written in.
    The image's own ``center`` (scanner coordinates, by definition) does not move.
    """
    return _moved(model, offset_m, "")


def _moved(value: Any, offset: tuple[float, float, float], key: str) -> Any:
    if isinstance(value, ImageAnatomy):
        return value
    if isinstance(value, BaseModel):
        updates = {}
        for name in type(value).model_fields:
            old = getattr(value, name)
            new = _moved(old, offset, name)
            if new is not old:
                updates[name] = new
        return value.model_copy(update=updates) if updates else value
    if isinstance(value, list):
        items = [_moved(item, offset, key) for item in value]
        changed = any(a is not b for a, b in zip(items, value, strict=True))
        return items if changed else value
    if isinstance(value, dict):
        entries = {k: _moved(v, offset, k) for k, v in value.items()}
        changed = any(entries[k] is not value[k] for k in value)
        return entries if changed else value
    if key in POSITION_KEYS and _is_position(value):
        return tuple((q - (d * ureg.m)).to(q.units) for q, d in zip(value, offset, strict=True))
    return value


def _shifted(q: pint.Quantity, d: float) -> pint.Quantity:
    """``q - d`` (``d`` in m), rounded to the nanometre, in the units of ``q``."""
    metres = round(float(q.to("m").magnitude) - d, 9)
    return ureg.Quantity(metres, "m").to(q.units)


def _is_position(value: Any) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 3
        and all(isinstance(q, pint.Quantity) and q.check("[length]") for q in value)
    )
