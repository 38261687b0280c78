"""Fit the microwave antenna models (the research antennas' shapes to published aspect ratios, the
internally cooled antenna's efficiency and bounded growth to a published ex vivo series of zone
sizes) and the lag of blood-flow stasis behind cell death in perfused liver (to the in vivo series
of the same device); everything else is predicted (``tissuefate validate --only calibration``).

Three fits, in this order (each uses the values the one before fitted):

1. **Shapes** of the Brace group's research antennas (``dual_slot``, ``monopole``, at their
   efficiency in antennas.yaml; the parametric pattern stands in for a full-wave solution;
   ``--shape-only`` runs this fit alone). Data: Brace group, PMC3721053, two cooled antennas, ex
   vivo bovine liver, 2.45 GHz, 2 min: short/long axis ratio of the zone at gross pathology (the
   model's coagulation zone, since 2026-12-06; the ablation zone before) 0.75 (dual-slot) vs 0.53
   (monopole) at 50 W, 0.52 vs 0.42 at 100 W. The internally cooled antenna keeps the dual-slot's
   shape of the fit on the ablation zone (2026-12-03), with which fit 2 was made. Fitted jointly by
   least squares: the half-length of each antenna's emitting segment, the monopole's backward-tail
   fraction, the dual-slot's tail fraction once the tissue around it has dried (its choke detunes)
   and the exponent with which the emitting lengths grow as the tissue next to the antenna dries
   (bounded to 0.5-1.5; 0.5 is the wavelength scaling alone, which cannot make the dual-slot zone
   both rounder at 50 W and longer at 100 W: residuals -0.045 and +0.043). Five parameters for four
   numbers: the fit picks one solution, from the previous values. Held fixed: emission centres,
   tail decay lengths, the tissue (liver preset), ex vivo conditions (20 degC, no perfusion; the
   source does not state the temperature).
2. **Efficiency and the bound of the emitting extent** of the internally cooled antenna (the two
   physical parameters fitted on zone sizes): the fraction of the generator's power that
   reaches the tissue through a matched antenna, and the largest factor by which the emitting
   lengths grow as the tissue next to the antenna dries (``max_elongation``; unbounded, the
   factor reaches 6.5 in liver boiled dry and the long axes of long ablations run away). Data:
   the ex vivo rows of He et al. 2010 (Acad Radiol 17(7), Table 1; an internally cooled antenna
   at 30, 40 and 50 W for 6 to 16 min; rows ``role: fit`` of ``validation/data/microwave.csv``),
   short and long axes, least squares on the relative errors. Fitted again to each power alone,
   the spread gives the parameters' ranges.

3. **Perfusion stasis** (``--perfusion``; the tissue parameter ``perfusion_stasis_dose``, run
   separately: ex vivo rows have no perfusion, so it does not interact with the fits above). Data:
   the in vivo canine rows of He et al. 2010 (Table 2, the same antenna at 30-60 W for 5-20 min;
   ``role: fit``, ``tissue: in_vivo``), short axes only (the model's in vivo zones are too long
   along the antenna at every dose), least squares on the relative errors over a grid of doses
   with the perfusion of the liver preset (human dynamic CT). Fitted to each power alone, the
   spread gives the range.

Every zone is the one its source measured (gross pathology: the coagulation zone); its axes are
measured with sub-voxel interpolation of the logarithm of its level.

Run:  python benchmarks/calibrate_microwave.py [--spacing 1.5] [--evaluate-only]
[--size-only] [--convergence] [--perfusion]. Prints the fitted values to copy into
src/tissuefate/modalities/antennas.yaml (and the stasis dose into the liver preset), and the
tables.
``--convergence`` compares the calibration grid (1.5 mm, the block of
``validation.calibration``) with 1 mm and with a block 1.5 times larger on the largest zones.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator

import numpy as np
from scipy import optimize

from tissuefate.modalities import microwave as mw
from tissuefate.modalities.microwave import antenna_pattern
from tissuefate.validation.calibration import (
    SPACING_MM,
    default_block_mm,
    load_experiments,
    simulate_experiment,
)
from tissuefate.validation.microwave import HELD_OUT, HELD_OUT_EX_VIVO, TARGETS, aspect_ratio

SHAPE = (
    "dual_slot.half_length",
    "dual_slot.detuned_tail_fraction",
    "monopole.half_length",
    "monopole.tail_fraction",
    "elongation_exponent",
)
SCALE = np.array([1e3, 1, 1e3, 1, 1])  # to mm for lengths


COOLED = "internally_cooled"


def _patterns(p: np.ndarray, size: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """Antenna keys from the shape parameters ``p`` (of the Brace antennas) and the size
    parameters ``size`` of the internally cooled antenna (efficiency, max_elongation; None: the
    Brace antennas only). The internally cooled antenna keeps the shape antennas.yaml gives it
    (the dual-slot's of the shape fit on the ablation zone, 2026-12-03, with which its size was
    fitted)."""
    dual, detuned, mono, tail, expo = (float(v) for v in p)
    brace = {
        "dual_slot": {
            "half_length": dual,
            "detuned_tail_fraction": detuned,
            "elongation_exponent": expo,
        },
        "monopole": {"half_length": mono, "tail_fraction": tail, "elongation_exponent": expo},
    }
    if size is None:
        return brace
    cooled = {"efficiency": float(size[0]), "max_elongation": float(size[1])}
    return {**brace, COOLED: cooled}


def fit_shapes(start: np.ndarray, spacing_mm: float = 1.0) -> np.ndarray:
    """Least squares of the five shape parameters on the four Brace aspect ratios (at the
    antennas' efficiency in antennas.yaml)."""

    def residual(p: np.ndarray) -> np.ndarray:
        pats = _patterns(p)
        out = np.array(
            [
                aspect_ratio(a, power, spacing_mm, **pats[a])["ratio"] - target
                for (a, power), target in TARGETS.items()
            ]
        )
        print(f"  shape {np.round(p * SCALE, 3)} -> {np.round(out, 3)}", flush=True)
        return out

    res = optimize.least_squares(
        residual,
        start,
        x_scale=[1e-3, 0.1, 1e-3, 0.1, 0.2],
        diff_step=[0.08] * 5,
        bounds=([0.2e-3, 0.0, 0.5e-3, 0.0, 0.5], [15e-3, 0.8, 25e-3, 0.8, 1.5]),
        max_nfev=25,
    )
    return res.x


@contextlib.contextmanager
def shapes_in_sessions(shape: np.ndarray | None, size: np.ndarray | None = None) -> Iterator[None]:
    """Sessions run meanwhile build their antennas with the shape parameters ``shape`` and the
    internally cooled antenna's size parameters ``size`` (efficiency, max_elongation) in place
    of antennas.yaml's (a session names its antenna; the values being fitted are in memory).
    None: antennas.yaml's."""
    if shape is None and size is None:
        yield
        return
    if shape is None:
        shape = _yaml_shape()
    if size is None:
        size = _yaml_size()
    overrides = _patterns(shape, size)
    original = mw.antenna_pattern

    def with_shapes(name: str, **given: float):
        return original(name, **{**overrides.get(name, {}), **given})

    mw.antenna_pattern = with_shapes
    try:
        yield
    finally:
        mw.antenna_pattern = original


def _yaml_shape() -> np.ndarray:
    dual, mono = antenna_pattern("dual_slot"), antenna_pattern("monopole")
    return np.array(
        [
            dual.half_length,
            dual.detuned_tail_fraction or 0.0,
            mono.half_length,
            mono.tail_fraction,
            dual.elongation_exponent,
        ]
    )


def _yaml_size() -> np.ndarray:
    cooled = antenna_pattern(COOLED)
    return np.array([cooled.efficiency, cooled.max_elongation or 6.5])


def size_errors(
    size: np.ndarray, rows: list, spacing_mm: float, shape: np.ndarray | None = None
) -> np.ndarray:
    """Relative errors of the short and long axes of ``rows`` at the size parameters ``size``
    (efficiency, max_elongation) and the antennas' shape parameters ``shape`` (None: those of
    antennas.yaml)."""
    errs = []
    with shapes_in_sessions(shape, size):
        for exp in rows:
            sim = simulate_experiment(exp, spacing_mm)
            errs += [sim[k] / exp.measured[k] - 1.0 for k in ("short_axis_mm", "long_axis_mm")]
    return np.array(errs)


def fit_size(
    rows: list, spacing_mm: float, shape: np.ndarray, start: np.ndarray, max_nfev: int = 16
) -> np.ndarray:
    """Efficiency and max_elongation by least squares on the relative axis errors of ``rows``."""

    def residual(size: np.ndarray) -> np.ndarray:
        e = size_errors(size, rows, spacing_mm, shape)
        print(
            f"  efficiency {size[0]:.4f}, max_elongation {size[1]:.3f}: "
            f"rms {np.sqrt(np.mean(e**2)):.4f}",
            flush=True,
        )
        return e

    res = optimize.least_squares(
        residual,
        np.clip(start, [0.21, 1.01], [0.99, 6.4]),
        x_scale=[0.05, 0.3],
        diff_step=[0.03, 0.05],
        bounds=([0.2, 1.0], [1.0, 6.5]),
        xtol=2e-3,  # the zone edges move in steps of a sub-voxel interpolation
        max_nfev=max_nfev,
    )
    return res.x


STASIS_GRID = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0, 15.0, 25.0, 50.0)


def fit_stasis(rows: list, spacing_mm: float) -> None:
    """Short-axis errors of the in vivo ``rows`` over :data:`STASIS_GRID`; prints the best dose of
    all rows and of each power alone, refined by a parabola in log(dose) through the best three."""
    errs = {}
    for dose in STASIS_GRID:
        e = [
            simulate_experiment(exp, spacing_mm, tissue_parameters={
                "perfusion_stasis_dose": f"{dose}"})["short_axis_mm"]
            / exp.measured["short_axis_mm"] - 1.0
            for exp in rows
        ]  # fmt: skip
        errs[dose] = np.array(e)
        print(
            f"  stasis dose {dose:5.1f}: rms {np.sqrt(np.mean(errs[dose] ** 2)):.4f}, "
            f"median |error| {np.median(np.abs(errs[dose])):.4f}, errors {np.round(e, 3).tolist()}",
            flush=True,
        )

    def best(mask: np.ndarray) -> float:
        x = np.log(np.array(STASIS_GRID))
        y = np.array([np.sum(errs[d][mask] ** 2) for d in STASIS_GRID])
        i = int(np.clip(np.argmin(y), 1, len(x) - 2))
        a, b, _ = np.polyfit(x[i - 1 : i + 2], y[i - 1 : i + 2], 2)
        at = -b / (2 * a) if a > 0 else x[int(np.argmin(y))]
        return float(np.exp(np.clip(at, x[0], x[-1])))

    powers = np.array([exp.power_w for exp in rows])
    spread = {p: round(best(powers == p), 2) for p in sorted(set(powers.tolist()))}
    print(f"perfusion_stasis_dose {best(np.ones(len(rows), bool)):.2f}; per power alone: {spread}")


def shape_table(spacing_mm: float, params: dict[str, dict[str, float]]) -> None:
    print(
        f"{'antenna':>10} {'power':>6} {'volume mL':>10} {'long mm':>8} {'short mm':>9} "
        f"{'ratio':>6} {'measured':>9}"
    )
    rows = (
        [(k, v, False, 120.0, "ex vivo 2 min (fitted)") for k, v in TARGETS.items()]
        + [(k, v, False, 300.0, "ex vivo 5 min (held out)") for k, v in HELD_OUT_EX_VIVO.items()]
        + [(k, v, True, 300.0, "in vivo 5 min (held out)") for k, v in HELD_OUT.items()]
    )
    for (antenna, power), target, in_vivo, duration, what in rows:
        r = aspect_ratio(antenna, power, spacing_mm, in_vivo, duration, **params[antenna])
        print(
            f"{antenna:>10} {power:>6.0f} {r['volume_ml']:>10.2f} {r['long_mm']:>8.1f} "
            f"{r['short_mm']:>9.1f} {r['ratio']:>6.3f} {target:>9.2f}   {what}"
        )


def convergence() -> None:
    """The largest zones on the calibration grid against 1 mm and a 1.5 times larger block."""
    picks = [e for e in load_experiments() if e.row in ("M3-16min", "M7-20min", "M8", "M9")]
    print(
        f"{'row':>9} {'quantity':>14} {'1.5 mm':>8} {'1.0 mm':>8} {'diff':>7} "
        f"{'big block':>10} {'diff':>7}"
    )
    for exp in picks:
        base = simulate_experiment(exp, SPACING_MM)
        fine = simulate_experiment(exp, 1.0)
        w, length = default_block_mm(exp)
        big = simulate_experiment(exp, SPACING_MM, (1.5 * w, 1.5 * length))
        for k in ("short_axis_mm", "long_axis_mm", "volume_ml"):
            print(
                f"{exp.row:>9} {k:>14} {base[k]:8.2f} {fine[k]:8.2f} {fine[k] / base[k] - 1:+7.3f} "
                f"{big[k]:10.2f} {big[k] / base[k] - 1:+7.3f}",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spacing", type=float, default=SPACING_MM, help="voxel edge in mm (sizes)")
    ap.add_argument("--evaluate-only", action="store_true", help="only print the tables")
    ap.add_argument("--convergence", action="store_true", help="grid and block convergence")
    ap.add_argument("--perfusion", action="store_true", help="fit the perfusion stasis dose")
    ap.add_argument(
        "--shape-only",
        action="store_true",
        help="fit only the research antennas' shapes (the internally cooled antenna as it is)",
    )
    ap.add_argument(
        "--size-only",
        action="store_true",
        help="fit only the internally cooled antenna's efficiency and max_elongation",
    )
    args = ap.parse_args()
    if args.convergence:
        convergence()
        return
    if args.perfusion:
        fit_stasis([e for e in load_experiments() if e.role == "fit" and e.tissue == "in_vivo"],
                   args.spacing)  # fmt: skip
        return
    shape, size = _yaml_shape(), _yaml_size()
    if args.shape_only:
        start = time.perf_counter()
        shape = fit_shapes(shape)
        print(f"fitted in {time.perf_counter() - start:.0f} s:")
        print(dict(zip(SHAPE, np.round(shape * SCALE, 4).tolist(), strict=True)), "(lengths in mm)")
        shape_table(1.0, _patterns(shape))
        return
    fit_rows = [e for e in load_experiments() if e.role == "fit" and e.tissue == "ex_vivo"]
    if not args.evaluate_only:
        start = time.perf_counter()
        if not args.size_only:
            shape = fit_shapes(shape)
        size = fit_size(fit_rows, args.spacing, shape, size)
        spread = [
            fit_size([e for e in fit_rows if e.power_w == p], args.spacing, shape, size, 8)
            for p in (30.0, 40.0, 50.0)
        ]
        print(f"fitted in {time.perf_counter() - start:.0f} s:")
        print(
            dict(zip(SHAPE, np.round(shape * SCALE, 4).tolist(), strict=True)),
            "(lengths in mm)",
        )
        print(
            f"{COOLED}: efficiency {size[0]:.4f}, max_elongation {size[1]:.3f}; fitted to "
            f"30 / 40 / 50 W alone: {[np.round(x, 3).tolist() for x in spread]}"
        )
    shape_table(1.0, _patterns(shape, size))
    errs = size_errors(size, fit_rows, args.spacing, shape)
    print(
        "He 2010 ex vivo (fitted): rms "
        f"{np.sqrt(np.mean(errs**2)):.4f}, median |error| short "
        f"{np.median(np.abs(errs[0::2])):.3f}, long {np.median(np.abs(errs[1::2])):.3f}, "
        f"beyond 25 %: {int(np.sum(np.abs(errs) > 0.25))} of {errs.size}"
    )


if __name__ == "__main__":
    main()
