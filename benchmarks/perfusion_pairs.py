"""Diagnose the in vivo / ex vivo ratio of microwave zones (issue 13, "Perfusion").

Run: ``python benchmarks/perfusion_pairs.py [power_W] [duration_s] [spacing_mm]`` (default 70 W,
300 s, 1.5 mm) — one dual-slot antenna in a 96 × 96 × 144 mm block of liver
(``tissuefate.validation.microwave.session_zone``), run four ways: ex vivo (20 °C, no perfusion), at
body temperature without perfusion, in vivo with the preset's perfusion, and in vivo with the
human perfusion of about 0.022 1/s (dynamic CT of 25 volunteers, total liver perfusion 1.22–1.47
mL/min/mL, PMID 10981998). Prints the zone volume (Ω ≥ 1) and its long and short axes. The
published pair at 70 W for 5 min (a cooled-tip antenna, porcine liver, Anticancer Res
2016;36:1221-6, PMID 26977018) is 10.0 mL ex vivo and 6.8 mL in vivo: a ratio of 0.68.
"""

from __future__ import annotations

import sys

from tissuefate.validation.microwave import session_zone

CONDITIONS = (
    ("ex vivo, 20 °C, no perfusion", 20.0, 0.0),
    ("body temperature, no perfusion", 37.0, 0.0),
    ("in vivo, preset perfusion 0.0064 1/s", 37.0, 0.0064),
    ("in vivo, human CT perfusion 0.022 1/s", 37.0, 0.022),
)


def main() -> None:
    args, defaults = sys.argv[1:], ["70", "300", "1.5"]
    power, duration, h_mm = (float(a) for a in args + defaults[len(args) :])
    volumes = {}
    for label, start, perfusion in CONDITIONS:
        z = session_zone(
            "dual_slot", power, duration, spacing_mm=h_mm, size_mm=(96, 144), tip_mm=-45.0,
            start_c=start, perfusion=perfusion,
        )  # fmt: skip
        v, long, short = z["volume_ml"], z["long_mm"], z["short_mm"]
        volumes[label] = v
        print(f"{label:40s} {v:7.1f} mL  long {long:5.1f} mm  short {short:5.1f} mm", flush=True)
    ex_vivo = volumes[CONDITIONS[0][0]]
    for label, _, _ in CONDITIONS[2:]:
        print(f"in vivo / ex vivo volume, {label}: {volumes[label] / ex_vivo:.2f} (measured 0.68)")


if __name__ == "__main__":
    main()
