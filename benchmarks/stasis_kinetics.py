"""Would blood-flow stasis with its own Arrhenius kinetics treat RF and microwave zones differently?

A diagnostic, nothing fitted or kept (docs/validation.md, "Radiofrequency judged on delivered
energy"). The liver's flow stops at ``perfusion_stasis_dose`` times the cells' Arrhenius dose
(activation energy 2.577e5 J/mol), fitted to the in vivo microwave series of He et al. 2010. A
vascular stasis with kinetics of its own, steeper in temperature, would weigh time against
temperature differently, so it could stop flow later in a 12 min RF zone than in a microwave zone
of the same fit. No sourced vascular Arrhenius pair is at hand, so a range is scanned.

The script records the temperature history of the mid-plane through the applicator's axis in
three sessions as the model runs them today (the Song 2015 R5 17 G in vivo RF row; the He et al.
40 and 50 W, 10 min in vivo microwave rows) and computes, offline, the heat the perfusion carries
away, Σ ∫ w(t)/w0 (T − 37 °C) dt weighted by the distance from the axis, with flow falling as
exp(−Ω_v) for a vascular dose Ω_v of activation energy Ea. For each Ea the frequency factor is set
so that one microwave session loses as much heat as with today's stasis; the other sessions'
heat removal is then printed relative to today's. A ratio above 1 for the RF session would mean a
stronger sink there, a smaller RF zone. Offline and not self-consistent (the histories are those
of today's stasis), it shows the direction and size of the effect. About 2 min.

Run: ``python benchmarks/stasis_kinetics.py``
"""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
from scipy.optimize import brentq

from tissuefate.damage.thermal import GAS_CONSTANT, ThermalDose
from tissuefate.tissue.presets import load_tissue
from tissuefate.validation.calibration import SPACING_MM, load_experiments, simulate_experiment
from tissuefate.validation.radiofrequency import ENERGY_ROWS, energy_session

ACTIVATION_ENERGIES = (2.577e5, 4.0e5, 6.67e5, 1.0e6)
"""J/mol: the liver cells' (the present form), and steeper ones up to a bound."""
MICROWAVE_ROWS = ("M5-10min", "M6-10min")


def record(run: object) -> tuple[np.ndarray, np.ndarray]:
    """Interval lengths (s) and mid-plane temperatures (°C, padded) of every dose interval of the
    session ``run()`` runs."""
    dts: list[float] = []
    planes: list[np.ndarray] = []
    accumulate = ThermalDose.accumulate

    def spy(self: ThermalDose, current: np.ndarray, dt: float) -> None:
        dts.append(dt)
        planes.append(np.array(current[:, current.shape[1] // 2, :], np.float64) + self.t_ref)
        accumulate(self, current, dt)

    with mock.patch.object(ThermalDose, "accumulate", spy):
        run()  # type: ignore[operator]
    return np.array(dts), np.stack(planes)


def heat_removed(dt: np.ndarray, temp: np.ndarray, radius: np.ndarray, flow: np.ndarray) -> float:
    """Σ ∫ flow (T − 37 °C)+ dt r over the plane (relative units: flow is w/w0)."""
    rise = np.clip(temp - 37.0, 0.0, None)
    return float(np.sum(flow * rise * dt[:, None, None] * radius[None, :, None]))


def dose(dt: np.ndarray, temp: np.ndarray, ln_a: float, ea: float) -> np.ndarray:
    """Arrhenius dose over time, each interval at its end temperature."""
    rate = np.exp(ln_a - ea / GAS_CONSTANT / (temp + 273.15))
    return np.cumsum(rate * dt[:, None, None], axis=0)


def main() -> None:
    liver = load_tissue("liver")
    cells = (
        math.log(liver.base.arrhenius_frequency_factor),
        liver.base.arrhenius_activation_energy,
    )
    stasis = liver.body.perfusion_stasis_dose
    rf_row = next(r for r in ENERGY_ROWS if r.name == "R5 17 G in vivo")
    experiments = {e.row: e for e in load_experiments()}
    runs = {"RF R5 17 G": (lambda: energy_session(rf_row), 1.0)}
    for name in MICROWAVE_ROWS:
        runs[f"MW {name}"] = (lambda e=experiments[name]: simulate_experiment(e), SPACING_MM)
    sessions = {}
    for label, (run, spacing) in runs.items():
        dt, temp = record(run)
        n = temp.shape[1]
        radius = np.abs(np.arange(n) - (n - 1) / 2) * spacing  # the axis between two voxels
        today = heat_removed(dt, temp, radius, np.exp(-dose(dt, temp, *cells) / stasis))
        never = heat_removed(dt, temp, radius, np.ones(1))
        sessions[label] = (dt, temp, radius, today)
        print(f"{label}: {len(dt)} intervals; heat removed with today's stasis / flow never "
              f"stopping: {today / never:.3f}")  # fmt: skip
    for ea in ACTIVATION_ENERGIES:
        for ref in (f"MW {name}" for name in MICROWAVE_ROWS):
            dt, temp, radius, target = sessions[ref]

            def gap(ln_a: float, dt=dt, temp=temp, radius=radius, target=target, ea=ea) -> float:
                flow = np.exp(-dose(dt, temp, ln_a, ea))
                return heat_removed(dt, temp, radius, flow) - target

            ln_a = brentq(gap, ea / GAS_CONSTANT / 363.15 - 10.0, ea / GAS_CONSTANT / 311.15)
            ratios = []
            for label, (dt2, temp2, radius2, today) in sessions.items():
                flow = np.exp(-dose(dt2, temp2, ln_a, ea))
                ratios.append(f"{label} {heat_removed(dt2, temp2, radius2, flow) / today:.3f}")
            minute = ea / GAS_CONSTANT / (ln_a + math.log(60.0)) - 273.15
            print(f"Ea {ea:.3g} J/mol, set on {ref} (stasis in 1 min at {minute:.1f} degC): "
                  + ", ".join(ratios))  # fmt: skip


if __name__ == "__main__":
    main()
