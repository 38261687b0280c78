"""tissuefate: a simulator of local tumour treatment over a whole course of care.

For research and teaching only, not for treating patients: it gives no patient-specific dosing
advice.

>>> import tissuefate
>>> scenario = tissuefate.load_scenario("examples/mwa_single.yaml")   # doctest: +SKIP
>>> result = tissuefate.simulate(scenario)                            # doctest: +SKIP
>>> result.summary["sessions"][0]["ablation_zone"]                    # doctest: +SKIP

The public names are imported on first use (PEP 562), so that ``import tissuefate`` and the
command line's help and input errors do not wait for numba, SciPy and the kernels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_names
from ._notice import RESEARCH_USE
from ._version import __version__
from .errors import NumericalError, ScenarioError, TissuefateError

if TYPE_CHECKING:
    from .course import Result, compare, simulate
    from .scenario import Scenario, dump_scenario, load_scenario, loads_scenario

__all__ = [
    "RESEARCH_USE",
    "NumericalError",
    "Result",
    "Scenario",
    "ScenarioError",
    "TissuefateError",
    "__version__",
    "compare",
    "dump_scenario",
    "load_scenario",
    "loads_scenario",
    "simulate",
]

#: Public name → the subpackage that defines it, imported when the name is first used.
__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "Result": "course",
        "compare": "course",
        "simulate": "course",
        "Scenario": "scenario",
        "dump_scenario": "scenario",
        "load_scenario": "scenario",
        "loads_scenario": "scenario",
    },
)
