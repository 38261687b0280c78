"""Typed, frozen models of a scenario file.

Every model rejects unknown keys and is immutable once validated. Physical values are stored as
:class:`pint.Quantity` objects in the units the user wrote (so a dumped scenario reads as it was
written); the ``*_m``, ``*_s``, ``*_w`` ... properties give SI floats for the numerical code, and
temperatures come out in °C (``*_c``), the project's internal temperature unit.

Positions are in the grid's frame: millimetres (or any length unit) relative to the grid centre,
with axes x, y, z matching array indices i, j, k.

This module holds the top of a scenario: the grid, tissue, anatomy and thermal settings, and the
:class:`Scenario` itself. It re-exports the models it is built from, so they can be imported from
here: the field types and base model (:mod:`tissuefate.scenario._base`), the limits
(:mod:`tissuefate.scenario.limits`), the devices (:mod:`tissuefate.scenario.devices`), the
sessions (:mod:`tissuefate.scenario.sessions`) and the course (:mod:`tissuefate.scenario.course`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, Strict, field_validator, model_validator

from tissuefate.errors import ScenarioError
from tissuefate.scenario._base import (
    Cooldown,
    Day,
    Direction,
    KeyedValueError,
    NonNegativeDuration,
    PositiveDuration,
    PositiveLength,
    PositiveVec3,
    Vec3,
    Vec3Float,
    _Model,
    _Name,
    _optional_si,
    _si3,
)
from tissuefate.scenario.anatomy import Anatomy, Capsule, ImageAnatomy, Tumor, Vessel
from tissuefate.scenario.course import (
    ImagingSettings,
    MechanicsSettings,
    OutputSettings,
    RepairSettings,
    Strategy,
)
from tissuefate.scenario.devices import (
    CryoProbe,
    HeatSource,
    InjectionSite,
    IreElectrode,
    MicrowaveApplicator,
    RadiofrequencyElectrode,
)

# Re-exported: code outside the scenario package imports these limits from here.
from tissuefate.scenario.limits import (  # noqa: F401
    MAX_IRE_VOLTAGE_V,
    MAX_MICROWAVE_DURATION_S,
    MAX_RF_DURATION_S,
)
from tissuefate.scenario.quantities import Temperature, format_quantity, to_si
from tissuefate.scenario.sessions import (
    CryoPhase,
    CryoSession,
    HeatSourceSession,
    InjectionSession,
    IrePair,
    IreSession,
    MicrowaveSession,
    RadiofrequencySession,
    Rolloff,
    Session,
)

__all__ = [
    "Anatomy",
    "Capsule",
    "Cooldown",
    "CryoPhase",
    "CryoProbe",
    "CryoSession",
    "Day",
    "Direction",
    "GridSpec",
    "HeatSource",
    "HeatSourceSession",
    "ImageAnatomy",
    "ImagingSettings",
    "InjectionSession",
    "InjectionSite",
    "IreElectrode",
    "IrePair",
    "IreSession",
    "MechanicsSettings",
    "MicrowaveApplicator",
    "MicrowaveSession",
    "OutputSettings",
    "RadiofrequencyElectrode",
    "RadiofrequencySession",
    "RepairSettings",
    "Rolloff",
    "Scenario",
    "Session",
    "Strategy",
    "ThermalSettings",
    "TissueSpec",
    "Tumor",
    "Vec3",
    "Vessel",
]


#: Strategy names: letters, digits, ``_`` and ``-`` (they become folder names).
STRATEGY_NAME = re.compile(r"[A-Za-z0-9_-]+")
MIN_VOXELS_PER_AXIS = 8


class GridSpec(_Model):
    """The voxel grid, centred on the origin: edge lengths ``size`` and voxel edge ``spacing``.

    ``size`` may be left out when the anatomy comes from an image: the grid is then the crop
    around its tumours (:class:`~tissuefate.scenario.anatomy.ImageAnatomy`).
    """

    size: PositiveVec3 | None = None
    spacing: PositiveLength

    @model_validator(mode="after")
    def _whole_voxels(self) -> GridSpec:
        for axis, edge in zip("xyz", self.size or (), strict=False):
            ratio = float((edge / self.spacing).to("dimensionless").magnitude)
            count = round(ratio)
            if count == 0 or abs(ratio - count) > 1e-6 * ratio:
                raise KeyedValueError(
                    f"{format_quantity(edge)} along {axis} is not a whole number of "
                    f"{format_quantity(self.spacing)} voxels",
                    "size",
                )
            if count < MIN_VOXELS_PER_AXIS:
                raise KeyedValueError(
                    f"the grid needs at least {MIN_VOXELS_PER_AXIS} voxels along each axis; "
                    f"{format_quantity(edge)} along {axis} is {count} voxels of "
                    f"{format_quantity(self.spacing)}",
                    "size",
                )
        return self

    @property
    def shape(self) -> tuple[int, int, int]:
        """Number of voxels along x, y, z."""
        if self.size is None:
            raise ValueError("the grid size is not known before its image is read")
        nx, ny, nz = (
            round(float((edge / self.spacing).to("dimensionless").magnitude)) for edge in self.size
        )
        return (nx, ny, nz)

    @property
    def n_voxels(self) -> int:
        """Total number of voxels."""
        nx, ny, nz = self.shape
        return nx * ny * nz

    @property
    def spacing_m(self) -> float:
        """Voxel edge in m."""
        return to_si(self.spacing)

    @property
    def size_m(self) -> Vec3Float:
        """Grid edge lengths along x, y, z in m."""
        if self.size is None:
            raise ValueError("the grid size is not known before its image is read")
        return _si3(self.size)

    @property
    def half_size_m(self) -> Vec3Float:
        """Distance from the grid centre to its faces along x, y, z in m."""
        x, y, z = (s / 2 for s in self.size_m)
        return (x, y, z)


class TissueSpec(_Model):
    """The tissue: a preset name plus overrides ``{parameter: "value with units"}``.

    The short form ``tissue: liver`` means ``tissue: {preset: liver}``. The override names and
    values are checked against the preset by :mod:`tissuefate.tissue`, not here.
    """

    preset: _Name = "liver"
    parameters: dict[_Name, str] = Field(default_factory=dict)

    @classmethod
    def _coerce_input(cls, data: Any) -> Any:
        return {"preset": data} if isinstance(data, str) else data


class ThermalSettings(_Model):
    """Settings of the heat equation: start and boundary temperatures (°C), time steps (s).

    ``perfusion_shutdown``: microvessels die with coagulating tissue, so perfusion stops there, heat
    closes flowing large vessels, and tissue frozen below the tissue's
    ``cryo_vessel_injury_temperature``, or chilled to its ``cryo_stasis_exposure``, stays unperfused
    when it warms (the default); switch it off for the constant-perfusion Pennes problem of the
    analytic tests. ``local_time_step``: in a cryo session the ice takes its own shorter stable step
    in a box around it, the rest of the grid unfrozen tissue's (the default; off, the whole grid
    takes the ice's step).
    """

    initial_temperature: Temperature | None = None
    boundary: Literal["body_temperature", "insulated"] = "body_temperature"
    boundary_temperature: Temperature | None = None
    dtype: Literal["float32", "float64"] = "float32"
    time_step_safety: Annotated[float, Strict(), Field(gt=0, le=1)] = 0.9
    time_step: PositiveDuration | None = None
    update_interval: PositiveDuration = "2 s"  # type: ignore[assignment]
    record_interval: PositiveDuration = "10 s"  # type: ignore[assignment]
    perfusion_shutdown: Annotated[bool, Strict()] = True
    local_time_step: Annotated[bool, Strict()] = True

    @property
    def initial_temperature_c(self) -> float | None:
        """Initial tissue temperature in °C; None means the tissue preset's body temperature."""
        return _optional_si(self.initial_temperature)

    @property
    def boundary_temperature_c(self) -> float | None:
        """Temperature held on the grid faces in °C; None means the initial temperature."""
        return _optional_si(self.boundary_temperature)

    @property
    def time_step_s(self) -> float | None:
        """Fixed time step in s; None means derived from the stability limit."""
        return _optional_si(self.time_step)

    @property
    def update_interval_s(self) -> float:
        """Interval between refreshes of tissue state and sources during a session, in s."""
        return to_si(self.update_interval)

    @property
    def record_interval_s(self) -> float:
        """Interval between time-series rows (and finiteness checks) of a session, in s."""
        return to_si(self.record_interval)


class Scenario(_Model):
    """A scenario: grid, tissue, anatomy, one or more treatment strategies to simulate, the
    follow-up imaging and what a run writes."""

    name: _Name
    description: str = ""
    seed: Annotated[int, Strict(), Field(ge=0)] = 0
    grid: GridSpec
    tissue: TissueSpec = Field(default_factory=TissueSpec)
    anatomy: Anatomy = Field(default_factory=Anatomy)
    thermal: ThermalSettings = Field(default_factory=ThermalSettings)
    strategies: dict[str, Strategy]
    follow_up: NonNegativeDuration = "0 d"  # type: ignore[assignment]
    imaging: ImagingSettings = Field(default_factory=ImagingSettings)
    repair: RepairSettings = Field(default_factory=RepairSettings)
    outputs: OutputSettings = Field(default_factory=OutputSettings)

    @model_validator(mode="after")
    def _sized_grid(self) -> Scenario:
        if self.grid.size is None and self.anatomy.image is None:
            raise KeyedValueError(
                "the grid needs a size, e.g. [64 mm, 64 mm, 64 mm] (it may be left out only "
                "when the anatomy comes from an image)",
                "grid",
                "size",
            )
        return self

    @field_validator("strategies")
    @classmethod
    def _named_strategies(cls, strategies: dict[str, Strategy]) -> dict[str, Strategy]:
        if not strategies:
            raise ValueError("at least one strategy is needed")
        for name in strategies:
            if not STRATEGY_NAME.fullmatch(name):
                raise KeyedValueError(
                    "a strategy name may only hold letters, digits, '_' and '-'", name
                )
        return strategies

    @property
    def image_pending(self) -> bool:
        """Whether the scenario's image still has to be read to size and place its grid and
        move its positions into the grid's frame (:func:`tissuefate.grid.image.resolve_image`)."""
        image = self.anatomy.image
        return image is not None and (self.grid.size is None or not image.placed)

    @property
    def follow_up_d(self) -> float:
        """Follow-up time in days."""
        return float(self.follow_up.to("day").magnitude)

    def strategy(self, name: str | None = None) -> tuple[str, Strategy]:
        """The strategy called ``name``, or the only one when ``name`` is None.

        Raises
        ------
        ScenarioError
            If there is no strategy of that name, or ``name`` is None and there are several.
        """
        names = ", ".join(self.strategies)
        if name is None:
            if len(self.strategies) == 1:
                return next(iter(self.strategies.items()))
            raise ScenarioError(
                f"the scenario has {len(self.strategies)} strategies ({names}); choose one",
                key="strategies",
            )
        if name not in self.strategies:
            raise ScenarioError(
                f"no strategy named {name!r}; the scenario has: {names}", key="strategies"
            )
        return name, self.strategies[name]
