"""Radiofrequency zone per delivered energy, by zone edge (issue 13 scoping, not a fit).

Song et al. (BJR 2015;88:20140497, PMC4628443) give the energy internally cooled electrodes
delivered and the zones they made (``validation/radiofrequency.py``, ``ENERGY_ROWS``: ex vivo
bovine and in vivo porcine liver). The model runs each row's setting (``energy_session``) and this
script reports its zone per delivered kJ for two zone edges: the cells' Arrhenius dose Omega = 1
(the model's ablation zone, what ``tissuefate validate --only radiofrequency_energy`` compares)
and a peak temperature of 60 degC (where protein coagulation, the white zone gross pathology
sees, is near-immediate: Goldberg, Gazelle & Mueller, AJR 2000;174:323,
doi:10.2214/ajr.174.2.1740323).

Run:  python benchmarks/rf_zone_edge.py   (about 5 min on 2 cores)
"""

from __future__ import annotations

import numpy as np

from tissuefate.validation.radiofrequency import ENERGY_ROWS, energy_session, zone_per_energy

EDGE_C = 60.0


def main() -> None:
    print(
        f"{'row':<16} {'kJ meas':>8} {'kJ model':>9} {'mL/kJ meas':>11} "
        f"{'Omega=1':>8} {'ratio':>6} {f'{EDGE_C:g} degC':>8} {'ratio':>6}"
    )
    for row in ENERGY_ROWS:
        model = zone_per_energy(row)
        peak = energy_session(row).fields["peak_temperature"].sel(session=1).values
        edge_ml = float(np.count_nonzero(peak >= EDGE_C)) * 1e-3  # 1 mm voxels
        measured = row.volume_ml / row.energy_kj
        edge = edge_ml / model["generator_kj"]
        print(
            f"{row.name:<16} {row.energy_kj:>8.1f} {model['generator_kj']:>9.1f} "
            f"{measured:>11.3f} {model['ml_per_kj']:>8.3f} {model['ml_per_kj'] / measured:>6.2f} "
            f"{edge:>8.3f} {edge / measured:>6.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
