"""Checkpoints: a folder of arrays (``arrays.npz``) and bookkeeping (``state.json``), exact.

A checkpoint must give back bit for bit what was saved, so that a resumed run equals an
uninterrupted one. Arrays go to a compressed ``.npz`` (no pickles). The bookkeeping is JSON in
which every value keeps its type: numpy scalars are tagged with their dtype and written by
``repr`` (exact), tuples are tagged, and pandas DataFrames are stored column by column in the
arrays file and tagged in the JSON; NaN and infinities use JSON's common extension. A checkpoint
is written to a hidden sibling folder and renamed into place, so a killed run never leaves a
half-written one.

Folder contents::

    state.json   {"format": 1, "meta": {...}}   bookkeeping (tagged JSON)
    arrays.npz   named arrays                   fields, DataFrame columns

What a course records once and never changes (field snapshots, session doses, scan maps) goes to
*parts* beside the checkpoints (:func:`write_part`), written once and shared by every later
checkpoint, so a checkpoint holds only the current state.
"""

from __future__ import annotations

import ast
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from xarray.backends import BackendArray
from xarray.core import indexing

from ..errors import ScenarioError

__all__ = [
    "CHECKPOINT_FORMAT",
    "OnDisk",
    "is_checkpoint",
    "read_checkpoint",
    "read_part",
    "stacked",
    "write_checkpoint",
    "write_part",
]

CHECKPOINT_FORMAT = 1
_META, _ARRAYS = "state.json", "arrays.npz"


class _Encoder:
    """Turns bookkeeping into tagged JSON, moving DataFrames into the arrays."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays

    def __call__(self, obj: Any) -> Any:  # noqa: PLR0911 (one return per type)
        if isinstance(obj, Mapping):
            if not all(isinstance(k, str) for k in obj):
                return {"__dict_items__": [[self(k), self(v)] for k, v in obj.items()]}
            return {k: self(v) for k, v in obj.items()}
        if isinstance(obj, tuple):
            return {"__tuple__": [self(v) for v in obj]}
        if isinstance(obj, list):
            return [self(v) for v in obj]
        if isinstance(obj, np.generic):
            return {"__np__": obj.dtype.str, "v": repr(obj.item())}
        if isinstance(obj, np.ndarray):
            key = f"_a{len(self.arrays)}"
            self.arrays[key] = obj
            return {"__ndarray__": key}
        if isinstance(obj, pd.DataFrame):
            cols = []
            for name in obj.columns:
                values = obj[name].to_numpy()
                kind = "object" if values.dtype == object else ""
                if kind:
                    values = values.astype(str)
                key = f"_a{len(self.arrays)}"
                self.arrays[key] = values
                cols.append([name, key, kind])
            return {"__frame__": cols}
        if obj is None or isinstance(obj, bool | int | float | str):
            return obj
        raise TypeError(f"cannot checkpoint a value of type {type(obj).__name__}")


def _decode(obj: Any, arrays: Mapping[str, np.ndarray]) -> Any:  # noqa: PLR0911 (one per tag)
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays) for v in obj["__tuple__"])
    if "__np__" in obj:
        text = obj["v"]
        value = float(text) if text in ("nan", "inf", "-inf") else ast.literal_eval(text)
        return np.dtype(obj["__np__"]).type(value)
    if "__ndarray__" in obj:
        return arrays[obj["__ndarray__"]]
    if "__dict_items__" in obj:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in obj["__dict_items__"]}
    if "__frame__" in obj:
        data = {}
        for name, key, kind in obj["__frame__"]:
            values = arrays[key]
            data[name] = values.astype(object) if kind == "object" else values
        return pd.DataFrame(data)
    return {k: _decode(v, arrays) for k, v in obj.items()}


def write_checkpoint(
    folder: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
) -> Path:
    """Write a checkpoint folder atomically (an existing one of that name is replaced).

    Parameters
    ----------
    folder
        The checkpoint folder to create.
    arrays
        Named arrays (names must not start with ``_a``).
    meta
        Bookkeeping: dicts, lists, tuples, str, int, float, bool, None, numpy scalars and
        arrays, pandas DataFrames.
    """
    target = Path(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    store = dict(arrays)
    encoded = _Encoder(store)(dict(meta))
    partial = target.with_name(f".{target.name}.partial-{secrets.token_hex(4)}")
    partial.mkdir()
    try:
        with open(partial / _ARRAYS, "wb") as fh:
            np.savez_compressed(fh, **store)
        text = json.dumps({"format": CHECKPOINT_FORMAT, "meta": encoded}, indent=None)
        (partial / _META).write_text(text, encoding="utf-8")
        if target.exists():
            old = target.with_name(f".{target.name}.replaced-{secrets.token_hex(4)}")
            os.rename(target, old)
            os.rename(partial, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target


def write_part(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> Path:
    """Write named arrays to a compressed ``.npz`` file atomically; an existing file is kept
    (a part is written once: the same index of the same course always holds the same data)."""
    target = Path(path)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{secrets.token_hex(4)}")
    try:
        with open(partial, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def read_part(path: str | os.PathLike[str], key: str = "--from") -> dict[str, np.ndarray]:
    """The arrays of a part written by :func:`write_part`.

    Raises
    ------
    ScenarioError
        When the part is missing or unreadable (``key`` names the option that led here).
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError) as exc:
        raise ScenarioError(
            f"the checkpoint's history part cannot be read ({exc})", key=key, source=str(path)
        ) from exc


class OnDisk(Mapping[str, np.ndarray]):
    """Named arrays kept in a part file (:func:`write_part`), read member by member on access.

    A read-only mapping, so code that takes a ``{name: array}`` works on it unchanged.
    """

    def __init__(self, path: str | os.PathLike[str], names: Iterable[str]) -> None:
        self.path = Path(path)
        self.names = tuple(names)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.names:
            raise KeyError(name)
        with np.load(self.path, allow_pickle=False) as data:
            return data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"OnDisk({str(self.path)!r}, {list(self.names)})"


class _LazyStack(BackendArray):
    """``pick(entry)`` of each entry, stacked along a new first axis, read only when indexed."""

    def __init__(
        self,
        entries: Sequence[Mapping[str, np.ndarray]],
        pick: Callable[[Mapping[str, np.ndarray]], np.ndarray],
        shape: tuple[int, ...],
        dtype: Any,
    ) -> None:
        self.entries, self.pick = list(entries), pick
        self.shape = (len(self.entries), *shape)
        self.dtype = np.dtype(dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._get
        )

    def _get(self, key: tuple[Any, ...]) -> np.ndarray:
        first, rest = key[0], key[1:]
        rows = range(self.shape[0])[first] if isinstance(first, slice) else [first]
        out = np.empty((len(rows), *self.shape[1:]), self.dtype)[(slice(None), *rest)]
        for n, i in enumerate(rows):
            out[n] = np.asarray(self.pick(self.entries[i]), dtype=self.dtype)[rest]
        return out if isinstance(first, slice) else out[0]


def stacked(
    entries: Sequence[Mapping[str, np.ndarray]],
    pick: Callable[[Mapping[str, np.ndarray]], np.ndarray],
    shape: tuple[int, ...],
    dtype: Any,
) -> Any:
    """``pick(entry)`` of every entry stacked along a new first axis: a NumPy array when all
    entries are in memory, else an array xarray reads lazily (part by part, only what is
    indexed), so that a course's recorded fields need not all be in memory at once."""
    if not any(isinstance(e, OnDisk) for e in entries):
        return np.stack([np.asarray(pick(e), dtype=dtype) for e in entries])
    return indexing.LazilyIndexedArray(_LazyStack(entries, pick, shape, dtype))


def is_checkpoint(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` holds a complete checkpoint."""
    path = Path(folder)
    return (path / _META).is_file() and (path / _ARRAYS).is_file()


def read_checkpoint(
    folder: str | os.PathLike[str], key: str = "--from"
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint written by :func:`write_checkpoint`: ``(arrays, meta)``.

    Raises
    ------
    ScenarioError
        With ``key`` and the folder as source, when it is not a readable checkpoint.
    """
    path = Path(folder)
    if not is_checkpoint(path):
        raise ScenarioError("is not a tissuefate checkpoint folder", key=key, source=str(path))
    try:
        doc = json.loads((path / _META).read_text(encoding="utf-8"))
        with np.load(path / _ARRAYS, allow_pickle=False) as data:
            store = {name: data[name] for name in data.files}
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"cannot be read ({exc})", key=key, source=str(path)) from exc
    if doc.get("format") != CHECKPOINT_FORMAT:
        raise ScenarioError(
            f"has checkpoint format {doc.get('format')!r}; this version reads {CHECKPOINT_FORMAT}",
            key=key,
            source=str(path),
        )
    meta = _decode(doc["meta"], store)
    return {k: v for k, v in store.items() if not k.startswith("_a")}, meta
