"""Measures of an ablation: zone volume and axes, tumour coverage and the minimal margin."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..tissue.presets import Body

__all__ = [
    "ZONE_OMEGA",
    "ZoneAxes",
    "coagulation_level",
    "coagulation_temperature",
    "damage_of",
    "min_margin",
    "zone_axes",
]

ZONE_OMEGA = 1.0
"""Arrhenius damage that bounds the ablation zone: 63 % of cells killed (the usual Ω = 1)."""


@dataclass(frozen=True)
class ZoneAxes:
    """Volume (mL) and axes (mm) of a zone; ``direction`` is the unit long-axis direction."""

    volume_ml: float
    long_axis_mm: float
    short_axis_mm: float
    direction: tuple[float, float, float] | None


def damage_of(fields: Mapping[str, np.ndarray]) -> np.ndarray:
    """Damage Ω of a session of any modality from its dose fields (killed fraction
    1 − exp(−Ω)): ``damage`` where the session reports it, else its heat dose ``thermal_dose``."""
    return fields["damage"] if "damage" in fields else fields["thermal_dose"]


def coagulation_temperature(body: Body) -> float:
    """Peak temperature (°C) above which most killed cells are heat-fixed: the middle of the
    tissue's fixation ramp (``fixation_temperature_low`` to ``_high``; 60 °C in liver)."""
    return 0.5 * (body.fixation_temperature_low + body.fixation_temperature_high)


def coagulation_level(fields: Mapping[str, np.ndarray], body: Body) -> np.ndarray:
    """A field that is ≥ 1 exactly in the coagulation zone, the zone gross pathology sees (the
    white zone of heat-fixed tissue): cells killed (Ω ≥ 1) at a peak temperature of at least
    :func:`coagulation_temperature`. It reads like Ω, so that the zone is ``level >= 1`` and its
    edge can be interpolated in ``log(level)``: ``log level = min(log Ω, (T_peak − T_c) / 1 K)``.
    """
    omega = np.asarray(damage_of(fields), np.float64)
    peak = np.asarray(fields["peak_temperature"], np.float64)
    hot = np.exp(np.clip(peak - coagulation_temperature(body), -50.0, 50.0))
    return np.minimum(omega, hot)


def _extent(points: np.ndarray, direction: np.ndarray, spacing: float) -> float:
    proj = points @ direction
    return float(proj.max() - proj.min()) + spacing


def zone_axes(
    mask: np.ndarray,
    spacing: float,
    axes_mm: tuple[np.ndarray, np.ndarray, np.ndarray],
    axis: np.ndarray | tuple[float, float, float] | None = None,
    n_directions: int = 36,
) -> ZoneAxes:
    """Volume and axes of the voxels in ``mask``.

    The long axis is the extent along ``axis`` (the applicator direction, as measured clinically)
    or, without one, along the first principal axis of the zone. The short axis is the largest
    extent perpendicular to it (the maximal width over ``n_directions`` directions in the
    perpendicular plane). Extents are measured between voxel centres plus one voxel.

    Parameters
    ----------
    mask
        bool (nx, ny, nz).
    spacing
        Voxel edge in mm.
    axes_mm
        Voxel-centre coordinates along x, y, z in mm.
    """
    idx = np.nonzero(mask)
    if idx[0].size == 0:
        return ZoneAxes(0.0, 0.0, 0.0, None)
    pts = np.stack([axes_mm[d][idx[d]] for d in range(3)], axis=1)
    volume = idx[0].size * spacing**3 * 1e-3
    if axis is None:
        centred = pts - pts.mean(axis=0)
        _, vecs = np.linalg.eigh(centred.T @ centred)
        u = vecs[:, -1]
    else:
        u = np.asarray(axis, dtype=float)
        u = u / np.linalg.norm(u)
    long = _extent(pts, u, spacing)
    # orthonormal basis of the perpendicular plane
    helper = np.eye(3)[int(np.argmin(np.abs(u)))]
    e1 = np.cross(u, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(u, e1)
    short = 0.0
    for phi in np.linspace(0.0, math.pi, n_directions, endpoint=False):
        d = math.cos(phi) * e1 + math.sin(phi) * e2
        short = max(short, _extent(pts, d, spacing))
    return ZoneAxes(volume, long, short, tuple(float(c) for c in u))


def min_margin(tumor: np.ndarray, zone: np.ndarray, spacing: float) -> float:
    """Minimal ablative margin in mm: the smallest distance from tumour surface to zone surface.

    Positive when the zone covers the whole tumour (the thinnest layer of ablated tissue around
    it), negative when tumour is left outside (minus the largest distance of uncovered tumour from
    the zone). Voxel-based with Euclidean distance transforms, so accurate to about half a voxel.
    ``nan`` without tumour; ``-inf`` if there is tumour but no zone.
    """
    if not tumor.any():
        return math.nan
    if not zone.any():
        return -math.inf
    # crop to the box around both, plus one voxel of ring: every nearest point lies inside it
    both = tumor | zone
    box = tuple(slice(max(int(np.min(ix)) - 1, 0), int(np.max(ix)) + 2) for ix in np.nonzero(both))
    tumor = np.pad(tumor[box], 1)
    zone = np.pad(zone[box], 1)
    uncovered = tumor & ~zone
    if uncovered.any():
        to_zone = ndimage.distance_transform_edt(~zone, sampling=spacing)
        return -float(to_zone[uncovered].max())
    to_outside = ndimage.distance_transform_edt(zone, sampling=spacing)
    return float(to_outside[tumor].min()) - spacing
