"""Published cryo isotherms and zones, run as scenarios and compared (``validate --only cryo``).

Each row of ``validation/data/cryo.csv`` is one number a source measured: a probe (cryogen,
diameter, freezing length), a medium (a water-based gel, or liver in vivo with or without its
blood inflow), a protocol of freezes and thaws, and an isotherm's size. :func:`experiment_scenario`
writes the experiment as a scenario, the way a user would; :func:`cryo_calibration_rows` runs each
distinct experiment once and compares every number measured on it. Rows with ``role: fit`` set a
cryogen's probe heat-transfer coefficient (one row per cryogen, ``benchmarks/calibrate_cryo.py``);
the others are predictions and fail when they miss their tolerance.

Isotherms are those of the lowest temperature each voxel reached. A ``diameter`` is that of the
circle with the area of the isotherm's cut through the middle of the freezing length, counted over
all voxels so that the grid's staircase averages out; ``long`` and ``width`` are the isotherm's
extents along the probes and across them (the larger of the two directions across).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import numpy as np

from ..course.prepare import build_tissue, thermal_options
from ..modalities.base import SessionContext
from ..modalities.cryo import run_cryo_session
from ..scenario.io import loads_scenario
from ..tissue.state import TissueState
from ._tissue import tissue_entry
from .cases import ValidationRow

__all__ = [
    "CryoExperiment",
    "cryo_calibration_rows",
    "experiment_scenario",
    "isotherm_diameter",
    "load_cryo_experiments",
    "simulate",
]

Quantity = Literal["diameter", "long", "width", "gap"]


@dataclass(frozen=True)
class CryoExperiment:
    """One measured number of a published cryo experiment (a row of ``data/cryo.csv``)."""

    row: str
    cryogen: str
    probes: int
    diameter_mm: float
    active_mm: float
    probe_spacing_mm: float
    medium: Literal["gel", "in_vivo"]
    medium_c: float | None
    perfused: bool  # blood flows (in vivo, inflow open); a gel or a clamped inflow does not
    protocol: tuple[tuple[str, float, str | None], ...]
    quantity: Quantity
    isotherm_c: float
    measured_mm: float
    tolerance: float
    absolute: bool
    grid_mm: float
    block_mm: tuple[float, float, float]
    role: Literal["fit", "predict"]
    source: str
    ratio_to: str | None = None

    @property
    def kind(self) -> Literal["fitted", "predicted"]:
        """What comparing with this row is worth."""
        return "fitted" if self.role == "fit" else "predicted"

    @property
    def setup(self) -> tuple[object, ...]:
        """Everything that defines the simulation (rows with equal setups share one run)."""
        return (
            self.cryogen,
            self.probes,
            self.diameter_mm,
            self.active_mm,
            self.probe_spacing_mm,
            self.medium,
            self.medium_c,
            self.perfused,
            self.protocol,
            self.grid_mm,
            self.block_mm,
        )


def _protocol(text: str) -> tuple[tuple[str, float, str | None], ...]:
    """``"freeze 10 min; thaw 8 min active"`` as ``(kind, seconds, mode)`` phases."""
    phases = []
    for part in text.split(";"):
        words = part.split()
        kind, minutes = words[0], float(words[1])
        mode = words[3] if kind == "thaw" else None
        phases.append((kind, minutes * 60.0, mode))
    return tuple(phases)


def load_cryo_experiments() -> list[CryoExperiment]:
    """The rows of ``validation/data/cryo.csv``."""
    text = (resources.files("tissuefate.validation") / "data" / "cryo.csv").read_text("utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    out = []
    for rec in csv.DictReader(lines):
        tolerance = rec["tolerance"].strip()
        block = tuple(float(v) for v in rec["block_mm"].split("x"))
        out.append(
            CryoExperiment(
                row=rec["row"],
                cryogen=rec["cryogen"],
                probes=int(rec["probes"]),
                diameter_mm=float(rec["diameter_mm"]),
                active_mm=float(rec["active_mm"]),
                probe_spacing_mm=float(rec["probe_spacing_mm"] or 0.0),
                medium=rec["medium"],  # type: ignore[arg-type]
                medium_c=float(rec["medium_c"]) if rec["medium_c"].strip() else None,
                perfused=rec["medium"] == "in_vivo" and rec["perfusion"].strip() != "none",
                protocol=_protocol(rec["protocol"]),
                quantity=rec["quantity"],  # type: ignore[arg-type]
                isotherm_c=float(rec["isotherm_c"]),
                measured_mm=float(rec["measured_mm"]),
                tolerance=float(tolerance.removesuffix("mm")),
                absolute=tolerance.endswith("mm"),
                grid_mm=float(rec["grid_mm"]),
                block_mm=block,  # type: ignore[arg-type]
                role=rec["role"],  # type: ignore[arg-type]
                source=rec["source"],
                ratio_to=rec["ratio_to"].strip() or None,
            )
        )
    return out


def experiment_scenario(
    exp: CryoExperiment,
    grid_mm: float | None = None,
    scale_block: float = 1.0,
    tissue_parameters: Mapping[str, str] | None = None,
) -> str:
    """The experiment as a scenario (YAML text): its probes along −z, side by side along x and
    centred on the grid, the middle of their freezing length at z = 0; ``grid_mm`` and
    ``scale_block`` change the spacing and the block (for convergence checks),
    ``tissue_parameters`` (name -> value with units) override the preset's (for the fits)."""
    h = grid_mm or exp.grid_mm
    size = [round(v * scale_block / (2 * h)) * 2 * h for v in exp.block_mm]
    params = dict(tissue_parameters or {})
    thermal = ""
    if exp.medium == "gel":
        t = f"{exp.medium_c} degC"
        preset = "gel_phantom"
        thermal = f"thermal: {{initial_temperature: {t}, boundary_temperature: {t}}}\n"
    else:
        preset = "liver"
        if not exp.perfused:
            params["perfusion_rate"] = "0 1/s"
    tissue = tissue_entry(preset, params)
    half = 0.5 * exp.active_mm
    xs = [(i - 0.5 * (exp.probes - 1)) * exp.probe_spacing_mm for i in range(exp.probes)]
    probes = "".join(
        f"\n          - {{tip: [{x} mm, 0 mm, -{half} mm], direction: [0, 0, -1], "
        f"diameter: {exp.diameter_mm} mm, active_length: {exp.active_mm} mm, "
        f"cryogen: {exp.cryogen}}}"
        for x in xs
    )
    phases = ", ".join(
        f"{{freeze: {d} s}}" if kind == "freeze" else f"{{thaw: {d} s, mode: {mode}}}"
        for kind, d, mode in exp.protocol
    )
    return (
        f"name: cryo-calibration-{exp.row}\n"
        f"grid: {{size: [{size[0]} mm, {size[1]} mm, {size[2]} mm], spacing: {h} mm}}\n"
        f"tissue: {tissue}\n{thermal}"
        "strategies:\n  experiment:\n    sessions:\n"
        f"      - modality: cryo\n        probes:{probes}\n"
        f"        protocol: [{phases}]\n        cooldown: 0 s\n"
    )


def isotherm_diameter(plane: np.ndarray, temperature: float, spacing: float) -> float:
    """Diameter (m) of the circle with the area of ``plane <= temperature`` (a 2-D slice)."""
    area = float(np.count_nonzero(plane <= temperature)) * spacing**2
    return 2.0 * math.sqrt(area / math.pi)


def _extent(mask: np.ndarray, axis: int, spacing: float) -> float:
    """Extent (m) of ``mask`` along ``axis``: the number of its slices that hold a voxel."""
    other = tuple(a for a in range(3) if a != axis)
    return float(np.count_nonzero(mask.any(axis=other))) * spacing


def simulate(
    exp: CryoExperiment,
    grid_mm: float | None = None,
    scale_block: float = 1.0,
    tissue_parameters: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """Run the experiment's session; the lowest-temperature field's measures, in mm.

    Keys: ``diameter_<T>``, ``long_<T>``, ``width_<T>`` for each isotherm T (°C) of 0, −20,
    −30, −38 and −40, and ``wall_s``.
    """
    scenario = loads_scenario(experiment_scenario(exp, grid_mm, scale_block, tissue_parameters))
    grid, tissue, anatomy = build_tissue(scenario)
    ctx = SessionContext(
        grid, anatomy, tissue, TissueState.initial(anatomy), thermal_options(scenario)
    )
    _, strategy = scenario.strategy()
    result = run_cryo_session(ctx, strategy.sessions[0])
    lowest = np.asarray(result.fields["min_temperature"], np.float64)
    h = grid.spacing
    mid = int(np.argmin(np.abs(grid.axis(2))))  # the middle of the freezing length lies at z = 0
    out = {"wall_s": float(result.solver["wall_time_s"])}
    for t in (0.0, -20.0, -30.0, -38.0, -40.0):
        mask = lowest <= t
        out[f"diameter_{t:g}"] = isotherm_diameter(lowest[:, :, mid], t, h) * 1e3
        out[f"long_{t:g}"] = _extent(mask, 2, h) * 1e3
        out[f"width_{t:g}"] = max(_extent(mask, 0, h), _extent(mask, 1, h)) * 1e3
    return out


def model_value(exp: CryoExperiment, sim: dict[str, float]) -> float:
    """The model's number for the row's quantity (mm)."""
    if exp.quantity == "gap":
        return 0.5 * (sim["diameter_0"] - sim[f"diameter_{exp.isotherm_c:g}"])
    return sim[f"{exp.quantity}_{exp.isotherm_c:g}"]


def _what(exp: CryoExperiment) -> str:
    return {
        "diameter": f"{exp.isotherm_c:g} degC isotherm diameter",
        "long": f"{exp.isotherm_c:g} degC isotherm length along the probes",
        "width": f"{exp.isotherm_c:g} degC isotherm width across the probes",
        "gap": f"0 degC edge to {exp.isotherm_c:g} degC isotherm",
    }[exp.quantity]


def compare(
    exp: CryoExperiment, sim: dict[str, float], reference: dict[str, float] | None = None
) -> ValidationRow:
    """The row's comparison: relative error, or absolute (mm) where the tolerance is in mm; a
    ratio row (``ratio_to``) compares the ratio of its value to that of the row it names, whose
    simulation is ``reference`` (absolute error)."""
    model = model_value(exp, sim)
    meas = exp.measured_mm
    medium = (
        f"gel {exp.medium_c:g} degC"
        if exp.medium == "gel"
        else "in vivo liver" + ("" if exp.perfused else ", inflow clamped")
    )
    freeze = "+".join(f"{d / 60:g}" for k, d, _ in exp.protocol if k == "freeze")
    case = (
        f"cryo {exp.row}: {exp.probes} x {exp.diameter_mm:g} mm "
        f"{exp.cryogen.replace('_', ' ')}, {freeze} min freeze, {medium}, {exp.grid_mm:g} mm"
    )
    if exp.ratio_to is not None:
        if reference is None:
            raise ValueError(f"row {exp.row} needs the simulation of row {exp.ratio_to}")
        model /= model_value(exp, reference)
        return ValidationRow(
            case,
            f"{_what(exp)}, ratio to row {exp.ratio_to} (absolute error)",
            model,
            meas,
            model - meas,
            exp.tolerance,
            kind=exp.kind,
        )
    unit = " (mm; absolute error)" if exp.absolute else " (mm)"
    return ValidationRow(
        case,
        _what(exp) + unit,
        model,
        meas,
        model - meas if exp.absolute else model / meas - 1.0,
        exp.tolerance,
        kind=exp.kind,
    )


def cryo_calibration_rows(
    progress: object = None,
    names: tuple[str, ...] | None = None,
    sims: dict[tuple[object, ...], dict[str, float]] | None = None,
    tissue_parameters: Mapping[str, str] | None = None,
) -> list[ValidationRow]:
    """Run the experiments of ``data/cryo.csv`` (each distinct setup once) and compare, in the
    file's order. ``names`` selects rows (a ratio row's reference runs too); ``sims`` keeps the
    runs by setup across calls (valid for one set of parameters); ``tissue_parameters`` override
    the liver's in the in vivo rows (for the fits)."""
    experiments = load_cryo_experiments()
    by_row = {e.row: e for e in experiments}
    chosen = [e for e in experiments if names is None or e.row in names]
    runs = {} if sims is None else sims

    def sim_of(exp: CryoExperiment) -> dict[str, float]:
        if exp.setup not in runs:
            tissue = tissue_parameters if exp.medium == "in_vivo" else None
            runs[exp.setup] = simulate(exp, tissue_parameters=tissue)
        return runs[exp.setup]

    rows = []
    for n, exp in enumerate(chosen):
        if callable(progress):
            progress(n / len(chosen), f"calibration cryo {exp.row}")
        reference = None if exp.ratio_to is None else sim_of(by_row[exp.ratio_to])
        rows.append(compare(exp, sim_of(exp), reference))
    return rows
