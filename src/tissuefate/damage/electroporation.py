"""Cell death by irreversible electroporation: the statistical (Peleg–Fermi) survival in field and
pulse number, applied to the tissue state.

The surviving fraction of cells after ``n`` pulses at field ``E`` is (Golberg & Rubinsky,
BioMed Eng OnLine 2010;9:13, doi 10.1186/1475-925X-9-13)::

    S(E, n) = 1 / (1 + exp((E − E_c(n)) / A(n))),   E_c(n) = E_c0 e^(−k1 n),   A(n) = A0 e^(−k2 n),

half the cells surviving at ``E_c(n)``. The Fermi form leaves ``S(0, n) = 1 / (1 + e^(−E_c/A)) <
1``: with the liver preset's parameters 37 % of the cells of tissue without any field would die
after 8 pulses (0.17 % after 50, fewer than 10⁻⁵ after 60). It is used here divided by
``S(0, n)``, so that tissue the field does not reach keeps its cells (our normalisation; from 50
pulses on it changes ``S`` by less than 0.2 %). A voxel that
several electrode pairs reach survives as it does the pair that treats it hardest (the smallest
``S``, as the Go-Smart IRE model keeps it); the pulses of different pairs are not added up.

Killed cells become ``debris``: they die in place and are cleared by phagocytes, and the
extracellular matrix (``ecm``) is left as it is, since electroporation does not heat it (the
"in vivo decellularisation" of Golberg et al., PeerJ 2016;4:e1571, doi 10.7717/peerj.1571).
The microvessels die with a share of the cells (``ire_microvessel_kill`` of the tissue); large
vessels are blood, not cells, and lose nothing. Heat from the pulses kills on top of this
through the thermal dose (``damage/thermal.py``), which also denatures the matrix where it got
hot enough.

Damage is reported as ``Ω = −ln S`` so that the zone is ``Ω ≥ 1`` (63 % killed) as for every
other modality.
"""

from __future__ import annotations

import math

import numpy as np

from ..tissue.state import TissueState
from .cold import OMEGA_CAP

__all__ = [
    "apply_electroporation_kill",
    "electroporation_omega",
    "peleg_fermi_field",
    "peleg_fermi_survival",
]


def peleg_fermi_survival(
    field: np.ndarray | float,
    pulses: int | float,
    lethal_field: np.ndarray | float,
    lethal_width: np.ndarray | float,
    field_decay: np.ndarray | float,
    width_decay: np.ndarray | float,
) -> np.ndarray:
    """Surviving fraction ``S(E, n) / S(0, n)`` (module docstring) at ``field`` (V/m) after
    ``pulses``.

    ``lethal_field`` (E_c0) and ``lethal_width`` (A0) are in V/m; the decays k1 and k2 per pulse.
    """
    n = float(pulses)
    if n < 0:
        raise ValueError(f"pulses must be non-negative, got {pulses!r}")
    e_c = np.asarray(lethal_field, np.float64) * np.exp(-np.asarray(field_decay, np.float64) * n)
    a = np.asarray(lethal_width, np.float64) * np.exp(-np.asarray(width_decay, np.float64) * n)
    x = (np.asarray(field, np.float64) - e_c) / a
    with np.errstate(over="ignore"):
        return (1.0 + np.exp(-e_c / a)) / (1.0 + np.exp(np.minimum(x, 700.0)))


def peleg_fermi_field(
    survival: float,
    pulses: int | float,
    lethal_field: float,
    lethal_width: float,
    field_decay: float,
    width_decay: float,
) -> float:
    """The field (V/m) at which :func:`peleg_fermi_survival` after ``pulses`` is ``survival``
    (0 < survival ≤ 1): its inverse, ``E_c + A ln((1 + e^(−E_c/A)) / S − 1)``."""
    if not 0.0 < survival <= 1.0:
        raise ValueError(f"survival must lie in (0, 1], got {survival!r}")
    n = float(pulses)
    e_c = lethal_field * math.exp(-field_decay * n)
    a = lethal_width * math.exp(-width_decay * n)
    return e_c + a * math.log((1.0 + math.exp(-e_c / a)) / survival - 1.0)


def electroporation_omega(survival: np.ndarray) -> np.ndarray:
    """Damage ``Ω = −ln S`` (capped at ``OMEGA_CAP`` where ``S`` is 0)."""
    with np.errstate(divide="ignore"):
        return np.minimum(-np.log(np.asarray(survival, np.float64)), OMEGA_CAP)


def apply_electroporation_kill(
    state: TissueState, survival: np.ndarray, microvessel_kill: np.ndarray | float
) -> tuple[float, float]:
    """Kill ``1 − survival`` of the tumour and parenchymal cells into ``debris``.

    The microvessels fall by ``microvessel_kill × (1 − survival)``; the matrix and the dead
    tissue already present are left alone. Returns the killed tumour and parenchyma as sums of
    voxel fractions.
    """
    s = np.asarray(survival).astype(np.float32)
    killed_t = state.tumor * (1 - s)
    killed_n = state.normal * (1 - s)
    state.tumor -= killed_t
    state.normal -= killed_n
    state.debris += killed_t + killed_n
    share = np.asarray(microvessel_kill, np.float32)
    state.vessels *= 1 - share * (1 - s)
    return float(killed_t.sum(dtype=np.float64)), float(killed_n.sum(dtype=np.float64))
