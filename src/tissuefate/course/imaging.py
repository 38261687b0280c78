"""Follow-up scans: which viable tumour a scan shows, lesion by lesion.

**What shows as tumour.** A voxel shows as tumour when at least ``viable_fraction`` of it is viable
tumour cells (``VIABLE_THRESHOLD`` = 0.5 by default). This is an imaging *assumption*, not a
measured value: a scan resolves voxels, not cells, and what a voxel shows is the average of what it
holds (partial volume), so a voxel at least half filled with viable, enhancing tumour is taken to
enhance as tumour, and one mostly dead or normal is not. A lower fraction lets a scan see thinly
surviving tumour (a diffusely, partly killed region); a higher one only dense tumour.

**Lesions.** Voxels that show as tumour form lesions: connected components with 26-connectivity
(faces, edges and corners touching). A lesion's size is its volume-equivalent diameter
``d = (6 V / π)^(1/3)``, ``V`` from its voxel count.

**Detection.** Per-nodule CT sensitivity rises with lesion size. Ko et al. (PLoS ONE 2017,
12(12): e0189797, doi:10.1371/journal.pone.0189797) matched 461 pathologically confirmed colorectal
liver metastases to preoperative CT reports: 8 % were detected at 1–5 mm, 55 % at 6–10 mm, 91 % at
11–15 mm, 95 % at 16–20 mm and 100 % above 20 mm. A logistic curve fitted to those bins (bin
centres 3, 8, 13, 18 and 25 mm, least squares) detects half the lesions at
``DETECTION_DIAMETER_MM``, with scale ``DETECTION_SLOPE_MM``. The deterministic model calls a
lesion visible when its diameter reaches ``DETECTION_DIAMETER_MM``; the stochastic one draws it
visible with :func:`detection_probability` of its diameter. ``tests/course/test_imaging.py`` refits
the curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from scipy import ndimage

if TYPE_CHECKING:
    from tissuefate.grid.grid import Grid

__all__ = [
    "DETECTION_DIAMETER_MM",
    "DETECTION_SLOPE_MM",
    "KO_2017_BINS",
    "PROGRESSION_VOLUME_RATIO",
    "VIABLE_THRESHOLD",
    "Lesion",
    "Scan",
    "detection_probability",
    "scan",
    "visible_tumor",
]

KO_2017_BINS = ((3.0, 0.08), (8.0, 0.55), (13.0, 0.91), (18.0, 0.95), (25.0, 1.00))
"""(bin centre in mm, per-nodule CT sensitivity) from Ko et al. 2017."""

DETECTION_DIAMETER_MM = 7.68
"""Diameter detected with probability 1/2 by the logistic fit to ``KO_2017_BINS`` (mm)."""

DETECTION_SLOPE_MM = 2.12
"""Scale of the fitted logistic curve (mm)."""

VIABLE_THRESHOLD = 0.5
"""A voxel shows as tumour when at least this fraction of it is viable tumour cells (an imaging
assumption; see the module docstring)."""

PROGRESSION_VOLUME_RATIO = 1.2**3
"""Local progression: visible tumour reappears, or grows by this factor over its smallest volume
after the last session (a 20 % longer diameter, the RECIST 1.1 threshold of progressive disease,
as a volume ratio; RECIST is the standard, not a number from the project's references)."""

_NEIGHBOURS = np.ones((3, 3, 3), dtype=bool)  # 26-connectivity


def detection_probability(diameter_mm: float | np.ndarray) -> float | np.ndarray:
    """Probability that CT detects a lesion of this volume-equivalent diameter (mm)."""
    return 1.0 / (
        1.0 + np.exp(-(np.asarray(diameter_mm) - DETECTION_DIAMETER_MM) / DETECTION_SLOPE_MM)
    )


def _diameter_mm(volume_ml: np.ndarray) -> np.ndarray:
    """Volume-equivalent diameter (mm) of lesions of ``volume_ml`` (mL = 1e3 mm³)."""
    return (6.0 * volume_ml * 1e3 / math.pi) ** (1.0 / 3.0)


def _lesions(
    tumor: np.ndarray, viable_fraction: float
) -> tuple[tuple[slice, slice, slice], np.ndarray, int] | None:
    """The lesions of ``tumor``: connected voxels at least ``viable_fraction`` viable.

    Only the bounding box of those voxels is labelled. Returns the box, the int labels inside it
    (0 = no lesion, 1..n in the order of their first voxel in C order) and n; None without any.
    """
    if not 0.0 < viable_fraction <= 1.0:
        raise ValueError(f"viable_fraction must be in (0, 1], got {viable_fraction!r}")
    shows = tumor >= viable_fraction
    if not shows.any():
        return None
    box = tuple(
        slice(int(idx[0]), int(idx[-1]) + 1)
        for idx in (
            np.nonzero(shows.any(axis=tuple(a for a in range(3) if a != axis)))[0]
            for axis in range(3)
        )
    )
    labels, n = ndimage.label(shows[box], structure=_NEIGHBOURS)
    return box, labels, int(n)  # type: ignore[return-value]


def visible_tumor(
    tumor: np.ndarray,
    voxel_volume_ml: float,
    threshold_mm: float = DETECTION_DIAMETER_MM,
    *,
    viable_fraction: float = VIABLE_THRESHOLD,
) -> tuple[float, np.ndarray]:
    """Visible viable tumour: lesions (see :func:`scan`) at least ``threshold_mm`` across.

    Parameters
    ----------
    tumor
        Viable tumour fraction per voxel, in [0, 1], shape (nx, ny, nz).
    voxel_volume_ml
        Volume of one voxel in mL.
    threshold_mm
        Smallest volume-equivalent diameter that is visible, in mm.
    viable_fraction
        Viable fraction, in (0, 1], at which a voxel shows as tumour.

    Returns
    -------
    volume_ml, mask
        Volume of viable tumour cells in visible lesions (mL) and the bool mask of those lesions.
    """
    mask = np.zeros(tumor.shape, dtype=bool)
    found = _lesions(tumor, viable_fraction)
    if found is None:
        return 0.0, mask
    box, labels, n = found
    counts = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    keep = np.nonzero(_diameter_mm(counts * voxel_volume_ml) >= threshold_mm)[0] + 1
    if keep.size:
        mask[box] = np.isin(labels, keep)
    volume = float(tumor[mask].sum(dtype=np.float64)) * voxel_volume_ml
    return volume, mask


@dataclass(frozen=True)
class Lesion:
    """One lesion on a scan.

    ``label`` matches the label array :func:`scan` returns; ``center_mm`` is the centroid of its
    voxel centres in the grid's coordinates (:meth:`Grid.axes_mm`, mm); ``diameter_mm`` its
    volume-equivalent diameter; ``volume_ml`` its volume (voxels × voxel volume, mL);
    ``viable_ml`` the viable tumour cells in it (mL); ``detection_probability`` the probability
    that CT detects a lesion of its size; ``visible`` whether this scan shows it.
    """

    label: int
    center_mm: tuple[float, float, float]
    diameter_mm: float
    volume_ml: float
    viable_ml: float
    detection_probability: float
    visible: bool

    def as_dict(self) -> dict[str, Any]:
        """The lesion as plain JSON values."""
        return {
            "label": self.label,
            "center_mm": list(self.center_mm),
            "diameter_mm": self.diameter_mm,
            "volume_ml": self.volume_ml,
            "viable_ml": self.viable_ml,
            "detection_probability": self.detection_probability,
            "visible": self.visible,
        }


@dataclass(frozen=True)
class Scan:
    """What a follow-up scan on ``day`` (days) saw.

    ``lesions`` in label order, visible or not; ``visible_ml`` the viable tumour cells in the
    visible lesions (mL); ``viable_ml`` all viable tumour cells on the grid, seen or not (mL);
    ``detection`` the detection model (``deterministic`` or ``stochastic``); ``viable_fraction``
    the fraction at which a voxel showed as tumour.
    """

    day: float
    lesions: tuple[Lesion, ...]
    visible_ml: float
    viable_ml: float
    detection: Literal["deterministic", "stochastic"]
    viable_fraction: float = VIABLE_THRESHOLD

    @property
    def visible_lesions(self) -> tuple[Lesion, ...]:
        """The lesions this scan shows."""
        return tuple(lesion for lesion in self.lesions if lesion.visible)

    @property
    def visible_volume_ml(self) -> float:
        """Volume of the visible lesions (voxels, not only their viable cells), in mL."""
        return math.fsum(lesion.volume_ml for lesion in self.visible_lesions)

    def as_dict(self) -> dict[str, Any]:
        """The scan as plain JSON values (``lesions`` a list of dicts)."""
        return {
            "day": self.day,
            "detection": self.detection,
            "viable_fraction": self.viable_fraction,
            "visible_ml": self.visible_ml,
            "viable_ml": self.viable_ml,
            "lesions": [lesion.as_dict() for lesion in self.lesions],
        }


def scan(
    tumor: np.ndarray,
    grid: Grid,
    day: float,
    *,
    viable_fraction: float = VIABLE_THRESHOLD,
    detection: Literal["deterministic", "stochastic"] = "deterministic",
    rng: np.random.Generator | int | None = None,
) -> tuple[Scan, np.ndarray]:
    """Scan the viable tumour: its lesions, their sizes and which of them are visible.

    Parameters
    ----------
    tumor
        Viable tumour fraction per voxel, in [0, 1], shape ``grid.shape``.
    grid
        The grid of ``tumor`` (positions come out in its :meth:`~Grid.axes_mm` coordinates).
    day
        Day of the course, recorded in the scan.
    viable_fraction
        Viable fraction, in (0, 1], at which a voxel shows as tumour.
    detection
        ``deterministic``: a lesion is visible when its diameter is at least
        ``DETECTION_DIAMETER_MM``. ``stochastic``: it is visible when ``rng.random()`` is below
        its detection probability, one draw per lesion in label order.
    rng
        Random generator (or seed) for stochastic detection; required there, unused otherwise.

    Returns
    -------
    scan, labels
        The :class:`Scan`, and the int32 lesion labels per voxel (0 = none; the lesions'
        ``label``, visible or not), shape ``grid.shape``.

    Raises
    ------
    ValueError
        For an unknown ``detection``, stochastic detection without ``rng``, a ``viable_fraction``
        outside (0, 1] or a ``tumor`` not of the grid's shape.
    """
    if detection not in ("deterministic", "stochastic"):
        raise ValueError(f"detection must be 'deterministic' or 'stochastic', got {detection!r}")
    if detection == "stochastic" and rng is None:
        raise ValueError("stochastic detection needs a random generator (rng)")
    tumor = np.asarray(tumor)
    if tumor.shape != tuple(grid.shape):
        raise ValueError(f"tumor has shape {tumor.shape}, the grid {tuple(grid.shape)}")
    voxel_ml = grid.voxel_volume * 1e6
    labels = np.zeros(tumor.shape, dtype=np.int32)
    viable_ml = float(tumor.sum(dtype=np.float64)) * voxel_ml
    found = _lesions(tumor, viable_fraction)
    if found is None:
        return Scan(float(day), (), 0.0, viable_ml, detection, float(viable_fraction)), labels

    box, boxed, n = found
    labels[box] = boxed
    flat = boxed.ravel()
    index = np.arange(1, n + 1)
    volume = np.bincount(flat, minlength=n + 1)[1:] * voxel_ml
    viable = np.bincount(flat, weights=tumor[box].ravel().astype(np.float64), minlength=n + 1)[1:]
    viable *= voxel_ml
    diameter = _diameter_mm(volume)
    probability = np.asarray(detection_probability(diameter), dtype=float)
    if detection == "stochastic":
        seen = np.random.default_rng(rng).random(n) < probability
    else:
        seen = diameter >= DETECTION_DIAMETER_MM
    centres = ndimage.center_of_mass(boxed > 0, boxed, index)
    first = [float(axis[0]) for axis in grid.axes_mm()]
    step = grid.spacing * 1e3
    lesions = tuple(
        Lesion(
            label=int(label),
            center_mm=tuple(  # type: ignore[arg-type]
                first[d] + (box[d].start + float(c[d])) * step for d in range(3)
            ),
            diameter_mm=float(diameter[i]),
            volume_ml=float(volume[i]),
            viable_ml=float(viable[i]),
            detection_probability=float(probability[i]),
            visible=bool(seen[i]),
        )
        for i, (label, c) in enumerate(zip(index, centres, strict=True))
    )
    visible_ml = math.fsum(lesion.viable_ml for lesion in lesions if lesion.visible)
    return Scan(
        float(day), lesions, visible_ml, viable_ml, detection, float(viable_fraction)
    ), labels
