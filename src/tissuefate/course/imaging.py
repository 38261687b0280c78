"""Which viable tumour is *visible*: a deterministic size threshold by default.

Per-nodule CT sensitivity rises with lesion size (Ko et al., PLoS ONE 2017: 8 % at 1–5 mm, 55 % at
6–10 mm, 91 % at 11–15 mm, 95 % at 16–20 mm, 100 % above 20 mm; reference/validation.md D). A
logistic curve fitted to those bins (bin centres 3, 8, 13, 18 and 25 mm, least squares) detects half
the lesions at ``DETECTION_DIAMETER_MM``; the deterministic model calls a lesion visible when its
volume-equivalent diameter reaches that size. ``tests/course/test_imaging.py`` refits the curve.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

__all__ = [
    "DETECTION_DIAMETER_MM",
    "DETECTION_SLOPE_MM",
    "KO_2017_BINS",
    "VIABLE_THRESHOLD",
    "detection_probability",
    "visible_tumor",
]

KO_2017_BINS = ((3.0, 0.08), (8.0, 0.55), (13.0, 0.91), (18.0, 0.95), (25.0, 1.00))
"""(bin centre in mm, per-nodule CT sensitivity) from Ko et al. 2017."""

DETECTION_DIAMETER_MM = 7.68
"""Diameter detected with probability 1/2 by the logistic fit to ``KO_2017_BINS`` (mm)."""

DETECTION_SLOPE_MM = 2.12
"""Scale of the fitted logistic curve (mm)."""

VIABLE_THRESHOLD = 0.5
"""A voxel counts as viable tumour when at least this fraction of it is viable tumour cells."""


def detection_probability(diameter_mm: float | np.ndarray) -> float | np.ndarray:
    """Probability that CT detects a lesion of this volume-equivalent diameter (mm)."""
    return 1.0 / (
        1.0 + np.exp(-(np.asarray(diameter_mm) - DETECTION_DIAMETER_MM) / DETECTION_SLOPE_MM)
    )


def visible_tumor(
    tumor: np.ndarray, voxel_volume_ml: float, threshold_mm: float = DETECTION_DIAMETER_MM
) -> tuple[float, np.ndarray]:
    """Visible viable tumour: connected lesions at least ``threshold_mm`` across.

    Parameters
    ----------
    tumor
        Viable tumour fraction per voxel.
    voxel_volume_ml
        Volume of one voxel in mL.

    Returns
    -------
    volume_ml, mask
        Volume of viable tumour cells in visible lesions (mL) and the bool mask of those lesions.
    """
    viable = tumor >= VIABLE_THRESHOLD
    mask = np.zeros_like(viable)
    if not viable.any():
        return 0.0, mask
    box = tuple(  # label only the bounding box of the viable voxels
        slice(int(idx[0]), int(idx[-1]) + 1)
        for idx in (
            np.nonzero(viable.any(axis=tuple(a for a in range(3) if a != axis)))[0]
            for axis in range(3)
        )
    )
    labels, n = ndimage.label(viable[box], structure=np.ones((3, 3, 3)))
    counts = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    diam = (6.0 * counts * voxel_volume_ml * 1e3 / math.pi) ** (1.0 / 3.0)  # mL -> mm³
    keep = np.nonzero(diam >= threshold_mm)[0] + 1
    if keep.size:
        mask[box] = np.isin(labels, keep)
    volume = float(tumor[mask].sum(dtype=np.float64)) * voxel_volume_ml
    return volume, mask
