"""Calibrate the ethanol and acetic acid presets on one injection into perfused liver.

Run: ``python benchmarks/calibrate_injection.py`` — bisects

1. the ethanol ``washout_factor`` so that 1 mL at 10 mL/h kills ``NECROSIS_PER_INJECTED`` (0.5)
   mL per injected mL (Vehmas et al. 1993: necrosis much smaller than the injected volume);
2. the acetic acid ``kill_reference_concentration`` so that the same injection kills
   ``ACETIC_TO_ETHANOL_KILL`` (6.2/3.9) times the ethanol kill (Huo et al. 2003).

It prints each trial as JSON; the presets hold the rounded results.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from tissuefate.validation.injection import (
    ACETIC_TO_ETHANOL_KILL,
    NECROSIS_PER_INJECTED,
    perfused_liver_injection,
)


def bisect(f: Callable[[float], float], lo: float, hi: float, target: float, steps: int) -> float:
    """Geometric bisection of a monotone ``f`` for ``f(x) = target`` on [lo, hi]."""
    f_lo = f(lo) - target
    for _ in range(steps):
        mid = math.sqrt(lo * hi)
        if (f(mid) - target) * f_lo > 0:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def kill(agent: str, overrides: dict[str, str]) -> float:
    inj = perfused_liver_injection(agent, overrides)
    print(json.dumps({"agent": agent, **overrides, "kill_ml": inj["kill_volume_ml"],
                      "distribution_ml": inj["distribution_volume_ml"]}))  # fmt: skip
    return inj["kill_volume_ml"]


def main() -> None:
    washout = bisect(
        lambda x: kill("ethanol", {"washout_factor": f"{x:.4g}"}),
        0.1,
        4.0,
        NECROSIS_PER_INJECTED,
        9,
    )
    print(json.dumps({"washout_factor": round(washout, 2)}))
    target = ACETIC_TO_ETHANOL_KILL * kill("ethanol", {"washout_factor": f"{washout:.2f}"})
    c_ref = bisect(
        lambda x: -kill("acetic_acid", {"washout_factor": f"{washout:.2f}",
                                        "kill_reference_concentration": f"{x:.4g} mol/L"}),
        0.05, 2.0, -target, 7,
    )  # fmt: skip
    print(json.dumps({"acetic_acid_kill_reference_concentration_mol_l": round(c_ref, 2)}))


if __name__ == "__main__":
    main()
