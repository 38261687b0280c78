"""How a large vessel's heat sink depends on its flow: the wall and the zone (docs/validation.md).

Left: the wall heat transfer coefficient h_c = Nu k_b / D of 1, 3.4 and 5 mm vessels against
flow (``physics/vessels.py``; the laminar entry region over a 64 mm heated length, Gnielinski when
turbulent, linear in the transition), and the blood's warming power rho_b c_b F, which limits
what slow blood can take up.
Right: the reduction of a radiofrequency zone by a 3.4 mm vessel 10.5 mm from the electrode
against flow, in the setting of the Lehmann et al. (2016) row (``validation/heat_sink.py``:
cooled 2 cm tip, 30 W until 15 kJ are delivered, as in the experiment, unperfused liver at 37 degC,
a glass tube, 1 mm grid), with what the experiment reported: cooling significant at 1 mL/min,
maximal at 10 and unchanged up to 1500 mL/min.

Run:  python benchmarks/vessel_flow_figure.py docs/images/vessel_flow.png   (about 2 min)
"""

from __future__ import annotations

import sys

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tissuefate.physics.vessels import Blood, wall_exchange
from tissuefate.tissue.presets import load_tissue
from tissuefate.validation.heat_sink import flow_saturation, lehmann_session

FLOWS_ML_MIN = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1500.0)


def _blood() -> Blood:
    body = load_tissue("liver").body
    return Blood(
        body.blood_density,
        body.blood_specific_heat,
        body.blood_thermal_conductivity,
        body.blood_viscosity,
    )


def main(out: str) -> None:
    blood = _blood()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.3))
    flows = np.logspace(-1, np.log10(3000), 200)
    for d_mm, colour in ((1.0, "tab:green"), (3.4, "tab:blue"), (5.0, "tab:purple")):
        hc = [wall_exchange(d_mm * 1e-3, f / 6e7, 0.064, blood).coefficient for f in flows]
        left.loglog(flows, hc, color=colour, label=f"h_c, {d_mm:g} mm vessel")
    left.set_xlabel("flow (mL/min)")
    left.set_ylabel("wall heat transfer h_c (W/m²/K)")
    twin = left.twinx()
    twin.loglog(flows, blood.heat_capacity * flows / 6e7, "k--", label="ρ_b c_b F (W/K)")
    twin.set_ylabel("blood's warming power ρ_b c_b F (W/K)")
    lines = left.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    left.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=8)
    left.set_title("Wall heat transfer and the blood's warming power")

    v0 = lehmann_session(None).summary["sessions"][0]["ablation_zone"]["volume_ml"]
    reduction = [100.0 * r for r in flow_saturation(FLOWS_ML_MIN).values()]
    for flow, r in zip(FLOWS_ML_MIN, reduction, strict=True):
        print(f"{flow:g} mL/min: zone reduction {r:.1f} %", flush=True)
    right.semilogx(FLOWS_ML_MIN, reduction, "o-", color="tab:blue", label="model, 3.4 mm tube")
    right.axvspan(10.0, 1500.0, color="0.85", label="measured: maximal and unchanged (10-1500)")
    right.axvline(1.0, color="tab:red", ls=":", label="measured: significant already at 1 mL/min")
    right.set_xlabel("flow (mL/min)")
    right.set_ylabel("zone volume reduction (%)")
    right.set_ylim(bottom=0)
    right.legend(loc="upper left", fontsize=8)
    right.set_title(f"RF zone by a 3.4 mm tube, 30 W to 15 kJ (none: {v0:.1f} mL)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "vessel_flow.png")
