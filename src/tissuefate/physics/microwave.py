"""Parametric specific-absorption model of interstitial microwave antennas (2.45 GHz).

A full-wave solution is replaced by a calibrated line of incoherent point emitters along the
antenna axis. A point emitter of power ``P`` in a lossy medium deposits

    q(r) ∝ 2α P exp(-2α r) / (4π (r² + r0²))

(spherical spreading, attenuation ``α``, regularised inside the antenna radius ``r0``). The
antenna type sets where along the axis the emitters sit: a *dual-slot* (choked) antenna radiates
from a short segment near its tip and gives a near-spherical zone; a *monopole* also radiates a
backward tail along the shaft and gives an elongated one. As the tissue next to the antenna dries
and its permittivity ``eps_near`` falls, the emitting lengths grow as
``(eps_ref / eps_near) ** p`` (``p = 1/2`` would be the wavelength scaling alone; ``p`` is
fitted), a choke detunes and leaks a tail along the shaft, and ``α`` falls with the
pattern-weighted permittivity and conductivity, so power reaches further. The emitting extent is
bounded twice: the near-antenna permittivity is floored at its value in tissue boiled dry, and the
growth factor is capped at ``max_elongation`` (a fitted bound: the radiating structure of an
antenna is fixed metal, and its current distribution stops following the wavelength once the
tissue next to it has dried; the factor would reach 6.5 in liver boiled dry).

Not all of the generator's power reaches the tissue. A fraction ``1 - efficiency`` is lost in the
cable and the applicator (and carried off by its coolant); of the rest, the fraction ``|Γ|²`` is
reflected back to the generator because the antenna is matched to hydrated tissue and the tissue
next to it dries. ``Γ`` is the mismatch of the wave impedances ``Z ∝ 1/√ε*`` of the tissue next to
the antenna now and of the tissue it is matched to (complex permittivity ``ε* = ε - jσ/(ωε0)``)::

    Γ = (√ε*_ref - √ε*_near) / (√ε*_ref + √ε*_near)

The delivered power ``P_d = efficiency · (1 - |Γ|²) · P`` is absorbed following the local
conductivity at the current temperature (Ji & Brace sigmoids)::

    Q(x) = P_d · σ(T(x)) G(x) / ∫ σ(T) G dV

The integral runs over all space, not over the grid: the tissue beyond the grid's faces (taken at
the conductivity of the tissue on the faces, weighted by the pattern there) absorbs its share,
which leaves the grid (``beyond_power``). Normalising over the grid alone would push the part of
the pattern the grid cuts off, e.g. a tail along the shaft, back into the grid, and the zone would
depend on the size of the box.

What was fitted, and to which data, is in ``modalities/antennas.yaml``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..grid.grid import Grid
from ..kernels import source as ks

__all__ = [
    "AntennaPattern",
    "MicrowaveApplicator",
    "MicrowaveSource",
    "attenuation_constant",
    "emitter_density",
    "integral_beyond_box",
    "reflection_coefficient",
]

EPS0 = 8.8541878128e-12  # F/m
MU0 = 1.25663706212e-6  # H/m
REBUILD_TOLERANCE = 0.05  # relative change of α or of the length scale that rebuilds the pattern


def attenuation_constant(eps_r: float, sigma: float, frequency: float) -> float:
    """Field attenuation constant α (1/m) of a lossy dielectric (power decays as exp(-2αr))."""
    omega = 2.0 * math.pi * frequency
    loss = sigma / (omega * EPS0 * eps_r)
    return omega * math.sqrt(MU0 * EPS0 * eps_r / 2.0) * math.sqrt(math.sqrt(1.0 + loss**2) - 1.0)


def reflection_coefficient(
    eps_ref: float, sigma_ref: float, eps: float, sigma: float, frequency: float
) -> float:
    """Reflected power fraction ``|Γ|²`` of an antenna matched to tissue of relative permittivity
    ``eps_ref`` and conductivity ``sigma_ref`` (S/m) that now faces ``eps``, ``sigma``: the mismatch
    of the wave impedances ``Z ∝ 1/√ε*``, ``ε* = ε - jσ/(ωε0)`` (a plane-wave estimate)."""
    omega = 2.0 * math.pi * frequency
    ref = np.sqrt(complex(eps_ref, -sigma_ref / (omega * EPS0)))
    now = np.sqrt(complex(eps, -sigma / (omega * EPS0)))
    return float(abs((ref - now) / (ref + now)) ** 2)


@dataclass(frozen=True)
class AntennaPattern:
    """Emission geometry of one antenna type (lengths in m at ``reference_permittivity``).

    Attributes
    ----------
    center
        Distance of the centre of the emitting segment behind the tip, m.
    half_length
        Half-length of the emitting segment, m.
    tail_fraction
        Fraction of the power radiated by a backward tail along the shaft, in [0, 1).
    tail_length
        Exponential decay length of that tail, m.
    core_radius
        Radius inside which the emitter field is regularised (the antenna radius), m.
    reference_permittivity
        Relative permittivity of the tissue at which the lengths hold.
    elongation_exponent
        Lengths scale as ``(reference_permittivity / eps_near) ** elongation_exponent``, with
        ``eps_near`` the permittivity next to the antenna; 0.5 is the scaling of the wavelength.
    detuned_tail_fraction
        Tail fraction once the tissue next to the antenna is fully dried (eps_r -> 1): a choke is
        tuned to the wavelength of hydrated tissue and leaks as the tissue dries. The tail
        fraction moves linearly with the drying ``(eps_ref - eps_near) / (eps_ref - 1)``; None
        keeps it fixed.
    efficiency
        Fraction of the generator's power that reaches the tissue through a matched antenna; the
        rest is lost in the cable and the applicator (and carried off by its coolant).
    max_elongation
        Upper bound of the growth factor of the emitting lengths (>= 1); None: bounded only by
        the floor of the near-antenna permittivity.
    """

    def elongation(self, eps_near: float) -> float:
        """Growth factor of the emitting lengths at near-antenna permittivity ``eps_near``."""
        scale = (self.reference_permittivity / eps_near) ** self.elongation_exponent
        return scale if self.max_elongation is None else min(scale, self.max_elongation)

    def tail_at(self, eps_near: float) -> float:
        """Tail fraction at near-antenna permittivity ``eps_near``."""
        if self.detuned_tail_fraction is None:
            return self.tail_fraction
        drying = min(
            max(
                (self.reference_permittivity - eps_near) / (self.reference_permittivity - 1.0), 0.0
            ),
            1.0,
        )
        return self.tail_fraction + (self.detuned_tail_fraction - self.tail_fraction) * drying

    name: str
    center: float
    half_length: float
    tail_fraction: float
    tail_length: float
    core_radius: float
    reference_permittivity: float
    elongation_exponent: float = 0.5
    detuned_tail_fraction: float | None = None
    efficiency: float = 1.0
    max_elongation: float | None = None


@dataclass(frozen=True)
class MicrowaveApplicator:
    """One antenna: ``tip`` (m), unit insertion ``direction`` (shaft to tip), generator power
    (W)."""

    tip: tuple[float, float, float]
    direction: tuple[float, float, float]
    pattern: AntennaPattern
    power: float


def emitter_density(pattern: AntennaPattern, scale: float, z: np.ndarray) -> np.ndarray:
    """Emitted power fraction at each node of the axial grid ``z`` (m behind the tip), sum 1.

    The emitting segment ``center ± half_length`` holds ``1 - tail_fraction`` uniformly; the tail
    behind it holds ``tail_fraction`` with an exponential decay. ``scale`` multiplies the
    half-length and the tail length (not the feed position). Segments narrower than the grid
    spacing fall on the nearest node.
    """
    step = float(z[1] - z[0])
    c = pattern.center  # the feed sits where the antenna puts it; what grows is the emitting extent
    hl = pattern.half_length * scale
    a, b = max(c - hl, 0.0), c + hl
    seg = ((z >= a - step / 2) & (z <= b + step / 2)).astype(float)
    if not seg.any():
        seg[int(np.argmin(np.abs(z - c)))] = 1.0
    weights = (1.0 - pattern.tail_fraction) * seg / seg.sum()
    if pattern.tail_fraction > 0.0:
        tl = pattern.tail_length * scale
        tail = np.where(z > b, np.exp(-(z - b) / tl), 0.0)
        if tail.sum() > 0:
            weights = weights + pattern.tail_fraction * tail / tail.sum()
        else:
            weights = weights / weights.sum()
    return weights


def _rz_table(
    pattern: AntennaPattern,
    scale: float,
    alpha: float,
    r_max: float,
    z_lo: float,
    z_hi: float,
    step: float,
) -> tuple[np.ndarray, float]:
    """G(ρ, z) on a table with spacing ``step`` from (0, z0); z is the distance behind the tip.

    ``G(ρ, z) = Σ_j p_j K(ρ, z - z_j)`` with the emitter density ``p`` on the same axial grid and
    the point-emitter kernel ``K(ρ, d) = exp(-2α sqrt(ρ² + d²)) / (ρ² + d² + r0²)``: a convolution
    along z, done by FFT. Returns the table and ``z0``.
    """
    hl = pattern.half_length * scale
    tail_end = (
        pattern.center
        + hl
        + (5.0 * pattern.tail_length * scale if pattern.tail_fraction > 0 else 0.0)
    )
    # nodes at whole steps from the tip: the emitters fall on the same nodes whatever the grid
    z0 = step * math.floor(min(z_lo, 0.0) / step - 1.0)
    z = np.arange(z0, max(z_hi, tail_end) + 2 * step, step)
    r = np.arange(0.0, r_max + 2 * step, step)
    p = emitter_density(pattern, scale, z)
    nz = z.size
    d = np.arange(-(nz - 1), nz) * step
    dist2 = r[:, None] ** 2 + d[None, :] ** 2
    kernel = np.exp(-2.0 * alpha * np.sqrt(dist2)) / (dist2 + pattern.core_radius**2)
    # imported here: scipy.signal loads scipy.stats, which start-up need not wait for
    from scipy.signal import fftconvolve

    table = fftconvolve(kernel, p[None, :], mode="full", axes=1)[:, nz - 1 : 2 * nz - 1]
    return np.clip(table, 0.0, None), z0


def integral_beyond_box(
    pattern: AntennaPattern,
    scale: float,
    alpha: float,
    tip: np.ndarray,
    direction: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    step: float,
    azimuths: int = 64,
) -> float:
    """``∫ G dV`` (m³ times the units of G) over all space outside the box ``[lower, upper]`` (m).

    G is the pattern of :func:`_rz_table` for an antenna at ``tip`` pointing along the unit
    ``direction``, tabulated with spacing ``step`` out to where ``exp(-2αr)`` has fallen a
    millionfold beyond the box's farthest corner. In the antenna's cylindrical coordinates
    ``(ρ, φ, z)`` a line of constant ``ρ, φ`` crosses the box in one interval of ``z`` (the
    intersection of three slabs), so the integral is ``∫∫ ρ (∫ G dz - ∫_box G dz) dρ dφ`` with
    the inner integrals read from the running integral of the table along z (trapezoids in ρ
    and z, ``azimuths`` midpoints in φ).
    """
    tip = np.asarray(tip, float)
    u = np.asarray(direction, float)
    u = u / np.linalg.norm(u)
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    corners = np.array(
        [[(lower, upper)[b][d] for d, b in enumerate(bits)] for bits in np.ndindex(2, 2, 2)]
    )
    reach = float(np.linalg.norm(corners - tip, axis=1).max()) + min(
        math.log(1e6) / (2.0 * alpha), 1.0
    )
    table, z0 = _rz_table(pattern, scale, alpha, reach, -reach, reach, step)
    n_r, n_z = table.shape
    rho = np.arange(n_r) * step
    z = z0 + np.arange(n_z) * step
    running = np.concatenate(
        [np.zeros((n_r, 1)), np.cumsum(0.5 * (table[:, 1:] + table[:, :-1]), axis=1) * step],
        axis=1,
    )  # ∫ G dz from z0, per ρ
    e1 = np.cross(u, (1.0, 0.0, 0.0) if abs(u[0]) < 0.9 else (0.0, 1.0, 0.0))
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(u, e1)
    phi = (np.arange(azimuths) + 0.5) * (2.0 * math.pi / azimuths)
    radial = np.cos(phi)[:, None] * e1 + np.sin(phi)[:, None] * e2  # (azimuths, 3)
    # a point tip - z u + ρ r̂ is inside along dimension d for z between two bounds
    base = tip[None, None, :] + rho[None, :, None] * radial[:, None, :]  # (azimuths, n_r, 3)
    z_lo = np.full(base.shape[:2], -np.inf)
    z_hi = np.full(base.shape[:2], np.inf)
    for d in range(3):
        if abs(u[d]) > 1e-12:
            a, b = (base[..., d] - upper[d]) / u[d], (base[..., d] - lower[d]) / u[d]
            z_lo = np.maximum(z_lo, np.minimum(a, b))
            z_hi = np.minimum(z_hi, np.maximum(a, b))
        else:
            out = (base[..., d] < lower[d]) | (base[..., d] > upper[d])
            z_hi = np.where(out, -np.inf, z_hi)
    z_lo, z_hi = np.clip(z_lo, z[0], z[-1]), np.clip(z_hi, z[0], z[-1])
    inside = np.zeros(base.shape[:2])
    for i in range(n_r):
        crossed = z_hi[:, i] > z_lo[:, i]
        if crossed.any():
            inside[crossed, i] = np.interp(z_hi[crossed, i], z, running[i]) - np.interp(
                z_lo[crossed, i], z, running[i]
            )
    beyond = running[:, -1][None, :] - inside  # (azimuths, n_r)
    weight = rho * step
    weight[-1] *= 0.5
    return float(np.sum(beyond * weight[None, :]) * (2.0 * math.pi / azimuths))


class MicrowaveSource:
    """Absorbed-power density of one or more antennas on a grid, following the tissue temperature.

    Parameters
    ----------
    grid
        The voxel grid.
    applicators
        The antennas, each with its own delivered power.
    material
        uint8 material index per voxel.
    sigma_table, eps_table
        Conductivity (S/m) and relative permittivity per material (rows) sampled at temperature
        offsets ``t0 + n * dt`` (K).
    t0, dt
        Start and spacing of the tables in offset units (K).
    frequency
        Hz.
    subsamples
        Sub-voxel samples per axis near the antenna axis, where the pattern varies within a voxel.
    impl
        ``"compiled"`` or ``"numpy"``.
    exclude
        bool mask of voxels that absorb nothing (voxels held at a fixed temperature, e.g. large
        vessels, whose absorbed power the blood would carry away): the power goes to tissue.
    dried_permittivity
        Floor of the near-antenna permittivity that drives elongation and choke detuning: once
        the tissue next to the antenna has boiled dry the field sees no further change (the
        modality passes the tissue's permittivity at the boiling point).
    """

    def __init__(
        self,
        grid: Grid,
        applicators: list[MicrowaveApplicator] | tuple[MicrowaveApplicator, ...],
        material: np.ndarray,
        sigma_table: np.ndarray,
        eps_table: np.ndarray,
        t0: float,
        dt: float,
        frequency: float = 2.45e9,
        subsamples: int = 4,
        impl: str = "compiled",
        exclude: np.ndarray | None = None,
        dried_permittivity: float = 1.0,
    ) -> None:
        self.grid = grid
        self.exclude = exclude
        self.dried_permittivity = float(dried_permittivity)
        self.applicators = tuple(applicators)
        self.material = np.ascontiguousarray(material)
        self.sigma_table = np.ascontiguousarray(sigma_table, np.float64)
        self.eps_table = np.ascontiguousarray(eps_table, np.float64)
        self.t0, self.dt_table = float(t0), float(dt)
        self.frequency = float(frequency)
        self.subsamples = subsamples
        self._scale_kernel = ks.scale_pattern if impl == "compiled" else ks.scale_pattern_numpy
        self._interp = ks.interpolate_rz if impl == "compiled" else ks.interpolate_rz_numpy
        x, y, z = grid.axes()
        self._coords = []
        for app in self.applicators:
            u = np.asarray(app.direction, float)
            u = u / np.linalg.norm(u)
            dx = app.tip[0] - x[:, None, None]
            dy = app.tip[1] - y[None, :, None]
            dz = app.tip[2] - z[None, None, :]
            axial = dx * u[0] + dy * u[1] + dz * u[2]  # distance behind the tip
            radial = np.sqrt(np.maximum(dx**2 + dy**2 + dz**2 - axial**2, 0.0))
            self._coords.append((radial.ravel(), axial.ravel(), u))
        self._patterns: list[np.ndarray] = [
            np.zeros(grid.shape, np.float32) for _ in self.applicators
        ]
        self._built: list[tuple[float, float] | None] = [None] * len(self.applicators)
        self._norm: list[float | None] = [None] * len(self.applicators)
        self._sums = np.zeros((grid.shape[0], 5))
        self.effective: list[tuple[float, float]] = [(math.nan, math.nan)] * len(self.applicators)
        self.near_permittivity: list[float] = [math.nan] * len(self.applicators)
        # the tissue at each tip (its material row of the tables) and the conductivity of that
        # tissue where its permittivity is the one the antenna is matched to
        self._tip_material = [
            int(self.material[tuple(self.grid.index_of(app.tip))]) for app in self.applicators
        ]
        self._matched_conductivity = [
            self._conductivity_at_permittivity(n, app.pattern.reference_permittivity)
            for n, app in enumerate(self.applicators)
        ]
        self.reflection: list[float | None] = [None] * len(self.applicators)
        # the pattern integral beyond the grid's faces (in the units of the grid sums) and the
        # conductivity and permittivity of the tissue there
        self._beyond = [(0.0, 0.0, 0.0)] * len(self.applicators)
        self.delivered_power = 0.0
        """Power into the tissue at the last update, W (in the grid and beyond it)."""
        self.beyond_power = 0.0
        """Part of :attr:`delivered_power` absorbed by tissue beyond the grid's faces, W."""
        self.reflected_power = 0.0
        """Power reflected back to the generators at the last update, W (same ``|Γ|²``)."""

    # ---------------------------------------------------------------- pattern
    def _build(
        self,
        n: int,
        alpha: float,
        scale: float,
        theta_padded: np.ndarray,
        eps_near: float | None = None,
    ) -> None:
        app = self.applicators[n]
        pattern = app.pattern
        if eps_near is not None and pattern.detuned_tail_fraction is not None:
            pattern = dataclasses.replace(pattern, tail_fraction=pattern.tail_at(eps_near))
        app = dataclasses.replace(app, pattern=pattern)
        radial, axial, u = self._coords[n]
        h = self.grid.spacing
        step = min(h / 4.0, 0.25e-3)
        # the table reaches the sub-voxel samples of the outermost voxels, a voxel beyond centres
        r_max = float(radial.max()) + h
        table, z0 = _rz_table(
            app.pattern, scale, alpha, r_max, float(axial.min()) - h, float(axial.max()) + h, step
        )
        out = np.empty(radial.size)
        self._interp(table, 0.0, z0, step, radial, axial, out)
        # sub-voxel average where the field varies within a voxel: near the emitting line
        pat = app.pattern
        z_first = max(pat.center - pat.half_length * scale, 0.0)
        z_last = pat.center + (pat.half_length + 5.0 * pat.tail_length) * scale
        near = (
            (radial < 3.0 * h + pat.core_radius)
            & (axial > z_first - 3.0 * h)
            & (axial < z_last + 3.0 * h)
        )
        if np.any(near):
            s = self.subsamples
            off = ((np.arange(s) + 0.5) / s - 0.5) * h
            ox, oy, oz = np.meshgrid(off, off, off, indexing="ij")
            sub = np.stack([ox.ravel(), oy.ravel(), oz.ravel()], axis=1)
            idx = np.unravel_index(np.nonzero(near)[0], self.grid.shape)
            centres = np.stack([self.grid.axis(d)[idx[d]] for d in range(3)], axis=1)
            pts = centres[:, None, :] + sub[None, :, :]
            d = np.asarray(app.tip, float) - pts
            ax = d @ u
            rad = np.linalg.norm(d - ax[..., None] * u, axis=-1)
            vals = np.empty(rad.size)
            self._interp(table, 0.0, z0, step, rad.ravel(), ax.ravel(), vals)
            out[near] = vals.reshape(rad.shape).mean(axis=1)
        pattern = out.reshape(self.grid.shape).astype(np.float32)
        if self.exclude is not None:
            pattern[self.exclude] = 0.0
        self._patterns[n] = pattern
        self._built[n] = (alpha, scale)
        beyond = integral_beyond_box(
            app.pattern,
            scale,
            alpha,
            np.asarray(app.tip, float),
            u,
            self.grid.lower,
            self.grid.upper,
            max(h / 2.0, 0.5e-3),
        )
        self._beyond[n] = (beyond / self.grid.voxel_volume, *self._face_properties(n, theta_padded))

    def _face_properties(self, n: int, theta_padded: np.ndarray) -> tuple[float, float]:
        """Conductivity (S/m) and relative permittivity of the tissue on the grid's faces,
        weighted by the pattern of applicator ``n`` there: what the tissue beyond is taken to be."""
        inner = theta_padded[1:-1, 1:-1, 1:-1]
        top = self.sigma_table.shape[1] - 1
        faces = [(axis, side) for axis in range(3) for side in (0, -1)]
        g = np.concatenate([np.take(self._patterns[n], s, axis=a).ravel() for a, s in faces])
        m = np.concatenate([np.take(self.material, s, axis=a).ravel() for a, s in faces])
        theta = np.concatenate([np.take(inner, s, axis=a).ravel() for a, s in faces])
        x = np.clip((theta - self.t0) / self.dt_table, 0, top)
        i = np.minimum(x.astype(np.int64), top - 1)
        f = x - i
        den = float(np.sum(g, dtype=np.float64))
        if den > 0:
            sig, eps = (
                float(np.sum(g * (table[m, i] * (1.0 - f) + table[m, i + 1] * f))) / den
                for table in (self.sigma_table, self.eps_table)
            )
            return sig, eps
        return self._matched_conductivity[n], self.applicators[n].pattern.reference_permittivity

    def _properties_at_tip(self, n: int, theta_padded: np.ndarray) -> tuple[float, float]:
        """Permittivity and conductivity of the tissue at the tip of applicator ``n``."""
        i, j, k = self.grid.index_of(self.applicators[n].tip)
        m = self._tip_material[n]
        x = (float(theta_padded[i + 1, j + 1, k + 1]) - self.t0) / self.dt_table
        grid_x = np.arange(self.eps_table.shape[1])
        return (
            float(np.interp(x, grid_x, self.eps_table[m])),
            float(np.interp(x, grid_x, self.sigma_table[m])),
        )

    def _conductivity_at_permittivity(self, n: int, eps: float) -> float:
        """Conductivity (S/m) of the tip's tissue at the temperature where its permittivity is
        ``eps`` (both fall as it heats and dries; clamped to the table)."""
        m = self._tip_material[n]
        return float(np.interp(eps, self.eps_table[m][::-1], self.sigma_table[m][::-1]))

    def _reflection(self, n: int, eps_near: float) -> float:
        """Reflected power fraction of applicator ``n`` when the tissue next to it has relative
        permittivity ``eps_near`` (matched at the pattern's reference permittivity)."""
        return reflection_coefficient(
            self.applicators[n].pattern.reference_permittivity,
            self._matched_conductivity[n],
            eps_near,
            self._conductivity_at_permittivity(n, eps_near),
            self.frequency,
        )

    @property
    def generator_power(self) -> float:
        """Total power the generators deliver into the applicators' cables, W."""
        return float(sum(app.power for app in self.applicators))

    def pattern(self, n: int = 0) -> np.ndarray:
        """Geometric pattern G of applicator ``n`` (arbitrary units), float32."""
        return self._patterns[n]

    # ----------------------------------------------------------------- update
    def _scale(self, n: int, theta: np.ndarray, q: np.ndarray, weight: float, mode: int) -> None:
        """Run the scaling kernel for applicator ``n`` (mode 0 sums, 1 writes, 2 adds)."""
        self._scale_kernel(
            self._patterns[n],
            theta,
            self.material,
            self.sigma_table,
            self.eps_table,
            self.t0,
            self.dt_table,
            weight,
            q,
            self._sums,
            mode,
        )

    def update(self, theta_padded: np.ndarray, q_padded: np.ndarray) -> float:
        """Write the absorbed-power density (W/m³) for the current temperatures into ``q_padded``.

        Both arrays are padded like the solver's. Returns the total power written (W): the
        delivered power ``Σ efficiency · (1 - |Γ|²) · P`` of the applicators, with ``|Γ|²`` from
        the near-antenna permittivity of the last update, less what the tissue beyond the grid
        absorbs (:attr:`beyond_power`). One pass writes each antenna's ``σ(T) G`` weighted by its
        delivered power over last update's normalisation, and a final rescaling makes the total
        exact (so only the split between antennas lags by one update).
        An antenna's pattern is rebuilt, for the next update, when its pattern-weighted α or
        wavelength scale has moved by more than 5 % since it was built.
        """
        h3 = self.grid.voxel_volume
        sums = self._sums
        total = delivered = reflected = in_grid = 0.0
        for n, app in enumerate(self.applicators):
            if self._built[n] is None:
                eps0, sig0 = self._properties_at_tip(n, theta_padded)
                self._build(
                    n,
                    attenuation_constant(eps0, sig0, self.frequency),
                    app.pattern.elongation(eps0),
                    theta_padded,
                    eps0,
                )
                self.reflection[n] = self._reflection(n, eps0)
            if self._norm[n] is None:  # first use: a pass that only sums
                self._scale(n, theta_padded, q_padded, 0.0, 0)
                self._norm[n] = float(sums[:, 0].sum())
            fed, gamma2 = app.power * app.pattern.efficiency, self.reflection[n] or 0.0
            power = fed * (1.0 - gamma2)
            delivered += power
            reflected += fed * gamma2
            g_out, sig_out, eps_out = self._beyond[n]
            weight = power / ((self._norm[n] + sig_out * g_out) * h3)
            self._scale(n, theta_padded, q_padded, weight, 1 if n == 0 else 2)
            s_sig, s_eps, s_g, s_eps2, s_g2 = sums.sum(axis=0)
            total += weight * s_sig * h3
            in_grid += power * s_sig / (s_sig + sig_out * g_out) if s_sig > 0 else 0.0
            self._norm[n] = float(s_sig)
            # what the field sees: the pattern-weighted tissue, in the grid and beyond it
            eps_eff = (s_eps + eps_out * g_out) / (s_g + g_out)
            sig_eff = (s_sig + sig_out * g_out) / (s_g + g_out)
            eps_near = max(s_eps2 / s_g2, self.dried_permittivity)
            self.effective[n] = (eps_eff, sig_eff)
            self.near_permittivity[n] = eps_near
            self.reflection[n] = self._reflection(n, eps_near)
            alpha = attenuation_constant(eps_eff, sig_eff, self.frequency)
            scale = app.pattern.elongation(eps_near)
            a_b, s_b = self._built[n]
            if abs(alpha / a_b - 1) > REBUILD_TOLERANCE or abs(scale / s_b - 1) > REBUILD_TOLERANCE:
                self._build(n, alpha, scale, theta_padded, eps_near)
                self._norm[n] = None
        inner = q_padded[1:-1, 1:-1, 1:-1]
        inner *= np.float32(in_grid / total) if total > 0 else np.float32(0.0)
        self.delivered_power, self.reflected_power = delivered, reflected
        self.beyond_power = float(delivered - in_grid)
        return float(in_grid)
