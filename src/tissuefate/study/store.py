"""The result store of a study: one Parquet file per finished sample, written atomically, read
as one table with DuckDB.

``DIR/samples/sample-000042.parquet`` holds sample 42's row: ``sample_id``, ``seed``, ``status``
(``ok`` or ``failed``), ``error`` (the one-line reason of a failure, else empty), ``wall_s``, one
column per parameter (its key path, the value in the units of its distribution) and one per
strategy and output (``STRATEGY/OUTPUT``, e.g. ``mwa/outcome.scar_ml``; events such as
``outcome.tumor_free`` as 0 or 1). A file appears whole or not at all (written under a temporary
name, then renamed), so a study killed at any point and run again skips exactly the samples whose
file exists and loses nothing; a sample is never stored twice.

:func:`query` runs SQL over the store with DuckDB, which sees the table as ``samples``.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SAMPLES", "finished", "query", "read_samples", "write_sample"]

SAMPLES = "samples"
"""The folder of the per-sample Parquet files, and the table's name in :func:`query`."""

_FILE = re.compile(r"sample-(\d+)\.parquet")


def _path(folder: Path, sample_id: int) -> Path:
    return folder / SAMPLES / f"sample-{sample_id:06d}.parquet"


def write_sample(folder: str | os.PathLike[str], row: dict[str, Any]) -> Path:
    """Store one sample's row (``row["sample_id"]`` names it) atomically; returns the file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = _path(Path(folder), int(row["sample_id"]))
    target.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([row])
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def finished(folder: str | os.PathLike[str]) -> set[int]:
    """Ids of the samples already stored (finished or failed)."""
    where = Path(folder) / SAMPLES
    if not where.is_dir():
        return set()
    return {int(m.group(1)) for p in where.iterdir() if (m := _FILE.fullmatch(p.name))}


def _view(folder: Path) -> str:
    pattern = (folder / SAMPLES / "sample-*.parquet").as_posix().replace("'", "''")
    return f"SELECT * FROM read_parquet('{pattern}', union_by_name = true)"


def query(folder: str | os.PathLike[str], sql: str) -> pd.DataFrame:
    """Run ``sql`` over the store of the study in ``folder`` (its table is ``samples``)."""
    import duckdb

    folder = Path(folder)
    con = duckdb.connect()
    try:
        if finished(folder):
            con.execute(f"CREATE VIEW {SAMPLES} AS {_view(folder)}")
        else:  # an empty store is an empty table
            con.execute(f"CREATE TABLE {SAMPLES} (sample_id BIGINT)")
        return con.execute(sql).df()
    finally:
        con.close()


def read_samples(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Every stored sample, ordered by ``sample_id``."""
    return query(folder, f"SELECT * FROM {SAMPLES} ORDER BY sample_id")
