"""Generator energy and zone of a cooled radiofrequency electrode over power (issue 13 scoping).

Published cooled-electrode series give the energy the generator delivered, not its power setting
(Song KD et al., BJR 2015;88:20140497, PMC4628443: 32-37 kJ for 24-30 mL ex vivo). This scan
shows what the model's generator delivers at each power setting before impedance roll-off caps
it, and the zone it makes: ex vivo liver at 20 degC without perfusion, one electrode cooled to
10 degC, 12 min, on a 2 mm grid in a 64 x 64 x 80 mm block (neither converged: a scoping run).

Run:  python benchmarks/rf_energy_scan.py   (about 1.5 min on 2 cores)
"""

from __future__ import annotations

from tissuefate.validation.radiofrequency import cooled_electrode_ex_vivo

POWERS_W = (25, 45, 90, 150)
TIPS_MM = (20, 30)


def main() -> None:
    print(f"{'tip mm':>6} {'power W':>8} {'zone mL':>8} {'generator kJ':>13} {'roll-offs':>10}")
    for tip in TIPS_MM:
        for power in POWERS_W:
            r = cooled_electrode_ex_vivo(power, 2.0, 12.0, tip, (64.0, 64.0, 80.0))
            print(
                f"{tip:>6} {power:>8} {r['volume_ml']:>8.1f} "
                f"{r['generator_energy_j'] / 1e3:>13.1f} {r['rolloff_events']:>10}"
            )


if __name__ == "__main__":
    main()
