"""``tissuefate bench``'s stencil records: every case present, with the record's keys (the
timings themselves are measured, not tested)."""

from __future__ import annotations

import math

import numpy as np

from tissuefate.bench import stencil_cases
from tissuefate.kernels import bench as kb

KEYS = {"case", "grid", "dtype", "impl", "voxel_updates_per_s", "wall_s"}


def test_stencil_cases_give_the_floor_the_traffic_floor_and_the_thermal_steps():
    records = stencil_cases([10], numpy=False, log=None, updates=1e5)
    assert [r["case"] for r in records] == [
        "bare_stencil",
        "thermal_traffic",
        "thermal",
        "thermal+damage",
    ]
    for r in records:
        assert set(r) == KEYS
        assert r["grid"] == "10x10x10"
        assert math.isfinite(r["voxel_updates_per_s"])
        assert r["voxel_updates_per_s"] > 0


def test_the_traffic_stencil_is_the_bare_stencil_plus_its_extra_arrays():
    rng = np.random.default_rng(3)
    theta = rng.random((8, 9, 10), dtype=np.float32)
    s, ic, w, q = (rng.random(theta.shape, dtype=np.float32) for _ in range(4))
    bare, traffic = np.zeros_like(theta), np.zeros_like(theta)
    kb.bare_stencil(theta, q + s + ic + w, bare, 0.1, 0.4, 1)
    kb.traffic_stencil(theta, s, ic, w, q, traffic, 0.1, 0.4, 1)
    np.testing.assert_allclose(traffic, bare, rtol=1e-6)
