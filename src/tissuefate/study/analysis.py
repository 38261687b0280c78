"""What a study's samples say: sensitivity indices with confidence intervals, the probability of
each event, and the spread of each output.

- **Sobol'** (a ``sobol`` design): first-order ``S1`` and total ``ST`` indices with their 95 %
  bootstrap half-widths (SALib's ``sobol.analyze``, Saltelli 2010 and Jansen estimators), per
  strategy and output.
- **Morris** (a ``morris`` design): ``mu_star`` (mean absolute elementary effect, in the output's
  units per unit fraction of each parameter's distribution), its 95 % half-width and ``sigma``.
- **Events** (a boolean output, e.g. ``outcome.tumor_free``): the probability
  with its 95 % Wilson score interval, under the design's distribution of parameters (exact for a
  Latin hypercube or Sobol' design; a Morris design is not a random sample, so it is not given).
- **Spread** of every output: mean, 5th, 50th and 95th percentiles.

Indices need every sample: an output with a failed sample or a NaN gets no indices (``reason``
says why) and the rest of the analysis goes on.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .design import Plan
from .spec import Design, Fit

__all__ = ["analyse", "posterior", "wilson"]

Z95 = 1.959963984540054
"""Two-sided 95 % quantile of the standard normal."""


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (Wilson 1927), ``(low, high)``.

    The interval holds the proportion ``p`` (exactly: at ``p = 1`` the upper end is 1, where
    round-off would leave it a unit in the last place below)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half)))


def analyse(
    plan: Plan, design: Design, samples: pd.DataFrame, outputs: list[str], seed: int = 0
) -> dict[str, Any]:
    """The analysis of ``outputs`` (store columns) over ``samples`` (the store, any order) of a
    study sampled by ``design``."""
    method = design.method
    by_id = samples.set_index("sample_id").reindex(range(plan.size))
    ok = (by_id["status"] == "ok").to_numpy()
    result: dict[str, Any] = {
        "method": method,
        "samples": plan.size,
        "finished": int(by_id["status"].notna().sum()),
        "failed": int((by_id["status"] == "failed").sum()),
        "parameters": list(plan.names),
        "outputs": {},
    }
    for name in outputs:
        present = name in by_id
        event = present and pd.api.types.is_bool_dtype(by_id[name].dtype)
        y = (
            by_id[name].astype("float64").to_numpy(np.float64, na_value=np.nan)
            if present
            else np.full(plan.size, np.nan)
        )
        good = ok & np.isfinite(y)
        entry: dict[str, Any] = {"n": int(good.sum())}
        if good.any():
            vals = y[good]
            entry["mean"] = float(vals.mean())
            entry["p05"], entry["p50"], entry["p95"] = (
                float(v) for v in np.percentile(vals, [5, 50, 95])
            )
        if event and good.any() and method != "morris":
            k, n = int(y[good].sum()), int(good.sum())
            low, high = wilson(k, n)
            entry["event"] = {"probability": k / n, "low": low, "high": high, "n": n}
        if not good.all():
            entry["indices"] = None
            entry["reason"] = (
                f"{int((~good).sum())} of {plan.size} samples failed, are missing or gave no "
                "value; indices need them all"
            )
        elif method == "sobol":
            entry["indices"] = _sobol(plan, y, seed)
        elif method == "morris":
            entry["indices"] = _morris(plan, y, design.levels, seed)
        result["outputs"][name] = entry
    return result


def posterior(plan: Plan, fit: Fit, samples: pd.DataFrame, outputs: list[str]) -> dict[str, Any]:
    """Rejection ABC (Pritchard et al. 1999): the ``fit.accept`` fraction of the successful
    samples with the smallest distance to the observations, ``sqrt(mean(((y - value) / sd)²))``,
    stand for the posterior. Per parameter the prior's and the posterior's mean and 5th, 50th and
    95th percentiles; per output the posterior predictive percentiles."""
    by_id = samples.set_index("sample_id").reindex(range(plan.size))
    ok = (by_id["status"] == "ok").to_numpy().copy()
    dist = np.zeros(plan.size)
    for obs in fit.observations:
        y = _column(by_id, obs.output, plan.size)
        dist += ((y - obs.value) / obs.sd) ** 2
        ok &= np.isfinite(y)
    dist = np.sqrt(dist / len(fit.observations))
    usable = np.flatnonzero(ok)
    if usable.size == 0:
        return {"accepted": 0, "reason": "no sample gave every observed output"}
    keep = max(1, round(fit.accept * usable.size))
    accepted = usable[np.argsort(dist[usable], kind="stable")[:keep]]

    def spread(v: np.ndarray) -> dict[str, float]:
        p05, p50, p95 = np.percentile(v, [5, 50, 95])
        return {"mean": float(v.mean()), "p05": float(p05), "p50": float(p50), "p95": float(p95)}

    return {
        "method": "rejection ABC",
        "accepted": int(keep),
        "of": int(usable.size),
        "epsilon": float(dist[accepted].max()),
        "observations": [o.model_dump() for o in fit.observations],
        "parameters": {
            n: {
                "prior": spread(plan.values[usable, i]),
                "posterior": spread(plan.values[accepted, i]),
            }
            for i, n in enumerate(plan.names)
        },
        "predictive": {
            name: spread(y)
            for name in outputs
            if np.isfinite(y := _column(by_id, name, plan.size)[accepted]).all()
        },
    }


def _column(by_id: pd.DataFrame, name: str, size: int) -> np.ndarray:
    if name not in by_id:
        return np.full(size, np.nan)
    return by_id[name].astype("float64").to_numpy(np.float64, na_value=np.nan)


def _sobol(plan: Plan, y: np.ndarray, seed: int) -> dict[str, dict[str, float]]:
    from SALib.analyze import sobol

    if np.ptp(y) == 0.0:
        zero = {"S1": 0.0, "S1_conf": 0.0, "ST": 0.0, "ST_conf": 0.0}
        return {n: dict(zero) for n in plan.names}
    res = sobol.analyze(plan.problem, y, calc_second_order=False, conf_level=0.95, seed=seed)
    return {
        n: {
            "S1": float(res["S1"][i]),
            "S1_conf": float(res["S1_conf"][i]),
            "ST": float(res["ST"][i]),
            "ST_conf": float(res["ST_conf"][i]),
        }
        for i, n in enumerate(plan.names)
    }


def _morris(plan: Plan, y: np.ndarray, levels: int, seed: int) -> dict[str, dict[str, float]]:
    from SALib.analyze import morris

    res = morris.analyze(
        plan.problem, plan.fractions, y, conf_level=0.95, num_levels=levels, seed=seed
    )
    return {
        n: {
            "mu_star": float(res["mu_star"][i]),
            "mu_star_conf": float(res["mu_star_conf"][i]),
            "sigma": float(res["sigma"][i]),
        }
        for i, n in enumerate(plan.names)
    }
