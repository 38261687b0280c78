"""Radiofrequency zone per delivered energy, by zone edge (issue 13).

Song et al. (BJR 2015;88:20140497, PMC4628443) give the energy internally cooled electrodes
delivered and the zones they made on gross pathology (``validation/radiofrequency.py``,
``ENERGY_ROWS``: ex vivo bovine and in vivo porcine liver). The model runs each row's setting
(``energy_session``) and this script reports its zone per delivered kJ for two zone edges: the
cells' Arrhenius dose Omega = 1 (the ablation zone) and the coagulation zone (cells killed at a
peak of 60 degC or more, the white zone of heat-fixed tissue gross pathology sees, what
``tissuefate validate --only radiofrequency_energy`` compares).

Run:  python benchmarks/rf_zone_edge.py   (about 5 min on 2 cores)
"""

from __future__ import annotations

from tissuefate.validation.radiofrequency import ENERGY_ROWS, zone_per_energy


def main() -> None:
    print(
        f"{'row':<16} {'kJ meas':>8} {'kJ model':>9} {'mL/kJ meas':>11} "
        f"{'Omega=1':>8} {'ratio':>6} {'coag.':>8} {'ratio':>6}"
    )
    for row in ENERGY_ROWS:
        model = zone_per_energy(row)
        measured = row.volume_ml / row.energy_kj
        ablation = model["ablation_volume_ml"] / model["generator_kj"]
        print(
            f"{row.name:<16} {row.energy_kj:>8.1f} {model['generator_kj']:>9.1f} "
            f"{measured:>11.3f} {ablation:>8.3f} {ablation / measured:>6.2f} "
            f"{model['ml_per_kj']:>8.3f} {model['ml_per_kj'] / measured:>6.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
