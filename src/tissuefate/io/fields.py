"""Field snapshots on disk: an xarray Dataset as a zarr store with consolidated metadata.

The store is written in zarr format 2, whichever zarr-python is installed: format 2 has
consolidated metadata and fixed-width strings (the ``snapshot_label`` coordinate) in its
specification, so zarr-python 2 and 3 and other zarr libraries can all read it. Boolean variables
are stored as ``uint8`` (0/1); attributes are converted to JSON types (NaN becomes ``null``).
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import numpy as np
import xarray as xr

from .jsonio import to_jsonable

__all__ = ["open_fields", "write_fields"]


def _zarr_major() -> int:
    return int(version("zarr").split(".")[0])


def _prepared(ds: xr.Dataset) -> xr.Dataset:
    """A copy of ``ds`` that zarr format 2 stores faithfully: bool → uint8, JSON attrs, no stale
    encoding (chunks or codecs of the store ``ds`` was read from)."""
    out = ds.copy(deep=False)
    out = out.drop_encoding() if hasattr(out, "drop_encoding") else out
    for name in list(out.variables):
        var = out.variables[name]
        if var.dtype == np.bool_:
            var = var.astype(np.uint8)
        var = var.copy(deep=False)
        var.attrs = to_jsonable(dict(var.attrs))
        if name in out.data_vars:
            out[name] = var
        else:
            out = out.assign_coords({name: var})
    out.attrs = to_jsonable(dict(out.attrs))
    return out


def write_fields(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to the zarr store ``path`` (replacing one already there); returns the path.

    Values, dims, coordinates and attributes (units, long names, the resolved scenario text in
    ``ds.attrs["scenario"]``) round-trip through :func:`open_fields`; boolean arrays come back as
    ``uint8`` 0/1.
    """
    path = Path(path)
    kwargs = {"zarr_format": 2} if _zarr_major() >= 3 else {}
    _prepared(ds).to_zarr(path, mode="w", consolidated=True, **kwargs)
    return path


def open_fields(path: str | Path) -> xr.Dataset:
    """Read a store written by :func:`write_fields`, fully loaded into memory.

    Values are returned as stored: no CF decoding of times (``snapshot_day`` stays a float in days),
    so a variable whose units read like a time is not turned into a timedelta.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no field store at {path}")
    with xr.open_dataset(
        path,
        engine="zarr",
        consolidated=True,
        chunks=None,
        decode_times=False,
        decode_timedelta=False,
    ) as ds:
        return ds.load()
