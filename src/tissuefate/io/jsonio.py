"""JSON reading and writing for summaries: numpy values become plain Python, NaN becomes ``null``.

``summary.json`` must be valid JSON that any language can read, so non-finite floats (which the
standard library would write as the non-standard ``NaN``/``Infinity``) are written as ``null``.
Key order is kept as built, so related keys stay together for a person reading the file.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import math
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import numpy as np

__all__ = ["read_json", "to_jsonable", "write_json"]


def to_jsonable(obj: Any) -> Any:
    """A copy of ``obj`` made only of JSON types (dict, list, str, int, float, bool, None).

    numpy scalars and arrays become Python numbers and (nested) lists, float32 values by their
    shortest decimal form (``0.1``, not ``0.10000000149011612``); non-finite floats (NaN, ±inf)
    become ``None``; tuples and sets become lists; paths become strings; dates and times become
    ISO 8601 strings; enums become their value; mapping keys become strings.

    Raises
    ------
    TypeError
        For an object of any other type, naming the type.
    """
    if isinstance(obj, Mapping):
        return {_key(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = sorted(obj, key=repr) if isinstance(obj, set | frozenset) else obj
        return [to_jsonable(v) for v in items]
    if isinstance(obj, np.ndarray):
        if obj.ndim == 0:
            return to_jsonable(obj[()])
        if obj.dtype.kind == "f" and obj.dtype.itemsize < 8:
            return [to_jsonable(v) for v in obj]
        return to_jsonable(obj.tolist())
    return _scalar(obj)


def _scalar(obj: Any) -> Any:
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, np.floating) and obj.dtype.itemsize < 8:
        obj = float(str(obj))
    elif isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, str | bool):
        return obj
    if isinstance(obj, int | float):
        # int() and float() also turn subclasses into the plain types json writes.
        return int(obj) if isinstance(obj, int) else (float(obj) if math.isfinite(obj) else None)
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, _dt.datetime | _dt.date | _dt.time):
        return obj.isoformat()
    raise TypeError(f"cannot write an object of type {type(obj).__name__} to JSON")


def _key(key: Any) -> str:
    value = to_jsonable(key)
    return value if isinstance(value, str) else json.dumps(value)


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` (converted by :func:`to_jsonable`) as UTF-8 JSON, indented by 2, keys in order.

    The file ends with a newline.
    """
    text = json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False, allow_nan=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


def read_json(path: str | Path) -> Any:
    """Read a JSON file written by :func:`write_json` (``null`` stays ``None``)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
