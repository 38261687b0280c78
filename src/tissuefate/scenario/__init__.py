"""Scenarios: the typed, validated description of what to simulate.

A scenario file (YAML) names the grid, the tissue, the anatomy and the treatment strategies, with
every physical value written with its units. :func:`load_scenario` turns it into a frozen
:class:`Scenario` or raises :class:`~tissuefate.errors.ScenarioError` naming the file, the key and
the reason; :func:`dump_scenario` writes the resolved scenario back.
"""

from tissuefate.scenario.io import check_scenario, dump_scenario, load_scenario, loads_scenario
from tissuefate.scenario.models import (
    Anatomy,
    Cooldown,
    Day,
    Direction,
    GridSpec,
    HeatSource,
    HeatSourceSession,
    MicrowaveApplicator,
    MicrowaveSession,
    OutputSettings,
    Scenario,
    Session,
    Strategy,
    ThermalSettings,
    TissueSpec,
    Tumor,
    Vec3,
    Vessel,
)
from tissuefate.scenario.quantities import (
    Duration,
    Frequency,
    Length,
    Power,
    PowerDensity,
    QuantityField,
    Rate,
    Temperature,
    Volume,
    VolumeRate,
    format_quantity,
    parse_quantity,
    to_si,
    ureg,
)

__all__ = [
    "Anatomy",
    "Cooldown",
    "Day",
    "Direction",
    "Duration",
    "Frequency",
    "GridSpec",
    "HeatSource",
    "HeatSourceSession",
    "Length",
    "MicrowaveApplicator",
    "MicrowaveSession",
    "OutputSettings",
    "Power",
    "PowerDensity",
    "QuantityField",
    "Rate",
    "Scenario",
    "Session",
    "Strategy",
    "Temperature",
    "ThermalSettings",
    "TissueSpec",
    "Tumor",
    "Vec3",
    "Vessel",
    "Volume",
    "VolumeRate",
    "check_scenario",
    "dump_scenario",
    "format_quantity",
    "load_scenario",
    "loads_scenario",
    "parse_quantity",
    "to_si",
    "ureg",
]
