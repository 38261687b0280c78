"""Writing and reading run outputs: summary JSON, tables, zarr field stores, output folders.

The public names are imported on first use (PEP 562), so that JSON helpers do not import zarr
and xarray.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .fields import open_fields, write_fields
    from .jsonio import read_json, to_jsonable, write_json
    from .output import check_output_dir, write_result

__all__ = [
    "check_output_dir",
    "open_fields",
    "read_json",
    "to_jsonable",
    "write_fields",
    "write_json",
    "write_result",
]

__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "open_fields": "fields",
        "write_fields": "fields",
        "read_json": "jsonio",
        "to_jsonable": "jsonio",
        "write_json": "jsonio",
        "check_output_dir": "output",
        "write_result": "output",
    },
)
