"""Writing and reading run outputs: summary JSON, tables, zarr field stores, output folders."""

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
