"""Parameter studies: study files, designs (SALib), executors (local processes, Dask), the
Parquet store queried with DuckDB, and the analysis (Sobol' and Morris indices, event
probabilities).

Needs the ``[study]`` extra (dask.distributed, SALib, DuckDB, pyarrow). The public names are
imported on first use (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .analysis import analyse
    from .runner import ScenarioModel
    from .spec import Study, load_study
    from .store import query, read_samples
    from .sweep import run_study, sweep

__all__ = [
    "ScenarioModel",
    "Study",
    "analyse",
    "load_study",
    "query",
    "read_samples",
    "run_study",
    "sweep",
]

__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "ScenarioModel": "runner",
        "Study": "spec",
        "analyse": "analysis",
        "load_study": "spec",
        "query": "store",
        "read_samples": "store",
        "run_study": "sweep",
        "sweep": "sweep",
    },
)
