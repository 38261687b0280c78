"""Generator energy and zone of a cooled radiofrequency electrode over power (issue 13 scoping).

Published cooled-electrode series give the energy the generator delivered, not its power setting
(Song KD et al., BJR 2015;88:20140497, PMC4628443: 32-37 kJ for 24-30 mL ex vivo). This scan
shows what the model's generator delivers at each power setting before impedance roll-off caps
it, and the zone it makes: ex vivo liver at 20 degC without perfusion, one electrode cooled to
10 degC, 12 min, on a 2 mm grid in a 64 x 64 x 80 mm block (neither converged: a scoping run).

Run:  python benchmarks/rf_energy_scan.py   (about 1.5 min on 2 cores)
"""

from __future__ import annotations

from tissuefate.course.controller import simulate
from tissuefate.scenario.io import loads_scenario

POWERS_W = (25, 45, 90, 150)
TIPS_MM = (20, 30)


def session(power_w: float, tip_mm: float) -> tuple[float, float, int]:
    """Zone (mL), generator energy (J) and roll-off events of one 12 min ex vivo session."""
    text = f"""
name: rf-energy-scan
grid: {{size: [64 mm, 64 mm, 80 mm], spacing: 2 mm}}
tissue: {{preset: liver, parameters: {{perfusion_rate: 0 1/s}}}}
thermal: {{initial_temperature: 20 degC, boundary_temperature: 20 degC}}
strategies:
  rf:
    sessions:
      - modality: radiofrequency
        electrodes:
          - {{tip: [0 mm, 0 mm, -{tip_mm / 2} mm], direction: [0, 0, -1],
              active_length: {tip_mm} mm, diameter: 1.5 mm, cooled: true,
              coolant_temperature: 10 degC}}
        power: {power_w} W
        duration: 12 min
"""
    s = simulate(loads_scenario(text)).summary["sessions"][0]
    d = s["delivered"]
    return s["ablation_zone"]["volume_ml"], d["generator_energy_j"], len(d["rolloff_events"])


def main() -> None:
    print(f"{'tip mm':>6} {'power W':>8} {'zone mL':>8} {'generator kJ':>13} {'roll-offs':>10}")
    for tip in TIPS_MM:
        for power in POWERS_W:
            volume, energy, rolloffs = session(power, tip)
            print(f"{tip:>6} {power:>8} {volume:>8.1f} {energy / 1e3:>13.1f} {rolloffs:>10}")


if __name__ == "__main__":
    main()
