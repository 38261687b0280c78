"""Heat carried away by blood flowing through large vessels.

A vessel with a given volume flow exchanges heat with the tissue through its wall, by forced
convection: the heat flux into the blood is ``h_c (T_wall − T_bulk)`` with the wall heat transfer
coefficient ``h_c = Nu k_b / D`` from a Nusselt correlation for flow in a tube at constant wall
temperature:

- laminar flow (Re ≤ 2300): Hausen's mean Nusselt number over a thermal entry length ``L``,
  ``Nu = 3.66 + 0.0668 Gz / (1 + 0.04 Gz^(2/3))`` with the Graetz number ``Gz = Re Pr D / L``
  (Hausen 1943; Incropera, DeWitt, Bergman & Lavine, *Fundamentals of Heat and Mass Transfer*, 6th
  ed., Wiley 2007, eq. 8.57); it falls to the fully developed 3.66 in long tubes;
- turbulent flow (Re ≥ 10⁴): Gnielinski's correlation with Petukhov's smooth-tube friction factor
  (Gnielinski, Int Chem Eng 1976;16:359; Incropera eqs. 8.21 and 8.62); in the transition
  (2300 < Re < 10⁴) linear in Re between the laminar value at 2300 and the turbulent one at 10⁴
  (Gnielinski, Int J Heat Mass Transfer 2013;63:134), so that the coefficient is continuous.

On the grid a vessel is the set of voxels whose centres lie inside its cylinder (``grid.anatomy``).
They are held at the blood's bulk temperature, which rises along the vessel by the heat its wall has
taken up so far, ``T_bulk(x) = T_in + Q(< x) / (ρ_b c_b F)`` (F the volume flow; quasi-steady: blood
crosses the grid in about a second, tissue heats over minutes). Each face between a tissue voxel and
a vessel voxel conducts with the series conductance of half a voxel of tissue and the convective
wall, ``U = 1 / (h / (2 k) + 1 / (a h_c))`` per unit face area (``h`` the voxel edge), where ``a``
corrects the staircase of voxel faces to the cylinder's true lateral area. This module computes the
numbers; :class:`tissuefate.physics.thermal.ThermalSolver` applies them
(:meth:`~tissuefate.physics.thermal.ThermalSolver.hold_convective`).

Heat can close a vessel: its endothelium at the wall temperature ``T_wall = T_bulk + q / h_c``
(``q`` the heat flux into the blood) accumulates an Arrhenius dose with the tissue's parameters,
and once the dose anywhere along the vessel reaches the dose at which the microvessels' flow
stops (``Occlusion``; the tissue's ``perfusion_stasis_dose`` in units of its cells' dose), the
blood stops (a thrombus closes the lumen): the vessel's voxels become tissue without perfusion
(:meth:`~tissuefate.physics.thermal.ThermalSolver.release_convective`). Fast blood keeps its wall
near body temperature and stays open; slow blood in a small vessel heats and clots.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..grid.grid import Grid
from ..grid.shapes import Cylinder

if TYPE_CHECKING:
    from .thermal import ThermalSolver

__all__ = [
    "Blood",
    "FlowingVessel",
    "Occlusion",
    "VesselCooling",
    "WallExchange",
    "bulk_temperatures",
    "flowing_vessel",
    "wall_exchange",
]

LAMINAR_LIMIT = 2300.0
"""Reynolds number up to which flow in a tube is laminar."""
TURBULENT_LIMIT = 1.0e4
"""Reynolds number from which flow in a tube is fully turbulent; in between, the Nusselt number
is interpolated linearly (Gnielinski, Int J Heat Mass Transfer 2013;63:134)."""


@dataclass(frozen=True)
class Blood:
    """Properties of blood (SI): density kg/m³, specific heat J/kg/K, thermal conductivity W/m/K,
    dynamic viscosity Pa·s."""

    density: float
    specific_heat: float
    conductivity: float
    viscosity: float

    @property
    def heat_capacity(self) -> float:
        """ρ_b c_b in J/m³/K."""
        return self.density * self.specific_heat

    @property
    def prandtl(self) -> float:
        """Prandtl number μ c / k."""
        return self.viscosity * self.specific_heat / self.conductivity


@dataclass(frozen=True)
class WallExchange:
    """Forced convection at a vessel's wall: dimensionless numbers and the coefficient (SI)."""

    velocity: float  # m/s, mean over the lumen
    reynolds: float
    prandtl: float
    graetz: float
    nusselt: float
    coefficient: float  # W/m²/K, h_c

    @property
    def laminar(self) -> bool:
        """Whether the flow is laminar (Re ≤ 2300)."""
        return self.reynolds <= LAMINAR_LIMIT


def wall_exchange(diameter: float, flow: float, length: float, blood: Blood) -> WallExchange:
    """Wall heat transfer of ``flow`` (m³/s) through a tube of ``diameter`` (m) heated over
    ``length`` (m), with the correlations of the module docstring."""
    if not (diameter > 0 and flow > 0 and length > 0):
        raise ValueError(
            f"diameter, flow and length must be positive (got {diameter}, {flow}, {length})"
        )
    velocity = flow / (math.pi * diameter**2 / 4.0)
    re = blood.density * velocity * diameter / blood.viscosity
    pr = blood.prandtl
    gz = re * pr * diameter / length
    if re <= LAMINAR_LIMIT:
        nu = _hausen(gz)
    elif re >= TURBULENT_LIMIT:
        nu = _gnielinski(re, pr)
    else:  # transition: linear in Re between the two (Gnielinski 2013, the VDI Heat Atlas rule)
        share = (re - LAMINAR_LIMIT) / (TURBULENT_LIMIT - LAMINAR_LIMIT)
        laminar = _hausen(LAMINAR_LIMIT * pr * diameter / length)
        nu = (1.0 - share) * laminar + share * _gnielinski(TURBULENT_LIMIT, pr)
    return WallExchange(velocity, re, pr, gz, nu, nu * blood.conductivity / diameter)


def _hausen(gz: float) -> float:
    """Mean Nusselt number of laminar flow entering a tube at constant wall temperature."""
    return 3.66 + 0.0668 * gz / (1.0 + 0.04 * gz ** (2.0 / 3.0))


def _gnielinski(re: float, pr: float) -> float:
    """Nusselt number of fully turbulent flow in a smooth tube (Petukhov's friction factor)."""
    f = (0.790 * math.log(re) - 1.64) ** -2
    return (f / 8.0) * (re - 1000.0) * pr / (1.0 + 12.7 * math.sqrt(f / 8.0) * (pr ** (2 / 3) - 1))


@dataclass(frozen=True)
class Occlusion:
    """When heat closes a vessel: the damage rate of its endothelium (1/s, a function of the wall
    temperature in °C: the tissue's Arrhenius rate, ``damage.thermal.arrhenius_rate``) and the
    dose at which its blood stops."""

    rate: Callable[[np.ndarray], np.ndarray]
    dose: float


@dataclass
class FlowingVessel:
    """A vessel on the grid with blood flowing from its start to its end.

    Attributes
    ----------
    name
        The vessel's name.
    index
        int (m, 3): grid indices of its voxels (unpadded).
    bins
        int (m,): axial bin of each voxel (bin ``b`` is centred ``b h`` downstream of the first).
    flow
        Volume flow, m³/s.
    exchange
        Its wall's :class:`WallExchange`.
    inlet_temperature
        °C of the blood entering at the start.
    area_ratio
        The cylinder's lateral area in the grid over the area of the voxel faces it shares with
        tissue: the wall coefficient is scaled by it.
    faces
        int (m,): faces each voxel shares with tissue.
    occludes
        Whether heat can close it (False: a glass tube, a stent graft).
    """

    name: str
    index: np.ndarray
    bins: np.ndarray
    flow: float
    exchange: WallExchange
    inlet_temperature: float
    area_ratio: float = 1.0
    faces: np.ndarray | None = None
    occludes: bool = True
    heat_j: float = 0.0  # taken up through the wall so far
    power_w: float = 0.0  # through the wall, at the last update
    deposited_j: float = 0.0  # put into the blood itself by a source so far
    deposited_w: float = 0.0  # likewise, since the last update
    outlet_rise_k: float = 0.0  # at the last update
    peak_outlet_rise_k: float = 0.0
    wall_dose: np.ndarray | None = None  # Arrhenius dose of the endothelium, per voxel
    peak_wall_temperature_c: float = -math.inf
    occluded_at_s: float | None = None  # when heat closed it

    @property
    def open(self) -> bool:
        """Whether blood still flows."""
        return self.occluded_at_s is None


def bulk_temperatures(
    power: np.ndarray, bins: np.ndarray, capacity_rate: float, inlet: float
) -> tuple[np.ndarray, float]:
    """Bulk blood temperature (°C) at each voxel and the outlet rise (K).

    ``power`` (W, per voxel) is what the blood takes up there, ``bins`` the axial bin of each voxel
    (numbered along the flow), ``capacity_rate`` ρ_b c_b F in W/K. The blood in bin ``b`` carries
    the heat of every bin before it and half of its own: ``T = inlet + (Q(< b) + Q_b / 2) / (ρcF)``,
    so that the outlet rise times ``capacity_rate`` is the total power (energy is conserved).
    """
    per_bin = np.bincount(bins, weights=power, minlength=int(bins.max()) + 1 if bins.size else 0)
    through = np.cumsum(per_bin) - 0.5 * per_bin
    rise = through / capacity_rate
    outlet = float(per_bin.sum()) / capacity_rate
    return inlet + rise[bins], outlet


def flowing_vessel(
    grid: Grid,
    name: str,
    cylinder: Cylinder,
    mask: np.ndarray,
    flow: float,
    blood: Blood,
    inlet_temperature: float,
    occludes: bool = True,
) -> FlowingVessel:
    """The :class:`FlowingVessel` of the voxels of ``mask`` (those of ``cylinder`` on ``grid``).

    Its heated length is the length of the cylinder inside the grid (the voxels' axial extent),
    and its area ratio the cylinder's lateral area over that length against the area of the
    voxel faces it shares with tissue.
    """
    index = np.argwhere(mask)
    h = grid.spacing
    a = np.asarray(cylinder.start, float)
    axis = np.asarray(cylinder.end, float) - a
    u = axis / np.linalg.norm(axis)
    t = (grid.lower + (index + 0.5) * h - a) @ u
    bins = np.floor((t - t.min()) / h + 0.5).astype(np.int64)  # centres h apart: bins 0, 1, ...
    length = (int(bins.max()) + 1) * h
    padded = np.pad(mask, 1, constant_values=True)  # grid faces are not tissue
    faces = np.zeros(len(index), np.int64)
    for d in ((-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1)):
        q = index + 1 + np.asarray(d)
        faces += ~padded[q[:, 0], q[:, 1], q[:, 2]]
    total = int(faces.sum())
    ratio = 2.0 * math.pi * cylinder.radius * length / (total * h**2) if total else 1.0
    exchange = wall_exchange(2.0 * cylinder.radius, flow, length, blood)
    return FlowingVessel(
        name, index, bins, flow, exchange, inlet_temperature, ratio, faces, occludes
    )


class VesselCooling:
    """The large vessels of a thermal run whose blood flows: walls, bulk temperatures, heat.

    Built once per run (:meth:`attach` makes their voxels convective walls of the solver); call
    :meth:`update` at every source update: it measures what each wall takes up and sets the
    blood's bulk temperature along the vessel from it (quasi-steady).
    """

    def __init__(
        self, vessels: list[FlowingVessel], blood: Blood, occlusion: Occlusion | None = None
    ) -> None:
        """``occlusion`` says when heat closes a vessel (None: never)."""
        self.vessels = vessels
        self.blood = blood
        self.occlusion = occlusion
        self._t: float | None = None

    def attach(self, solver: ThermalSolver) -> None:
        """Turn the vessels' voxels into convective walls of ``solver``."""
        for v in self.vessels:
            solver.hold_convective(v.index, v.area_ratio * v.exchange.coefficient)
            solver.set_held_temperatures(v.index, v.inlet_temperature)

    def update(
        self,
        solver: ThermalSolver,
        t: float,
        deposited: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Book the heat taken up since the last update and set the bulk temperatures for the
        interval from ``t`` (s).

        ``deposited`` is heat a source puts into the blood itself for the coming interval
        (Joule heat of radiofrequency current in the vessel): the sorted flat indices of every
        vessel voxel and W per voxel, or None for none; it warms the blood with what the wall
        takes up. The heat of an interval is booked with the trapezoidal rule, from the wall's
        power at its start (with the bulk temperatures then set) and at its end (before they
        change).
        """
        elapsed = 0.0 if self._t is None else t - self._t
        walls = self.book(t, solver)
        for v, wall in zip(self.vessels, walls, strict=True):
            if not v.open:
                continue
            if self._closes(v, wall, elapsed, solver):
                v.occluded_at_s = t
                v.power_w = 0.0
                solver.release_convective(v.index)
                continue
            direct = np.zeros(len(v.index))
            if deposited is not None:
                flat, power = deposited
                direct = power[
                    np.searchsorted(flat, np.ravel_multi_index(v.index.T, solver.grid.shape))
                ]
            temps, outlet = bulk_temperatures(
                wall + direct,
                v.bins,
                self.blood.heat_capacity * v.flow,
                v.inlet_temperature,
            )
            solver.set_held_temperatures(v.index, temps)
            v.power_w = float(solver.wall_inflow(v.index).sum())
            v.deposited_w = float(direct.sum())
            v.outlet_rise_k = outlet
            v.peak_outlet_rise_k = max(v.peak_outlet_rise_k, outlet)

    def wall_temperatures(
        self, v: FlowingVessel, wall: np.ndarray, solver: ThermalSolver
    ) -> np.ndarray:
        """Temperature (°C) of ``v``'s wall at each voxel: the blood's bulk temperature plus the
        heat flux ``wall`` (W per voxel) over the wall's heat transfer coefficient."""
        h = solver.grid.spacing
        bulk = solver.theta[tuple(v.index.T)].astype(np.float64) + solver.t_ref
        area = np.maximum(v.faces, 1) * h**2 * v.area_ratio  # the cylinder's lateral area
        return bulk + wall / (v.exchange.coefficient * area)

    def _closes(
        self, v: FlowingVessel, wall: np.ndarray, elapsed: float, solver: ThermalSolver
    ) -> bool:
        """Add the interval's endothelial dose (at the wall temperature at its end) to ``v``'s;
        whether the vessel closes."""
        temps = self.wall_temperatures(v, wall, solver)
        v.peak_wall_temperature_c = max(v.peak_wall_temperature_c, float(temps.max()))
        if self.occlusion is None or not v.occludes or elapsed <= 0:
            return False
        if v.wall_dose is None:
            v.wall_dose = np.zeros(len(v.index))
        v.wall_dose += self.occlusion.rate(temps) * elapsed
        return bool(v.wall_dose.max() >= self.occlusion.dose)

    def book(self, t: float, solver: ThermalSolver) -> list[np.ndarray]:
        """Book the heat taken up from the last update to ``t`` (s), the end of an interval;
        returns what each vessel's voxels take up now (W per voxel; zeros once closed)."""
        walls = [
            solver.wall_inflow(v.index) if v.open else np.zeros(len(v.index)) for v in self.vessels
        ]
        if self._t is not None:
            for v, wall in zip(self.vessels, walls, strict=True):
                end = float(wall.sum())
                v.heat_j += 0.5 * (v.power_w + end) * (t - self._t)
                v.deposited_j += v.deposited_w * (t - self._t)
                v.power_w = end
        self._t = t
        return walls

    def summary(self) -> list[dict[str, Any]]:
        """One entry per flowing vessel: flow, wall exchange and heat taken up (units in keys)."""
        return [
            {
                "name": v.name,
                "flow_ml_min": v.flow * 6e7,
                "velocity_m_s": v.exchange.velocity,
                "reynolds": v.exchange.reynolds,
                "prandtl": v.exchange.prandtl,
                "nusselt": v.exchange.nusselt,
                "wall_heat_transfer_w_m2k": v.exchange.coefficient,
                "face_area_ratio": v.area_ratio,
                "heat_taken_up_j": v.heat_j,
                "heat_deposited_in_blood_j": v.deposited_j,
                "peak_outlet_rise_k": v.peak_outlet_rise_k,
                "peak_wall_temperature_c": v.peak_wall_temperature_c,
                "occluded_at_s": v.occluded_at_s,
            }
            for v in self.vessels
        ]
