"""Fit each cryogen's probe heat-transfer coefficient to its fit row, and check the cryo rows.

Run: ``python benchmarks/calibrate_cryo.py`` — for every cryogen with a ``role: fit`` row without
perfusion in ``validation/data/cryo.csv`` (in gel, or in vivo with the inflow clamped), finds the
coefficient (W/m²/K) at which the model meets the row (root of model − measured in log coefficient,
1 % in the coefficient), then prints every row at the fitted values. ``--scan H1,H2,...`` prints the
rows at given coefficients instead (every cryogen at once), ``--perfect`` at perfect contact (the
held voxels conduct like the frozen tissue); ``--convergence`` reruns each distinct setup on a grid
1.5 times finer and in a block 1.3 times larger. The fitted values go into
``modalities/cryoprobes.yaml`` by hand, with the row they were fitted to. A perfused ``role: fit``
row sets the liver's ``cryo_stasis_exposure`` (K·s, the exposure to cold at which chilled tissue
stops perfusing), after the coefficients; ``--stasis T1,T2,...`` prints the rows at given values of
``cryo_stasis_temperature`` (°C, below which flow stops at once).
``--freezing-length L1,L2,...`` (mm; add ``--perfect`` for perfect contact) is a diagnostic of what
the 8 mm liquid-nitrogen probe's rows would need: their single 20 min freeze with the inflow open
(P1) and clamped (P4) at each freezing length, the source stating none (40 mm is the rows'
assumption).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from scipy.optimize import brentq

from tissuefate.modalities import cryo
from tissuefate.validation.cryo import (
    CryoExperiment,
    cryo_calibration_rows,
    load_cryo_experiments,
    model_value,
    simulate,
)

_ORIGINAL = cryo.cryogen
STASIS = "cryo_stasis_temperature"
EXPOSURE = "cryo_stasis_exposure"


@contextmanager
def coefficients(values: dict[str, float]) -> Iterator[None]:
    """Run with the given heat-transfer coefficients (W/m²/K) for the named cryogens."""

    def patched(name: str = "argon") -> cryo.Cryogen:
        c = _ORIGINAL(name)
        return dataclasses.replace(c, heat_transfer=values.get(name, c.heat_transfer))

    with mock.patch.object(cryo, "cryogen", patched):
        yield


def fit(exp: CryoExperiment) -> float:
    """The coefficient at which ``exp``'s model value meets its measured value."""

    def residual(log_h: float) -> float:
        with coefficients({exp.cryogen: math.exp(log_h)}):
            value = model_value(exp, simulate(exp))
        print(json.dumps({"row": exp.row, "h": round(math.exp(log_h), 1), "model": value}))
        return value - exp.measured_mm

    return math.exp(brentq(residual, math.log(200.0), math.log(1e5), xtol=0.01))


def fit_exposure(
    exp: CryoExperiment, reference: CryoExperiment | None, coefficients_fitted: dict[str, float]
) -> float:
    """The liver's ``cryo_stasis_exposure`` (K·s) at which ``exp`` meets its measured value (for
    a ratio row, the ratio of its value to that of ``reference``): root in log exposure, 1 %."""

    def value_at(e: CryoExperiment, dose: float) -> float:
        with coefficients(coefficients_fitted):
            return model_value(e, simulate(e, tissue_parameters={EXPOSURE: f"{dose} K*s"}))

    def residual(log_dose: float) -> float:
        dose = math.exp(log_dose)
        value = value_at(exp, dose)
        if reference is not None:
            value /= value_at(reference, dose)
        print(json.dumps({"row": exp.row, "exposure_k_s": round(dose), "model": value}))
        return value - exp.measured_mm

    return math.exp(brentq(residual, math.log(1e3), math.log(1e5), xtol=0.01))


def report(params: dict[str, str] | None = None) -> None:
    """Every row at the current coefficients and liver ``params``, each distinct setup run once."""
    for r in cryo_calibration_rows(tissue_parameters=params):
        row = r.case.split(":")[0].removeprefix("cryo ")
        print(
            f"{row:14s} {r.kind:9s} model {r.simulated:7.3f}  measured {r.exact:7.3f}"
            f"  error {r.error:+.3f}"
        )


def freezing_lengths(experiments: list[CryoExperiment], lengths: list[float], h: float) -> None:
    """The P1 and P4 setups (0 and -38 degC diameters) at each freezing length (mm), with the
    liquid-nitrogen probe's coefficient ``h`` (W/m²/K)."""
    for row in ("P1", "P4"):
        exp = next(e for e in experiments if e.row == row)
        measured = {e.quantity + str(e.isotherm_c): e.measured_mm for e in experiments
                    if e.setup == exp.setup and e.ratio_to is None}  # fmt: skip
        for length in lengths:
            with coefficients({"liquid_nitrogen": h}):
                sim = simulate(dataclasses.replace(exp, active_mm=length))
            print(json.dumps({
                "setup": row, "freezing_length_mm": length, "coefficient_w_m2k": h,
                "diameter_0_mm": round(sim["diameter_0"], 1),
                "diameter_-38_mm": round(sim["diameter_-38"], 1),
                "long_0_mm": round(sim["long_0"], 1), "measured": measured,
            }), flush=True)  # fmt: skip


def main(argv: list[str]) -> None:
    experiments = load_cryo_experiments()
    if "--freezing-length" in argv:
        lengths = [float(v) for v in argv[argv.index("--freezing-length") + 1].split(",")]
        h = 1e9 if "--perfect" in argv else cryo.cryogen("liquid_nitrogen").heat_transfer
        freezing_lengths(experiments, lengths, h)
        return
    if "--scan" in argv:
        for h in (float(v) for v in argv[argv.index("--scan") + 1].split(",")):
            print(f"-- coefficient {h:g} W/m^2/K")
            with coefficients({"argon": h, "liquid_nitrogen": h}):
                report()
        return
    if "--stasis" in argv:
        for t in (float(v) for v in argv[argv.index("--stasis") + 1].split(",")):
            print(f"-- cryo_stasis_temperature {t:g} degC")
            report({STASIS: f"{t} degC"})
        return
    if "--perfect" in argv:
        with coefficients({"argon": 1e9, "liquid_nitrogen": 1e9}):
            report()
        return
    if "--convergence" in argv:
        sims: dict[tuple[object, ...], tuple[dict[str, float], ...]] = {}
        for exp in experiments:
            if exp.setup not in sims:
                sims[exp.setup] = (
                    simulate(exp),
                    simulate(exp, grid_mm=exp.grid_mm / 1.5),
                    simulate(exp, scale_block=1.3),
                )
            base, fine, large = (model_value(exp, s) for s in sims[exp.setup])
            print(
                f"{exp.row:14s} {base:6.1f} mm; grid {exp.grid_mm / 1.5:.2f} mm: {fine:6.1f}"
                f" ({fine / base - 1:+.3f}); block x1.3: {large:6.1f} ({large / base - 1:+.3f})"
            )
        return
    fitted: dict[str, float] = {}
    for exp in experiments:
        # a coefficient is fitted where perfusion plays no part: in gel, or with the inflow clamped
        if exp.role == "fit" and not exp.perfused:
            fitted[exp.cryogen] = fit(exp)
            print(f"fitted {exp.cryogen}: {fitted[exp.cryogen]:.0f} W/m^2/K on {exp.row}")
    params = None
    for exp in experiments:
        if exp.role == "fit" and exp.perfused:
            reference = next((e for e in experiments if e.row == exp.ratio_to), None)
            dose = fit_exposure(exp, reference, fitted)
            print(f"fitted {EXPOSURE}: {dose:.0f} K*s on {exp.row}")
            params = {EXPOSURE: f"{dose} K*s"}
    with coefficients(fitted):
        report(params)


if __name__ == "__main__":
    main(sys.argv[1:])
