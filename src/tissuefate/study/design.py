"""The design of a study: points of the unit hypercube from SALib's samplers, mapped through each
parameter's inverse distribution function, and one seed per sample.

SALib samples each parameter on [0, 1] (Latin hypercube; Saltelli's extension of Sobol'
sequences, first-order and total indices; Morris trajectories on a grid of ``levels`` levels).
:func:`quantiles` maps a column of those fractions to the parameter's distribution, so a design
is the same for any distribution and SALib's analysis reads the samples in the order it drew them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .spec import Design, Distribution

__all__ = ["Plan", "plan", "quantiles", "sample_seed"]

_EDGE = 1e-9
"""Fractions are kept in [1e-9, 1 - 1e-9]: a Sobol' point at 0 or 1 would map an unbounded
distribution to an infinite value (1e-9 is 6 standard deviations of a normal)."""


@dataclass(frozen=True)
class Plan:
    """The samples of a study: ``fractions`` (n x d, SALib's order), ``values`` (n x d, in each
    parameter's units), ``names`` (the parameters' key paths) and SALib's ``problem``."""

    names: tuple[str, ...]
    fractions: np.ndarray
    values: np.ndarray
    problem: dict

    @property
    def size(self) -> int:
        """Number of samples."""
        return int(self.values.shape[0])


def quantiles(dist: Distribution, u: np.ndarray) -> np.ndarray:
    """Values of ``dist`` (in its units) at fractions ``u`` of its distribution function."""
    u = np.clip(np.asarray(u, np.float64), _EDGE, 1.0 - _EDGE)
    v = dist.value
    kind = dist.distribution
    if kind == "uniform":
        return v("low") + u * (v("high") - v("low"))
    if kind == "log_uniform":
        lo, hi = np.log(v("low")), np.log(v("high"))
        return np.exp(lo + u * (hi - lo))
    if kind == "normal":
        return stats.norm.ppf(u, loc=v("mean"), scale=v("sd"))
    if kind == "truncated_normal":
        a = (v("low") - v("mean")) / v("sd")
        b = (v("high") - v("mean")) / v("sd")
        return stats.truncnorm.ppf(u, a, b, loc=v("mean"), scale=v("sd"))
    # triangular
    lo, hi = v("low"), v("high")
    return stats.triang.ppf(u, (v("mode") - lo) / (hi - lo), loc=lo, scale=hi - lo)


def plan(parameters: dict[str, Distribution], design: Design, seed: int) -> Plan:
    """The samples of ``design`` over ``parameters`` (deterministic for a ``seed``)."""
    names = tuple(parameters)
    problem = {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}
    if design.method == "latin_hypercube":
        from SALib.sample import latin

        u = latin.sample(problem, design.samples, seed=seed)
    elif design.method == "sobol":
        from SALib.sample import sobol

        # Saltelli's scheme wants a power of two; SALib warns otherwise and the user chose N
        u = sobol.sample(problem, design.samples, calc_second_order=False, seed=seed)
    else:
        from SALib.sample import morris

        u = morris.sample(problem, design.samples, num_levels=design.levels, seed=seed)
    u = np.asarray(u, np.float64).reshape(-1, len(names))
    values = np.column_stack([quantiles(parameters[n], u[:, i]) for i, n in enumerate(names)])
    return Plan(names, u, values, problem)


def sample_seed(study_seed: int, sample_id: int) -> int:
    """The scenario seed of sample ``sample_id``: a function of the study seed and the sample id
    alone, so a result does not depend on where or in which order the samples ran."""
    state = np.random.SeedSequence([study_seed, sample_id]).generate_state(1, np.uint32)
    return int(state[0])
