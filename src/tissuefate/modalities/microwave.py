"""Microwave ablation session: one or more 2.45 GHz antennas with a calibrated SAR pattern."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

from ..errors import ScenarioError
from ..physics.microwave import AntennaPattern, MicrowaveApplicator, MicrowaveSource
from ..physics.thermal import ThermalSolver
from ..scenario.models import MicrowaveSession
from ..scenario.quantities import format_quantity, parse_quantity
from ..tissue.presets import TissueModel
from .base import SessionContext, SessionResult
from .thermal import (
    PowerTally,
    energy_summary,
    run_thermal_session,
    session_fields,
    timeseries_frame,
    vessel_summary,
)

__all__ = [
    "MicrowaveSessionSource",
    "antenna_pattern",
    "antenna_provenance",
    "generator_energy",
    "run_microwave_session",
]

TABLE_START_C = -60.0  # °C, first sample of the dielectric tables
TABLE_STOP_C = 250.0
TABLE_STEP_K = 0.5
_PATTERN_FIELDS = {
    "center": "[length]",
    "half_length": "[length]",
    "tail_fraction": "dimensionless",
    "tail_length": "[length]",
    "core_radius": "[length]",
    "reference_permittivity": "dimensionless",
    "elongation_exponent": "dimensionless",
    "detuned_tail_fraction": "dimensionless",
    "efficiency": "dimensionless",
    "max_elongation": "dimensionless",
}


@cache
def _antenna_file() -> dict[str, Any]:
    text = (resources.files("tissuefate.modalities") / "antennas.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def antenna_provenance(name: str) -> dict[str, str]:
    """Where each parameter of antenna ``name`` comes from (source, assumption or fit)."""
    entry = _antenna_file()[name]
    out = {}
    for key in _PATTERN_FIELDS:
        if key not in entry:
            continue
        item = entry[key]
        kind = next(k for k in ("source", "assumption", "fitted") if k in item)
        out[key] = f"{kind}: {' '.join(str(item[kind]).split())}"
    return out


def antenna_pattern(name: str, **overrides: float) -> AntennaPattern:
    """The antenna model ``name`` from ``antennas.yaml`` (SI); ``overrides`` replace values."""
    table = _antenna_file()
    if name not in table:
        raise ScenarioError(f"unknown antenna {name!r}; known: {', '.join(table)}")
    entry = table[name]
    values: dict[str, float] = {}
    for key, dim in _PATTERN_FIELDS.items():
        if key not in entry:  # optional parameters keep the model's default
            continue
        q = parse_quantity(entry[key]["value"], dim, what=key)
        values[key] = float(q.to_base_units().magnitude)
    values.update(overrides)
    return AntennaPattern(name=name, **values)


def dielectric_tables(tissue: TissueModel, t_ref: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Conductivity (S/m) and permittivity tables per material at offsets from ``t_ref`` (°C)."""
    temps = np.arange(TABLE_START_C, TABLE_STOP_C + TABLE_STEP_K / 2, TABLE_STEP_K)
    sigma = np.array([m.conductivity(temps) for m in tissue.materials])
    eps = np.array([m.permittivity(temps) for m in tissue.materials])
    return sigma, eps, TABLE_START_C - t_ref


class MicrowaveSessionSource:
    """Drives a :class:`MicrowaveSource` from the session loop (built on first use)."""

    static = False

    def __init__(
        self, ctx: SessionContext, applicators: list[MicrowaveApplicator], frequency: float
    ) -> None:
        self.ctx = ctx
        self.applicators = applicators
        self.frequency = frequency
        self.source: MicrowaveSource | None = None
        self.tally = PowerTally("reflected", "beyond_grid")
        """Energy reflected back to the generators and absorbed beyond the grid so far, J."""

    def update(self, solver: ThermalSolver, t: float, on: bool) -> dict[str, float]:
        """Recompute the absorbed power for the current temperature (or switch it off)."""
        if self.source is None:
            sigma, eps, t0 = dielectric_tables(self.ctx.tissue, solver.t_ref)
            self.source = MicrowaveSource(
                self.ctx.grid,
                self.applicators,
                self.ctx.anatomy.material,
                sigma,
                eps,
                t0,
                TABLE_STEP_K,
                self.frequency,
                impl=self.ctx.impl,
                exclude=self.ctx.anatomy.vessel,
                dried_permittivity=float(
                    self.ctx.tissue.base.permittivity(self.ctx.tissue.body.vaporization_temperature)
                ),
            )
        if not on:
            solver.set_source(None)
            self.tally.hold(t, reflected=0.0, beyond_grid=0.0)
            return {
                "effective_permittivity": float("nan"),
                "effective_conductivity_s_m": float("nan"),
                "generator_power_w": 0.0,
                "reflected_power_w": 0.0,
                "beyond_grid_power_w": 0.0,
            }
        src = self.source
        solver.source_written(src.update(solver.padded, solver.source_array()))
        self.tally.hold(t, reflected=src.reflected_power, beyond_grid=src.beyond_power)
        eps_eff, sig_eff = src.effective[0]
        return {
            "effective_permittivity": eps_eff,
            "effective_conductivity_s_m": sig_eff,
            "generator_power_w": src.generator_power,
            "reflected_power_w": src.reflected_power,
            "beyond_grid_power_w": src.beyond_power,
        }


def generator_energy(
    applicators: list[MicrowaveApplicator], duration: float, source: MicrowaveSessionSource
) -> dict[str, float]:
    """Where the generators' energy went over ``duration`` s (J): lost in cables and applicators
    (``1 - efficiency`` of it), reflected back to the generators, absorbed by the tissue beyond the
    grid's faces (the tissue in the grid received the rest: the solver's ``energy_j``)."""
    generated = sum(a.power for a in applicators) * duration
    fed = sum(a.power * a.pattern.efficiency for a in applicators) * duration
    return {
        "generator_energy_j": generated,
        "line_loss_j": generated - fed,
        "reflected_energy_j": source.tally.energy["reflected"],
        "beyond_grid_energy_j": source.tally.energy["beyond_grid"],
    }


def run_microwave_session(
    ctx: SessionContext, session: MicrowaveSession, label: str = "session"
) -> SessionResult:
    """Run a microwave ablation session on ``ctx``."""
    apps = [
        MicrowaveApplicator(
            tip=a.tip_m,
            direction=a.direction,
            pattern=antenna_pattern(
                a.antenna, **({} if a.efficiency is None else {"efficiency": a.efficiency})
            ),
            power=session.power_w,
        )
        for a in session.applicators
    ]
    source = MicrowaveSessionSource(ctx, apps, session.frequency_hz)
    run, solver_info = run_thermal_session(
        ctx,
        source,
        session.duration_s,
        "auto" if session.cooldown_s is None else session.cooldown_s,
        label,
    )
    source.tally.book(session.duration_s)  # without a cool-down, nothing switched it off
    delivered: dict[str, Any] = {
        "power_per_applicator_w": session.power_w,
        "power": format_quantity(session.power),
        "duration_s": session.duration_s,
        "duration": format_quantity(session.duration),
        "frequency_hz": session.frequency_hz,
        "applicators": [
            {
                "tip_mm": [c * 1e3 for c in a.tip_m],
                "direction": list(a.direction),
                "antenna": a.antenna,
                "efficiency": app.pattern.efficiency,
            }
            for a, app in zip(session.applicators, apps, strict=True)
        ],
        "energy_j": run.solver.ledger.delivered,
        **generator_energy(apps, session.duration_s, source),
    }
    first = apps[0]
    focus_point = np.asarray(first.tip) - first.pattern.center * np.asarray(first.direction)
    return SessionResult(
        modality="microwave",
        delivered=delivered,
        fields=session_fields(run),
        timeseries=timeseries_frame(run),
        solver=solver_info,
        energy=energy_summary(run),
        focus=(focus_point, np.asarray(first.direction)),
        extra={
            "antennas": {a.antenna: antenna_provenance(a.antenna) for a in session.applicators},
            **vessel_summary(run),
        },
    )
