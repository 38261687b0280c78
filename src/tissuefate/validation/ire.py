"""Published irreversible electroporation zones and thresholds in liver, run as scenarios and
compared (``validate --only ire``).

Each row of ``validation/data/ire.csv`` is one number a source measured. The zones are those of
Ben-David et al. (AJR Am J Roentgenol 2012): two 18 G electrodes, parallel, 15 mm apart with 20 mm
exposed, in pig liver in vivo; the abstract gives the zones "at gross pathology and
histopathology 2–3 hours after irreversible electroporation" as width (along the line joining the
electrodes), depth (across it and across the needles) and height (along the needles), mean ± SD.
:func:`experiment_scenario` writes each experiment as a scenario, the way a user would;
:func:`ire_calibration_rows` runs each distinct experiment once with the liver preset as it is
and compares. The model's zone is ``damage >= 1`` (63 % of cells killed, by the pulses' Peleg–Fermi
survival and by their Joule heat) right after the session; its width, depth and height are its
extents along x, y and z, through voxel centres plus one voxel, as ``damage/zone.py`` measures
axes. The abstract's zone is the tissue seen dead hours later: the two agree where cells die
within hours of the pulses.

The clinical liver threshold (Technol Cancer Res Treat 2025: simulations matched CT-segmented
ablations best at 500–600 V/cm, of 465–750 V/cm scanned) is compared with the model's effective
lethal field, the field at which its survival after the pulses is 1/e (the zone edge), a property
of the preset's parameters (:func:`lethal_field`). A ``reported`` row beside it shows what the
clinical threshold would make of the first experiment: the volume whose largest field reaches
550 V/cm over the model's zone volume.

No parameter of the IRE model was fitted to any of these rows: all are predictions, each with the
tolerance decided before the first run (twice the reported SD; the scanned range for the
threshold). The AJR paper's DOI was not confirmed from a primary source and is left out of the
data; the abstract does not give the voltage of its 2 cm spacing experiment, which is left out.

Grid: 1 mm in a 144 x 108 x 144 mm block, over three zone sizes each way. On the first experiment
a block 1.5 times as large changes the zone volume by 0.6 % and the width not at all, and a
0.5 mm grid changes the width by 0.5 mm (``tests/validation/test_ire_validation.py``). An
exposed length drawn on the grid covers the voxels its ends fall in: 20 mm is drawn 21 mm long
at 1 mm, 20.5 mm at 0.5 mm, and the height follows (41 and 39.5 mm).
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
from ..damage.electroporation import (
    electroporation_omega,
    peleg_fermi_field,
    peleg_fermi_survival,
)
from ..damage.zone import ZONE_OMEGA
from ..modalities.base import SessionContext
from ..modalities.ire import run_ire_session
from ..scenario.io import loads_scenario
from ..tissue.presets import load_tissue
from ..tissue.state import TissueState
from ._tissue import tissue_entry
from .cases import ValidationRow

__all__ = [
    "CLINICAL_THRESHOLD_V_CM",
    "IreExperiment",
    "IreRun",
    "experiment_scenario",
    "ire_calibration_rows",
    "lethal_field",
    "lethal_parameters",
    "load_ire_experiments",
    "run_experiment",
    "simulate",
    "zone_extents",
    "zone_measures",
]

Quantity = Literal["width", "depth", "height", "lethal_field"]

CLINICAL_THRESHOLD_V_CM = 550.0
"""Middle of the best-matching clinical liver thresholds, 500–600 V/cm (row T1 of the data)."""

_AXIS = {"width": 0, "depth": 1, "height": 2}

OFFSET_MM = 0.25
"""Shift (mm) of the pair's centre from the grid's along x, y and z: a quarter voxel at 1 mm, a
voxel centre at 0.5 mm, so that no electrode's axis or end lies on a voxel face of either grid
(there, round-off in the grid's coordinates decides which voxels are electrode)."""


@dataclass(frozen=True)
class IreExperiment:
    """One measured number of a published IRE experiment (a row of ``data/ire.csv``).

    Lengths in mm, voltage in V, pulse width in µs, rate in Hz; the experiment's fields are None
    on a ``lethal_field`` row, which runs no experiment."""

    row: str
    quantity: Quantity
    measured: float
    unit: str
    tolerance: float
    absolute: bool
    accepted: tuple[float, float] | None
    diameter_mm: float | None
    spacing_mm: float | None
    exposure_mm: float | None
    voltage_v: float | None
    pulses: int
    pulse_width_us: float
    pulse_rate_hz: float | None
    grid_mm: float | None
    block_mm: tuple[float, float, float] | None
    role: Literal["fit", "predict"]
    source: str

    @property
    def kind(self) -> Literal["fitted", "predicted"]:
        """What comparing with this row is worth: a ``fit`` row set the liver's lethal field."""
        return "fitted" if self.role == "fit" else "predicted"

    @property
    def setup(self) -> tuple[object, ...]:
        """Everything that defines the simulation (rows with equal setups share one run)."""
        return (
            self.diameter_mm,
            self.spacing_mm,
            self.exposure_mm,
            self.voltage_v,
            self.pulses,
            self.pulse_width_us,
            self.pulse_rate_hz,
            self.grid_mm,
            self.block_mm,
        )


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def load_ire_experiments() -> list[IreExperiment]:
    """The rows of ``validation/data/ire.csv``."""
    text = (resources.files("tissuefate.validation") / "data" / "ire.csv").read_text("utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    out = []
    for rec in csv.DictReader(lines):
        tolerance = rec["tolerance"].strip()
        accepted = None
        if "-" in tolerance:
            low, high = (float(v) for v in tolerance.split("-"))
            accepted = (low, high)
            tolerance = "nan"
        block = rec["block_mm"].strip()
        rate = _number(rec["pulse_rate_hz"])
        out.append(
            IreExperiment(
                row=rec["row"],
                quantity=rec["quantity"],  # type: ignore[arg-type]
                measured=float(rec["measured"]),
                unit=rec["unit"],
                tolerance=float(tolerance.removesuffix("mm")),
                absolute=tolerance.endswith("mm"),
                accepted=accepted,
                diameter_mm=_number(rec["diameter_mm"]),
                spacing_mm=_number(rec["spacing_mm"]),
                exposure_mm=_number(rec["exposure_mm"]),
                voltage_v=_number(rec["voltage_v"]),
                pulses=int(rec["pulses"]),
                pulse_width_us=float(rec["pulse_width_us"]),
                pulse_rate_hz=rate,
                grid_mm=_number(rec["grid_mm"]),
                block_mm=tuple(float(v) for v in block.split("x")) if block else None,  # type: ignore[arg-type]
                role=rec["role"],  # type: ignore[arg-type]
                source=rec["source"],
            )
        )
    return out


def experiment_scenario(
    exp: IreExperiment,
    grid_mm: float | None = None,
    scale_block: float = 1.0,
    tissue_parameters: Mapping[str, str] | None = None,
) -> str:
    """The experiment as a scenario (YAML text): two electrodes along −z, ``spacing_mm`` apart
    along x, the middle of the pair's exposed parts at :data:`OFFSET_MM` from the grid's centre
    along x, y and z, one pair at the experiment's voltage; ``grid_mm`` and ``scale_block``
    change the spacing and the block (for convergence checks), ``tissue_parameters`` (name ->
    value with units) override the liver preset's."""
    h = grid_mm or exp.grid_mm
    if exp.block_mm is None or exp.spacing_mm is None or exp.exposure_mm is None or h is None:
        raise ValueError(f"row {exp.row} ({exp.quantity}) runs no experiment")
    size = [round(v * scale_block / (2 * h)) * 2 * h for v in exp.block_mm]
    c = OFFSET_MM
    tip_z = c - 0.5 * exp.exposure_mm
    tissue = tissue_entry("liver", tissue_parameters)
    electrodes = "".join(
        f"\n          - {{tip: [{x + c:g} mm, {c:g} mm, {tip_z:g} mm], direction: [0, 0, -1], "
        f"diameter: {exp.diameter_mm:g} mm, exposure: {exp.exposure_mm:g} mm}}"
        for x in (-0.5 * exp.spacing_mm, 0.5 * exp.spacing_mm)
    )
    return (
        f"name: ire-calibration-{exp.row}\n"
        f"grid: {{size: [{size[0]:g} mm, {size[1]:g} mm, {size[2]:g} mm], spacing: {h:g} mm}}\n"
        f"tissue: {tissue}\n"
        "strategies:\n  experiment:\n    sessions:\n"
        f"      - modality: ire\n        electrodes:{electrodes}\n"
        "        pairs: [[0, 1]]\n"
        f"        voltage: {exp.voltage_v:g} V\n"
        f"        pulses: {exp.pulses}\n"
        f"        pulse_width: {exp.pulse_width_us:g} us\n"
        f"        pulse_rate: {exp.pulse_rate_hz:g} Hz\n"
    )


def zone_extents(
    mask: np.ndarray, axes_mm: tuple[np.ndarray, ...], spacing_mm: float
) -> dict[str, float]:
    """Extents (mm) of ``mask`` along x, y and z (``width``, ``depth``, ``height``): between the
    outermost voxel centres plus one voxel; 0 for an empty mask."""
    idx = np.nonzero(mask)
    out = {}
    for name, axis in _AXIS.items():
        if idx[axis].size == 0:
            out[name] = 0.0
            continue
        centres = axes_mm[axis][idx[axis]]
        out[name] = float(centres.max() - centres.min()) + spacing_mm
    return out


@dataclass(frozen=True)
class IreRun:
    """What one experiment's session leaves that the survival parameters do not change: the
    largest field, the heat's damage and the vessels (the field is solved before any cell dies,
    so the zone under other Peleg–Fermi parameters follows without running again,
    :func:`zone_measures`), and the session's own zone (``damage``)."""

    max_field: np.ndarray  # V/m
    thermal_dose: np.ndarray  # Ω of the heat
    damage: np.ndarray  # Ω of the session (heat and pulses) with the preset's parameters
    vessel: np.ndarray  # bool, large vessels (survival 1)
    axes_mm: tuple[np.ndarray, ...]
    spacing_mm: float
    summary: dict[str, float]  # max_field_v_cm, peak_temperature_c, thermal_ml, wall_s


def run_experiment(
    exp: IreExperiment,
    grid_mm: float | None = None,
    scale_block: float = 1.0,
    tissue_parameters: Mapping[str, str] | None = None,
) -> IreRun:
    """Run the experiment's session with the liver preset (and ``tissue_parameters``, as in
    :func:`experiment_scenario`)."""
    scenario = loads_scenario(experiment_scenario(exp, grid_mm, scale_block, tissue_parameters))
    grid, tissue, anatomy = build_tissue(scenario)
    ctx = SessionContext(
        grid, anatomy, tissue, TissueState.initial(anatomy), thermal_options(scenario)
    )
    _, strategy = scenario.strategy()
    result = run_ire_session(ctx, strategy.sessions[0])
    summary = result.extra["ire"]
    return IreRun(
        max_field=np.asarray(result.fields["max_field"], np.float64),
        thermal_dose=np.asarray(result.fields["thermal_dose"], np.float64),
        damage=np.asarray(result.fields["damage"]),
        vessel=np.asarray(anatomy.vessel, bool),
        axes_mm=grid.axes_mm(),
        spacing_mm=grid.spacing * 1e3,
        summary={
            "max_field_v_cm": float(summary["max_field_v_cm"]),
            "peak_temperature_c": float(np.max(result.fields["peak_temperature"])),
            "thermal_ml": float(summary["thermal_zone_ml"]),
            "wall_s": float(result.solver["wall_time_s"]),
        },
    )


def _measures(run: IreRun, zone: np.ndarray) -> dict[str, float]:
    ml = run.spacing_mm**3 * 1e-3
    clinical = np.count_nonzero(run.max_field >= CLINICAL_THRESHOLD_V_CM * 100.0)
    return zone_extents(zone, run.axes_mm, run.spacing_mm) | {
        "volume_ml": float(np.count_nonzero(zone)) * ml,
        "clinical_ml": float(clinical) * ml,
    }


def zone_measures(
    run: IreRun, pulses: int, lethal: tuple[float, float, float, float]
) -> dict[str, float]:
    """The zone's extents (mm) and volume (mL) had the session's survival parameters been
    ``lethal`` = (E_c0 V/m, A0 V/m, k1, k2): the heat's damage plus ``−ln S`` of the largest
    field after ``pulses`` (1 in vessels), at least 1, as the session combines them."""
    survival = np.where(run.vessel, 1.0, peleg_fermi_survival(run.max_field, pulses, *lethal))
    zone = run.thermal_dose + electroporation_omega(survival) >= ZONE_OMEGA
    return _measures(run, zone)


def simulate(
    exp: IreExperiment,
    grid_mm: float | None = None,
    scale_block: float = 1.0,
    tissue_parameters: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """Run the experiment's session; its zone's measures.

    Keys: ``width``, ``depth``, ``height`` (mm), ``volume_ml``, ``clinical_ml`` (the volume whose
    largest field reaches :data:`CLINICAL_THRESHOLD_V_CM`), ``max_field_v_cm``,
    ``peak_temperature_c``, ``thermal_ml`` (zone killed by heat alone) and ``wall_s``.
    """
    run = run_experiment(exp, grid_mm, scale_block, tissue_parameters)
    return _measures(run, run.damage >= ZONE_OMEGA) | run.summary


def lethal_parameters(preset: str = "liver") -> tuple[float, float, float, float]:
    """The preset's Peleg–Fermi parameters (E_c0 V/m, A0 V/m, k1, k2)."""
    m = load_tissue(preset).base
    params = (
        m.ire_lethal_field,
        m.ire_lethal_width,
        m.ire_lethal_field_decay,
        m.ire_lethal_width_decay,
    )
    if any(p is None for p in params):
        raise ValueError(f"the {preset} preset has no Peleg-Fermi parameters")
    return params  # type: ignore[return-value]


def lethal_field(pulses: int, preset: str = "liver") -> float:
    """The field (V/m) at which the preset's Peleg–Fermi survival after ``pulses`` is 1/e, the
    edge ``Ω = 1`` of the zone (the closed-form inverse of the survival,
    :func:`~tissuefate.damage.electroporation.peleg_fermi_field`)."""
    return peleg_fermi_field(math.exp(-1.0), pulses, *lethal_parameters(preset))


def _case(exp: IreExperiment) -> str:
    return (
        f"ire {exp.row}: 2 x {exp.diameter_mm:g} mm, {exp.spacing_mm:g} mm apart, "
        f"{exp.exposure_mm:g} mm exposed, {exp.voltage_v:g} V, {exp.pulses} x "
        f"{exp.pulse_width_us:g} us, in vivo liver, {exp.grid_mm:g} mm"
    )


def compare(exp: IreExperiment, sim: dict[str, float] | None = None) -> ValidationRow:
    """The row's comparison: an extent of the zone of ``sim`` (absolute error in mm, or relative
    where the tolerance is relative), or the lethal field (relative error; it passes inside the
    accepted range, the tolerance being the range's side on which the value lies)."""
    if exp.quantity == "lethal_field":
        if exp.accepted is None:
            raise ValueError(f"row {exp.row}: a lethal field row needs a range of accepted values")
        value = lethal_field(exp.pulses) * 1e-2
        error = value / exp.measured - 1.0
        low, high = exp.accepted
        side = low if value < exp.measured else high
        return ValidationRow(
            f"ire {exp.row}: liver preset, {exp.pulses} pulses (clinical liver threshold)",
            f"effective lethal field, survival 1/e (V/cm; passes within {low:g}-{high:g})",
            value,
            exp.measured,
            error,
            abs(side / exp.measured - 1.0),
            kind=exp.kind,
        )
    if sim is None:
        raise ValueError(f"row {exp.row} needs the simulation of its experiment")
    model = sim[exp.quantity]
    what = {
        "width": "zone width along the electrode line",
        "depth": "zone depth across the electrodes and needles",
        "height": "zone height along the needles",
    }[exp.quantity]
    unit = " (mm; absolute error)" if exp.absolute else " (mm)"
    return ValidationRow(
        _case(exp),
        what + unit,
        model,
        exp.measured,
        model - exp.measured if exp.absolute else model / exp.measured - 1.0,
        exp.tolerance,
        kind=exp.kind,
    )


def clinical_share_row(exp: IreExperiment, sim: dict[str, float]) -> ValidationRow:
    """Reported: the volume whose largest field reaches the clinical threshold over the model's
    zone volume, on ``exp``'s experiment (1 where the two agree)."""
    share = sim["clinical_ml"] / sim["volume_ml"] if sim["volume_ml"] > 0 else math.nan
    return ValidationRow(
        f"ire {exp.row}'s experiment at the clinical threshold",
        f"volume with max field >= {CLINICAL_THRESHOLD_V_CM:g} V/cm / model zone volume "
        f"({sim['clinical_ml']:.1f} / {sim['volume_ml']:.1f} mL; reported)",
        share,
        1.0,
        share - 1.0,
        math.inf,
        kind="reported",
    )


def ire_calibration_rows(
    progress: object = None,
    names: tuple[str, ...] | None = None,
    sims: dict[tuple[object, ...], dict[str, float]] | None = None,
) -> list[ValidationRow]:
    """Run the experiments of ``data/ire.csv`` (each distinct setup once) and compare, in the
    file's order, then the reported clinical-threshold share on the first experiment. ``names``
    selects rows; ``sims`` keeps the runs by setup across calls."""
    experiments = load_ire_experiments()
    chosen = [e for e in experiments if names is None or e.row in names]
    runs = {} if sims is None else sims

    def sim_of(exp: IreExperiment) -> dict[str, float]:
        if exp.setup not in runs:
            runs[exp.setup] = simulate(exp)
        return runs[exp.setup]

    rows = []
    for n, exp in enumerate(chosen):
        if callable(progress):
            progress(n / len(chosen), f"calibration ire {exp.row}")
        if exp.quantity == "lethal_field":
            rows.append(compare(exp))
        else:
            rows.append(compare(exp, sim_of(exp)))
    first = next((e for e in experiments if e.quantity != "lethal_field"), None)
    if first is not None and (names is None or first.row in names):
        rows.append(clinical_share_row(first, sim_of(first)))
    return rows
