"""Picklable test models for the study pipeline (worker processes import them by name), and the
Ishigami study."""

from __future__ import annotations

import math
from collections.abc import Mapping

from tissuefate.study.spec import Study

ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1


def ishigami(values: Mapping[str, float], seed: int) -> dict[str, float | bool]:
    """The Ishigami function (Ishigami & Homma 1990) of x1, x2, x3."""
    x1, x2, x3 = values["x1"], values["x2"], values["x3"]
    y = math.sin(x1) + ISHIGAMI_A * math.sin(x2) ** 2 + ISHIGAMI_B * x3**4 * math.sin(x1)
    return {"f/y": y, "f/high": y > 3.5}


def failing_on_large_x1(values: Mapping[str, float], seed: int) -> dict[str, float | bool]:
    """Ishigami, but a sample with x1 > 2.5 raises (a failing sample)."""
    if values["x1"] > 2.5:
        raise ValueError("x1 too large for this model")
    return ishigami(values, seed)


def slow_ishigami(values: Mapping[str, float], seed: int) -> dict[str, float | bool]:
    """Ishigami after 20 ms (a study slow enough to be killed mid-run)."""
    import time

    time.sleep(0.02)
    return ishigami(values, seed)


def ishigami_study(method: str = "sobol", samples: int = 1024, seed: int = 3) -> Study:
    """x1, x2, x3 uniform on (-pi, pi), the Ishigami function's usual setting."""
    return Study.model_validate(
        {
            "name": "ishigami",
            "seed": seed,
            "base": {},
            "outputs": ["y"],
            "parameters": {
                f"x{i}": {"distribution": "uniform", "low": -math.pi, "high": math.pi}
                for i in (1, 2, 3)
            },
            "design": {"method": method, "samples": samples},
        }
    )


def identifiable(values: Mapping[str, float], seed: int) -> dict[str, float | bool]:
    """Outputs that pin x1 and x2 and say nothing of x3: a = x1, b = x1 + x2."""
    return {"f/a": values["x1"], "f/b": values["x1"] + values["x2"]}
