"""tissuefate: a simulator of local tumour treatment over a whole course of care.

For research and teaching only, not for treating patients: it gives no patient-specific dosing
advice.

>>> import tissuefate
>>> scenario = tissuefate.load_scenario("examples/mwa_single.yaml")   # doctest: +SKIP
>>> result = tissuefate.simulate(scenario)                            # doctest: +SKIP
>>> result.summary["sessions"][0]["ablation_zone"]                    # doctest: +SKIP
"""

from ._version import __version__
from .course import RESEARCH_USE, Result, compare, simulate
from .errors import NumericalError, ScenarioError, TissuefateError
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
