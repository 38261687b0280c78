"""Repair kernels: the per-voxel reactions of the tissue between sessions.

``neighbour_max`` writes, for every voxel, the largest dead-tissue fraction (``coagulated +
debris``) among the voxel and its six face neighbours: the demand that draws phagocytes into a
perfused voxel bordering dead tissue.

``pool_totals`` sums the pools a course records after every repair step, in one pass.

``repair_step`` advances every voxel's pools over ``dt`` s, one process after another (Lie
splitting), each integrated exactly with its inputs held at their values for the step (see
``tissuefate.biology.repair`` for the model and ``PARAMETERS`` below for the packed parameters):

- ischaemic death first: where the perfusion access ``a = min(1, vessels (1 − occlusion))`` is
  below the threshold ``a_c``, tumour and parenchyma die at ``(1/τ_isch) max(0, 1 − a/a_c)``
  (the full rate ``1/τ_isch`` without perfusion, none at ``a_c``). The vessels are held for the
  step, the occlusion recovers in it as ``o₀ e^{−t/τ_O}`` (as it does below), and the rate is
  integrated exactly over that (closed form, up to the time the access reaches ``a_c``): both
  pools are multiplied by ``e^{−Ω}``, so a reversible occlusion that recovers within the step
  kills what it kills in that time, not for the whole step. The killed cells become ``debris``
  and add ``ischemic_immunogenicity`` × killed to the injury signal. It acts before every growth
  below, so a voxel without blood does not grow in the step it dies;
- injury signal ``S`` decays as ``e^{-t/τ_S}``; inflammation ``I`` follows
  ``dI/dt = k_I S̄ (1 − I) − I/τ_I`` with ``S̄`` the signal's mean over the step;
- phagocytes ``P``: ``dP/dt = k_P a min(1, demand + I)(1 − P) − P/τ_P`` with the access ``a``
  of the step's start;
- clearance with the step's mean ``P̄``: ``debris ← debris e^{−k_D P̄ dt}``,
  ``coagulated ← coagulated e^{−k_C P̄ dt}``;
- myofibroblasts ``F`` grow into the free room at ``k_F h(x)`` with a switch-like activation
  ``h(x) = x⁴/(x⁴ + x½⁴)`` of the drive ``x = g_I I + g_C P̄ coagulated + g_E (1 − ecm) free`` and
  die at ``1/τ_F``; collagen is laid into the free room at ``k_Co F`` and remodelled at ``1/τ_R``;
- parenchyma regenerates logistically (rate ρ_N) into free room where matrix and supply remain:
  capacity ``normal + free · ecm · a``;
- viable tumour grows (logistic or Gompertz, rate ``ρ_T a``) into everything not dead or fibrous:
  capacity ``tumor + normal + free``. With ``push`` = 0 the growth beyond the free room
  displaces parenchyma; with ``push`` = 1 it displaces nothing and stays as overflow, the
  occupied fraction exceeding 1 by it, for a mechanics model to push out of the voxel;
- microvessels regrow logistically (rate ρ_V) towards ``ecm (1 − collagen − F)(1 − dead)``, never
  through scar or dead tissue; reversible occlusion decays as ``e^{-t/τ_O}``; water relaxes
  towards ``1 + edema_gain I`` as ``e^{-t/τ_W}``;
- cells and vessels below ``extinction`` (less than one cell per voxel) are removed, and the
  signal, inflammation, phagocytes and myofibroblasts below ``FLUSH`` (1e-6) are set to 0, so
  that resolved voxels cost nothing.

With ``push`` = 0 every update keeps the pools in [0, capacity], so the occupied fraction never
exceeds 1 (up to float32 round-off, which the caller clips); with ``push`` = 1 only tumour growth
overfills a voxel. A voxel is quiescent (left as it is, at no cost) only when the full update
would not change it: no dead tissue near, no signal, no room, whole vessels, no tumour, and no
cells short of blood. Voxels outside the tissue (``tissue = 0``, large vessels) are left alone.
The step also writes the capacities that weight the invasion diffusivities of parenchyma, vessels
and tumour (cells move into free room only), and returns the cleared dead tissue per plane in
``cleared[i]`` (float64, voxel fractions).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import jit

__all__ = [
    "FLUSH",
    "PARAMETERS",
    "neighbour_max",
    "neighbour_max_numpy",
    "pool_totals",
    "pool_totals_numpy",
    "repair_step",
    "repair_step_numpy",
]

FLUSH = 1e-6
"""Signal, inflammation, phagocytes and myofibroblasts below this are set to 0."""

PARAMETERS = (
    "dt",
    "signal_decay",  # e^{-dt/τ_S}
    "inv_signal_lifetime",
    "inflammation_gain",
    "inv_inflammation_time",
    "phagocyte_recruitment",
    "inv_phagocyte_lifetime",
    "debris_clearance",
    "coagulated_clearance",
    "fibrosis_gain",
    "trapped_necrosis_gain",
    "ecm_collapse_gain",
    "activation_half",
    "myofibroblast_rate",
    "inv_myofibroblast_lifetime",
    "collagen_rate",
    "inv_remodelling_time",
    "regeneration_rate",
    "vessel_rate",
    "occlusion_decay",
    "edema_gain",
    "water_decay",
    "extinction",
    "gompertz",  # 0 logistic, 1 Gompertz tumour growth
    "inv_ischemic_death_time",  # 1/τ_isch: death rate without perfusion
    "ischemia_threshold",  # a_c: perfusion access below which cells die; 0 switches it off
    "ischemic_immunogenicity",  # injury signal per ischaemically killed cell fraction
    "push",  # 0: tumour growth displaces parenchyma; 1: it overflows (mechanics pushes it)
)
"""Order of the float64 parameter vector ``p`` of :func:`repair_step` (rates in 1/s)."""


@jit(parallel=True)
def neighbour_max(coagulated, debris, out):
    """``out`` = max of ``coagulated + debris`` over each voxel and its face neighbours."""
    n0, n1, n2 = coagulated.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                m = coagulated[i, j, k] + debris[i, j, k]
                if i > 0:
                    m = max(m, coagulated[i - 1, j, k] + debris[i - 1, j, k])
                if i < n0 - 1:
                    m = max(m, coagulated[i + 1, j, k] + debris[i + 1, j, k])
                if j > 0:
                    m = max(m, coagulated[i, j - 1, k] + debris[i, j - 1, k])
                if j < n1 - 1:
                    m = max(m, coagulated[i, j + 1, k] + debris[i, j + 1, k])
                if k > 0:
                    m = max(m, coagulated[i, j, k - 1] + debris[i, j, k - 1])
                if k < n2 - 1:
                    m = max(m, coagulated[i, j, k + 1] + debris[i, j, k + 1])
                out[i, j, k] = m


def neighbour_max_numpy(coagulated, debris, out):
    """NumPy reference of :func:`neighbour_max`."""
    dead = coagulated.astype(np.float64) + debris
    m = dead.copy()
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        m[tuple(lo)] = np.maximum(m[tuple(lo)], dead[tuple(hi)])
        m[tuple(hi)] = np.maximum(m[tuple(hi)], dead[tuple(lo)])
    out[...] = m


@jit(inline=True)
def _relax(x0, source, loss, target_scale, dt):
    """Exact ``dx/dt = source (target_scale − x) − loss x`` over dt; also the step's mean of x."""
    r = source + loss
    if r <= 0.0:
        return x0, x0
    xinf = source * target_scale / r
    em1 = math.expm1(-r * dt)  # e^{-r dt} − 1, one transcendental for both results
    x1 = xinf + (x0 - xinf) * (1.0 + em1)
    mean = xinf + (x0 - xinf) * (-em1) / (r * dt)
    return x1, mean


@jit(inline=True)
def _ischemic_omega(v, o0, decay, inv_tau, threshold, dt):
    """Ischaemic Ω over dt: ``∫ inv_tau max(0, 1 − A(t)/threshold) dt`` with the perfusion access
    ``A(t) = v (1 − o0 decay^{t/dt})`` as the occlusion recovers (``decay = e^{−dt/τ_O}``) and the
    vessels ``v`` held; the cap of the access at 1 does not matter below a threshold ≤ 1."""
    if threshold <= 0.0:
        return 0.0
    if v <= 0.0:
        return inv_tau * dt
    b = v / threshold
    lam = -math.log(decay) / dt if decay > 0.0 else math.inf  # 1/τ_O
    if o0 <= 0.0 or lam <= 0.0:  # the access does not change in the step
        return inv_tau * dt * max(0.0, 1.0 - b * (1.0 - o0))
    t_end = dt  # the access reaches the threshold at t_end (or never within the step)
    if b > 1.0:
        q = 1.0 - 1.0 / b  # occlusion at which the access reaches the threshold
        if o0 <= q:
            return 0.0
        t_end = min(dt, math.log(o0 / q) / lam)
    recovered = 0.0 if lam == math.inf else -math.expm1(-lam * t_end) / lam
    return inv_tau * max(0.0, (1.0 - b) * t_end + b * o0 * recovered)


@jit(inline=True)
def _logistic(u, cap, growth):
    """Exact logistic step with ``growth = e^{ρ dt} − 1``."""
    if cap <= 0.0 or u <= 0.0:
        return 0.0 if cap <= 0.0 else u
    v = cap * u * (1.0 + growth) / (cap + u * growth)
    return min(max(v, 0.0), cap)


@jit(inline=True)
def _gompertz(u, cap, decay):
    """Exact Gompertz step with ``decay = e^{−ρ dt}``."""
    if cap <= 0.0 or u <= 1e-30:
        return 0.0 if cap <= 0.0 else u
    return cap * math.exp(math.log(min(u / cap, 1.0)) * decay)


@jit(parallel=True)
def repair_step(
    tumor,
    normal,
    coagulated,
    debris,
    ecm,
    vessels,
    occlusion,
    inflammation,
    myofibroblasts,
    collagen,
    water,
    injury,
    phagocytes,
    tissue,
    tumor_rate,
    demand,
    p,
    cap_normal,
    cap_vessels,
    cap_tumor,
    cleared,
):
    """One repair step in place; see the module docstring. ``p`` as :data:`PARAMETERS`."""
    dt = p[0]
    grow_n = math.expm1(p[17] * dt)
    grow_v = math.expm1(p[18] * dt)
    n0, n1, n2 = tumor.shape
    for i in prange(n0):
        removed = 0.0
        for j in range(n1):
            for k in range(n2):
                if tissue[i, j, k] == 0:
                    cap_normal[i, j, k] = 0.0
                    cap_vessels[i, j, k] = 0.0
                    cap_tumor[i, j, k] = 0.0
                    continue
                t = float(tumor[i, j, k])
                n = float(normal[i, j, k])
                c = float(coagulated[i, j, k])
                d = float(debris[i, j, k])
                e = float(ecm[i, j, k])
                v = float(vessels[i, j, k])
                o = float(occlusion[i, j, k])
                f = float(myofibroblasts[i, j, k])
                co = float(collagen[i, j, k])
                s0 = float(injury[i, j, k])
                infl = float(inflammation[i, j, k])
                full = 1.0 - (t + n + c + d + f + co)
                if (  # quiescent: nothing dead here or beside, no signal, no room, vessels
                    # whole, no tumour, no cells short of blood (the full update would leave
                    # it as it is; with o = 0 the perfusion access is min(1, v))
                    c + d + s0 + infl + f + o == 0.0
                    and phagocytes[i, j, k] == 0.0
                    and demand[i, j, k] == 0.0
                    and full <= 0.0
                    and t == 0.0
                    and water[i, j, k] == 1.0
                    and v >= e * (1.0 - co)
                    and (n == 0.0 or n >= p[22])
                    and (v == 0.0 or v >= p[22])
                    and (n == 0.0 or min(1.0, v) >= p[25])
                ):
                    cap_normal[i, j, k] = n
                    cap_vessels[i, j, k] = e * (1.0 - co)
                    cap_tumor[i, j, k] = n
                    continue
                # ischaemic death where the perfusion access is below the threshold
                a = min(1.0, v * (1.0 - o))
                if a < p[25] and t + n > 0.0:
                    omega = _ischemic_omega(v, o, p[19], p[24], p[25], dt)
                    killed = (t + n) * -math.expm1(-omega)
                    survive = math.exp(-omega)
                    t *= survive
                    n *= survive
                    d += killed
                    s0 += p[26] * killed
                # injury signal and inflammation
                if s0 > 0.0:
                    s_mean = s0 * (1.0 - p[1]) / (p[2] * dt)
                    s1 = s0 * p[1]
                    injury[i, j, k] = s1 if s1 >= FLUSH else 0.0
                    infl, _ = _relax(infl, p[3] * s_mean, p[4], 1.0, dt)
                elif infl > 0.0:
                    infl = infl * math.exp(-p[4] * dt)
                if infl < FLUSH:
                    infl = 0.0
                inflammation[i, j, k] = infl
                # phagocytes from perfused tissue, and clearance
                ph = float(phagocytes[i, j, k])
                ph_mean = 0.0
                q = p[5] * a * min(1.0, float(demand[i, j, k]) + infl)
                if q > 0.0 or ph > 0.0:
                    ph, ph_mean = _relax(ph, q, p[6], 1.0, dt)
                    phagocytes[i, j, k] = ph if ph >= FLUSH else 0.0
                if ph_mean > 0.0 and c + d > 0.0:
                    d1 = d * math.exp(-p[7] * ph_mean * dt)
                    c1 = c * math.exp(-p[8] * ph_mean * dt)
                    removed += (c - c1) + (d - d1)
                    c = c1
                    d = d1
                free = max(0.0, 1.0 - (t + n + c + d + f + co))
                # myofibroblasts and collagen
                x = p[9] * infl + p[10] * ph_mean * c + p[11] * (1.0 - e) * free
                h = 0.0
                if x > 0.0:
                    x4 = (x * x) * (x * x)
                    half2 = p[12] * p[12]
                    h = x4 / (x4 + half2 * half2)
                f_mean = 0.0
                if h > 0.0 or f > 0.0:
                    f1, f_mean = _relax(f, p[13] * h, p[14], f + free, dt)
                    if f1 < FLUSH:
                        f1 = 0.0
                    free = max(0.0, free - (f1 - f))
                    f = f1
                if f_mean > 0.0 or co > 0.0:
                    co1, _ = _relax(co, p[15] * f_mean, p[16], co + free, dt)
                    free = max(0.0, free - (co1 - co))
                    co = co1
                # regeneration of parenchyma into free room with matrix and supply
                room = free * e * a
                if room > 0.0 and n > 0.0:
                    n1_ = _logistic(n, n + room, grow_n)
                    free = max(0.0, free - (n1_ - n))
                    n = n1_
                # tumour growth, displacing parenchyma (push = 0) or overflowing (push = 1)
                kt = t + n + free
                rate = float(tumor_rate[i, j, k]) * a
                if rate > 0.0 and t > 0.0 and kt > t:
                    if p[23] > 0.5:
                        t1 = _gompertz(t, kt, math.exp(-rate * dt))
                    else:
                        t1 = _logistic(t, kt, math.expm1(rate * dt))
                    if t1 > t:
                        grown = t1 - t
                        take = min(grown, free)
                        free -= take
                        if p[27] < 0.5:
                            n = max(0.0, n - (grown - take))
                    t = t1
                # vessels, occlusion, water
                vcap = e * max(0.0, 1.0 - co - f) * max(0.0, 1.0 - c - d)
                if v < vcap:
                    v = _logistic(v, vcap, grow_v)
                o = o * p[19]
                target = 1.0 + p[20] * infl
                w = float(water[i, j, k])
                if w != target:
                    water[i, j, k] = target + (w - target) * p[21]
                # extinction below one cell per voxel
                if t < p[22]:
                    t = 0.0
                if n < p[22]:
                    n = 0.0
                if v < p[22]:
                    v = 0.0
                tumor[i, j, k] = t
                normal[i, j, k] = n
                coagulated[i, j, k] = c
                debris[i, j, k] = d
                vessels[i, j, k] = v
                occlusion[i, j, k] = o
                myofibroblasts[i, j, k] = f
                collagen[i, j, k] = co
                free = max(0.0, 1.0 - (t + n + c + d + f + co))
                cap_normal[i, j, k] = n + free * e
                cap_vessels[i, j, k] = vcap
                cap_tumor[i, j, k] = t + n + free
        cleared[i] = removed


def _ischemic_omega_numpy(v, o0, decay, inv_tau, threshold, dt):
    """NumPy reference of :func:`_ischemic_omega` (``v``, ``o0`` arrays, the rest scalars)."""
    b = v / threshold
    held = inv_tau * dt * np.maximum(0.0, 1.0 - b * (1.0 - o0))
    if decay <= 0.0:  # the occlusion is gone at once
        return np.where(v <= 0.0, inv_tau * dt, inv_tau * dt * np.maximum(0.0, 1.0 - b))
    lam = -math.log(decay) / dt
    if lam <= 0.0:
        return np.where(v <= 0.0, inv_tau * dt, held)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(b > 1.0, 1.0 - 1.0 / np.where(b > 1.0, b, 2.0), 0.0)
        t_cross = np.log(np.where(o0 > q, o0, 1.0) / np.where(q > 0.0, q, 1.0)) / lam
    t_end = np.where(b > 1.0, np.minimum(dt, t_cross), dt)
    moving = inv_tau * np.maximum(0.0, (1.0 - b) * t_end + b * o0 * -np.expm1(-lam * t_end) / lam)
    omega = np.where(o0 <= 0.0, held, np.where((b > 1.0) & (o0 <= q), 0.0, moving))
    return np.where(v <= 0.0, inv_tau * dt, omega)


def repair_step_numpy(
    tumor,
    normal,
    coagulated,
    debris,
    ecm,
    vessels,
    occlusion,
    inflammation,
    myofibroblasts,
    collagen,
    water,
    injury,
    phagocytes,
    tissue,
    tumor_rate,
    demand,
    p,
    cap_normal,
    cap_vessels,
    cap_tumor,
    cleared,
):
    """NumPy reference of :func:`repair_step` (float64 arithmetic, results stored in place)."""
    f64 = np.float64
    dt = p[0]
    live = tissue != 0
    t, n = tumor.astype(f64), normal.astype(f64)
    c, d = coagulated.astype(f64), debris.astype(f64)
    e, v, o = ecm.astype(f64), vessels.astype(f64), occlusion.astype(f64)
    f, co = myofibroblasts.astype(f64), collagen.astype(f64)
    s0 = injury.astype(f64)
    a = np.minimum(1.0, v * (1.0 - o))
    if p[25] > 0.0:
        omega = _ischemic_omega_numpy(v, o, p[19], p[24], p[25], dt)
        omega = np.where((a < p[25]) & (t + n > 0), omega, 0.0)
        survive = np.exp(-omega)
        killed = (t + n) * -np.expm1(-omega)
        t, n = t * survive, n * survive
        d = d + killed
        s0 = s0 + p[26] * killed

    def relax(x0, source, loss, scale):
        r = source + loss
        safe = np.where(r > 0, r, 1.0)
        xinf = source * scale / safe
        x1 = np.where(r > 0, xinf + (x0 - xinf) * np.exp(-r * dt), x0)
        mean = np.where(r > 0, xinf + (x0 - xinf) * (-np.expm1(-r * dt)) / (safe * dt), x0)
        return x1, mean

    def logistic(u, cap, growth):
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.clip(cap * u * (1.0 + growth) / (cap + u * growth), 0.0, np.maximum(cap, 0))
        return np.where(cap <= 0, 0.0, np.where(u <= 0, u, w))

    s_mean = np.where(s0 > 0, s0 * (1.0 - p[1]) / (p[2] * dt), 0.0)
    s1 = s0 * p[1]
    s1 = np.where(s1 >= FLUSH, s1, 0.0)
    infl, _ = relax(inflammation.astype(f64), p[3] * s_mean, p[4], 1.0)
    infl = np.where(infl >= FLUSH, infl, 0.0)
    q = p[5] * a * np.minimum(1.0, demand.astype(f64) + infl)
    ph, ph_mean = relax(phagocytes.astype(f64), q, p[6], 1.0)
    ph = np.where(ph >= FLUSH, ph, 0.0)
    d1 = d * np.exp(-p[7] * ph_mean * dt)
    c1 = c * np.exp(-p[8] * ph_mean * dt)
    removed = np.where(live, (c - c1) + (d - d1), 0.0)
    c, d = c1, d1
    free = np.maximum(0.0, 1.0 - (t + n + c + d + f + co))
    x = p[9] * infl + p[10] * ph_mean * c + p[11] * (1.0 - e) * free
    h = np.where(x > 0, x**4 / (x**4 + p[12] ** 4), 0.0)
    f1, f_mean = relax(f, p[13] * h, p[14], f + free)
    f1 = np.where(f1 >= FLUSH, f1, 0.0)
    free = np.maximum(0.0, free - (f1 - f))
    f = f1
    co1, _ = relax(co, p[15] * f_mean, p[16], co + free)
    free = np.maximum(0.0, free - (co1 - co))
    co = co1
    n1 = logistic(n, n + free * e * a, math.expm1(p[17] * dt))
    free = np.maximum(0.0, free - (n1 - n))
    n = n1
    kt = t + n + free
    rate = tumor_rate.astype(f64) * a
    grows = (rate > 0) & (t > 0)
    if p[23] > 0.5:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.minimum(np.where(kt > 0, t / np.where(kt > 0, kt, 1.0), 1.0), 1.0)
            g = np.where(
                kt <= 0,
                0.0,
                np.where(t <= 1e-30, t, kt * np.exp(np.log(ratio) * np.exp(-rate * dt))),
            )
    else:
        g = logistic(t, kt, np.expm1(rate * dt))
    t1 = np.where(grows, g, t)
    grown = np.maximum(t1 - t, 0.0)
    take = np.minimum(grown, free)
    free = free - take
    if p[27] < 0.5:
        n = np.maximum(0.0, n - (grown - take))
    t = t1
    vcap = e * np.maximum(0.0, 1.0 - co - f) * np.maximum(0.0, 1.0 - c - d)
    v = np.where(v < vcap, logistic(v, vcap, math.expm1(p[18] * dt)), v)
    o = o * p[19]
    target = 1.0 + p[20] * infl
    w = target + (water.astype(f64) - target) * p[21]
    t = np.where(t < p[22], 0.0, t)
    n = np.where(n < p[22], 0.0, n)
    v = np.where(v < p[22], 0.0, v)
    free = np.maximum(0.0, 1.0 - (t + n + c + d + f + co))
    pairs = (
        (tumor, t),
        (normal, n),
        (coagulated, c),
        (debris, d),
        (vessels, v),
        (occlusion, o),
        (inflammation, infl),
        (myofibroblasts, f),
        (collagen, co),
        (water, w),
        (injury, s1),
        (phagocytes, ph),
    )
    for arr, value in pairs:
        arr[live] = value[live]
    cap_normal[...] = np.where(live, n + free * e, 0.0)
    cap_vessels[...] = np.where(live, vcap, 0.0)
    cap_tumor[...] = np.where(live, t + n + free, 0.0)
    cleared[...] = removed.sum(axis=(1, 2))


@jit(parallel=True)
def pool_totals(tumor, coagulated, debris, myofibroblasts, collagen, normal, normal0, inflammation):
    """Sums over the grid in one pass: ``out[0..4]`` the sums of ``tumor``, ``coagulated``,
    ``debris``, ``myofibroblasts``, ``collagen``; ``out[5]`` the number of voxels with collagen
    at least 0.5; ``out[6]`` the sum of ``max(normal0 − normal, 0)``; ``out[7]`` the largest
    ``inflammation`` (float64 sums of per-plane partial sums)."""
    n0, n1, n2 = tumor.shape
    part = np.zeros((n0, 8))
    for i in prange(n0):
        acc = np.zeros(8)
        for j in range(n1):
            for k in range(n2):
                acc[0] += tumor[i, j, k]
                acc[1] += coagulated[i, j, k]
                acc[2] += debris[i, j, k]
                acc[3] += myofibroblasts[i, j, k]
                acc[4] += collagen[i, j, k]
                if collagen[i, j, k] >= 0.5:
                    acc[5] += 1.0
                lost = float(normal0[i, j, k]) - float(normal[i, j, k])
                if lost > 0.0:
                    acc[6] += lost
                acc[7] = max(acc[7], float(inflammation[i, j, k]))
        part[i] = acc
    out = np.zeros(8)
    for i in range(n0):
        for m in range(7):
            out[m] += part[i, m]
        out[7] = max(out[7], part[i, 7])
    return out


def pool_totals_numpy(
    tumor, coagulated, debris, myofibroblasts, collagen, normal, normal0, inflammation
):
    """NumPy reference of :func:`pool_totals`."""
    f64 = np.float64
    return np.array(
        [
            tumor.sum(dtype=f64),
            coagulated.sum(dtype=f64),
            debris.sum(dtype=f64),
            myofibroblasts.sum(dtype=f64),
            collagen.sum(dtype=f64),
            float(np.count_nonzero(collagen >= 0.5)),
            np.maximum(normal0.astype(f64) - normal, 0.0).sum(),
            float(inflammation.max()) if inflammation.size else 0.0,
        ]
    )
