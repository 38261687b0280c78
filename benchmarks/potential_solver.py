"""Time the radiofrequency potential solver at 128³ (not a test; see STYLE.md, practice 11).

Scene: a 2 cm active needle electrode of radius 0.75 mm along z (tip at the centre of the box),
its insulated shaft (σ = 0) running on to the z- face, in tissue of σ = 0.33 S/m modulated
smoothly by ±50 % around the needle (a heated region), all six faces grounded, h = 0.5 mm.

Reported, each the median of ``--repeat`` runs after the kernels are compiled: hierarchy build
(``set_conductivity``: faces, coarse levels, coarse factorisation, right-hand side; the first one
of a process is timed apart, it pays for fresh memory), cold solve to
1e-6 and its iterations, warm re-solve after a smooth 5 % rise of σ near the needle (rebuild
included separately) and its iterations, one V-cycle and one operator application, one Joule heat
evaluation; and, for comparison, a cold solve with the plain V(1,1) cycle and "any child fixed"
coarsening.

Run:  python benchmarks/potential_solver.py [--n 128] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from tissuefate.kernels import _jit
from tissuefate.physics.electric import PotentialSolver
from tissuefate.physics.elliptic import MultigridPCG, dirichlet_rhs

SIGMA = 0.33  # S/m, liver at 500 kHz
H = 0.5e-3  # m
RADIUS = 0.75e-3  # m, needle radius
LENGTH = 20e-3  # m, active length
HEATED = 8e-3  # m, length scale of the heated region


def scene(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """σ (S/m), electrode mask and distance to the active segment (m) on an n³ grid."""
    x = (np.arange(n) + 0.5 - n / 2) * H
    xx, yy, zz = np.meshgrid(x, x, x, indexing="ij", sparse=True)
    tip, base = 0.0, -LENGTH  # z of the ends of the active part, m
    rho_axis = np.sqrt(xx**2 + yy**2)
    dist = np.sqrt(rho_axis**2 + (zz - np.clip(zz, base, tip)) ** 2)
    electrode = dist <= RADIUS
    shaft = (rho_axis <= RADIUS) & (zz < base)
    sigma = SIGMA * (
        1.0 + 0.5 * np.exp(-((dist / HEATED) ** 2)) * np.cos(2 * np.pi * dist / HEATED)
    )
    sigma = np.where(shaft, 0.0, sigma)
    return sigma, electrode, dist


def median_time(fn, repeat: int) -> tuple[float, object]:
    times = []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=128, help="cells per axis")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.n
    sigma, electrode, dist = scene(n)
    perturbed = sigma * (1.0 + 0.05 * np.exp(-((dist / HEATED) ** 2)))

    # compile (or load from the cache) on a small problem first
    warm = PotentialSolver((24, 22, 21), H)
    small = np.zeros((24, 22, 21), bool)
    small[10, 10, 10] = True
    warm.set_conductivity(np.full((24, 22, 21), SIGMA), small)
    u, _ = warm.solve()
    warm.joule_heat(u, np.empty((24, 22, 21), np.float32))

    solver = PotentialSolver((n, n, n), H)
    t_first, _ = median_time(lambda: solver.set_conductivity(sigma, electrode), 1)
    t_build, _ = median_time(lambda: solver.set_conductivity(sigma, electrode), args.repeat)
    levels = [lev.d.shape for lev in solver.pcg.levels]
    zero_guess = np.where(electrode, 1.0, 0.0)  # the electrode at 1 V, 0 elsewhere

    t_cold, (u, info_cold) = median_time(
        lambda: solver.solve(1.0, x0=zero_guess, tol=1e-6), args.repeat
    )
    g_before = solver.conductance(u)

    t_rebuild, _ = median_time(lambda: solver.set_conductivity(perturbed, electrode), args.repeat)
    t_warm, (u2, info_warm) = median_time(lambda: solver.solve(1.0, x0=u, tol=1e-6), args.repeat)
    g_after = solver.conductance(u2)

    pcg = solver.pcg
    r = np.where(pcg.fixed == 0, 1.0, 0.0)
    z = np.empty(r.shape)
    t_vcycle, _ = median_time(lambda: pcg.vcycle(r, z), max(args.repeat, 5))
    t_apply, _ = median_time(lambda: pcg.apply(z, r), max(args.repeat, 5))

    q = np.empty(r.shape, np.float32)
    t_joule, _ = median_time(lambda: solver.joule_heat(u2, q), max(args.repeat, 5))

    # the plain V(1,1) cycle with "any child fixed" coarsening, on the same operator
    faces = (solver.c0, solver.c1, solver.c2)
    plain = MultigridPCG(*faces, None, electrode, sweeps=1, coarsening="any")
    b = dirichlet_rhs(1.0, electrode, *faces)
    t_plain, (_, info_plain) = median_time(lambda: plain.solve(b, tol=1e-6), args.repeat)
    t_plain_cycle, _ = median_time(lambda: plain.vcycle(r, z), max(args.repeat, 5))

    print(f"grid {n}³, h = {H * 1e3} mm, levels {levels}, threads {_jit.num_threads()}")
    print(
        f"electrode cells {int(electrode.sum())}, insulated shaft cells {int((sigma == 0).sum())}"
    )
    print(f"first build (set_conductivity)        {t_first * 1e3:8.1f} ms (fresh memory)")
    print(f"hierarchy build (set_conductivity)    {t_build * 1e3:8.1f} ms")
    print(
        f"cold solve to 1e-6                    {t_cold * 1e3:8.1f} ms, {info_cold.iterations} it"
    )
    print(f"rebuild after 5 % change of σ         {t_rebuild * 1e3:8.1f} ms")
    print(
        f"warm re-solve to 1e-6                 {t_warm * 1e3:8.1f} ms, {info_warm.iterations} it"
    )
    print(f"one V-cycle                           {t_vcycle * 1e3:8.1f} ms")
    print(f"one apply_operator                    {t_apply * 1e3:8.1f} ms")
    print(f"one joule_heat                        {t_joule * 1e3:8.1f} ms")
    print(
        f"V(1,1), 'any' coarsening: cold solve  {t_plain * 1e3:8.1f} ms, {info_plain.iterations} it"
    )
    print(f"V(1,1), 'any' coarsening: one V-cycle {t_plain_cycle * 1e3:8.1f} ms")
    print(f"conductance {g_before * 1e3:.3f} mS -> {g_after * 1e3:.3f} mS after the change")


if __name__ == "__main__":
    main()
