"""Diagnose the in vivo / ex vivo ratio of microwave zones (issue 13, "Perfusion").

Run: ``python benchmarks/perfusion_pairs.py [power_W] [duration_s] [spacing_mm]`` (default 70 W,
300 s, 1.5 mm) — one dual-slot antenna in a 96 × 96 × 144 mm block of liver, as
``tissuefate.validation.microwave`` builds it, run four ways: ex vivo (20 °C, no perfusion), at
body temperature without perfusion, in vivo with the preset's perfusion, and in vivo with the
human perfusion of about 0.022 1/s (dynamic CT of 25 volunteers, total liver perfusion 1.22–1.47
mL/min/mL, PMID 10981998). Prints the zone volume (Ω ≥ 1) and its long and short axes. The
published pair at 70 W for 5 min (a cooled-tip antenna, porcine liver, Anticancer Res
2016;36:1221-6, PMID 26977018) is 10.0 mL ex vivo and 6.8 mL in vivo: a ratio of 0.68.
"""

from __future__ import annotations

import sys

from tissuefate.course.controller import build_tissue
from tissuefate.damage.zone import ZONE_OMEGA, zone_axes
from tissuefate.modalities import SessionContext, ThermalOptions
from tissuefate.modalities.microwave import MicrowaveSessionSource, antenna_pattern
from tissuefate.modalities.thermal import run_thermal_session
from tissuefate.physics.microwave import MicrowaveApplicator
from tissuefate.scenario.io import loads_scenario
from tissuefate.tissue.state import TissueState
from tissuefate.validation import microwave as vm

CONDITIONS = (
    ("ex vivo, 20 °C, no perfusion", 20.0, 0.0),
    ("body temperature, no perfusion", 37.0, 0.0),
    ("in vivo, preset perfusion 0.0064 1/s", 37.0, 0.0064),
    ("in vivo, human CT perfusion 0.022 1/s", 37.0, 0.022),
)


def zone(power: float, duration: float, start_c: float, perfusion: float, h: float) -> tuple:
    """Zone volume (mL), long and short axis (mm) of one dual-slot session (``h`` in mm)."""
    text = vm.SCENARIO.format(h=h, xy=96, z=144).replace(
        "perfusion_rate: 0 1/s", f"perfusion_rate: {perfusion} 1/s"
    )
    grid, tissue, anatomy = build_tissue(loads_scenario(text))
    options = ThermalOptions(initial_temperature=start_c, boundary_temperature=start_c)
    ctx = SessionContext(grid, anatomy, tissue, TissueState.initial(anatomy), options)
    app = MicrowaveApplicator(
        tip=(0.0, 0.0, -0.045),
        direction=(0.0, 0.0, -1.0),
        pattern=antenna_pattern("dual_slot"),
        power=power,
    )
    run, _ = run_thermal_session(ctx, MicrowaveSessionSource(ctx, [app], 2.45e9), duration, "auto")
    axes = zone_axes(run.dose.omega >= ZONE_OMEGA, grid.spacing * 1e3, grid.axes_mm(), (0, 0, 1))
    long, short = vm.sub_voxel_axes(run.dose.omega, grid.axes_mm())
    return axes.volume_ml, long, short


def main() -> None:
    args, defaults = sys.argv[1:], ["70", "300", "1.5"]
    power, duration, h_mm = (float(a) for a in args + defaults[len(args) :])
    volumes = {}
    for label, start, perfusion in CONDITIONS:
        v, long, short = zone(power, duration, start, perfusion, h_mm)
        volumes[label] = v
        print(f"{label:40s} {v:7.1f} mL  long {long:5.1f} mm  short {short:5.1f} mm", flush=True)
    ex_vivo = volumes[CONDITIONS[0][0]]
    for label, _, _ in CONDITIONS[2:]:
        print(f"in vivo / ex vivo volume, {label}: {volumes[label] / ex_vivo:.2f} (measured 0.68)")


if __name__ == "__main__":
    main()
