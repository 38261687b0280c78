"""The agent damage kernel against its NumPy reference, on random states and parameters."""

from __future__ import annotations

import numpy as np
import pytest

from tissuefate.kernels import agent as ka


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agent_damage_step_matches_reference(seed):
    rng = np.random.default_rng(seed)
    shape = (6, 5, 7)
    c = rng.uniform(0, 3, shape) * (rng.random(shape) < 0.7)
    consumed = rng.uniform(0, 1, shape)
    gain = rng.uniform(0, 5, shape)
    rev = rng.uniform(0, 1, shape)
    acc0 = np.abs(rng.normal(0, 1, (6, *shape)))
    acc0[3] = rng.uniform(0, 1, shape)
    acc0[4] = rng.uniform(0, 1, shape) * acc0[3]
    start = rng.uniform(0, 1, (8, *shape)).astype(np.float32)
    start[0] *= 0.5
    start[1] = (1 - start[0]) * rng.uniform(0, 1, shape)
    start[4, 0, 0, 0] = 0.0  # a voxel without vessels
    start[0:2, 1, 1, 1] = 0.0  # a voxel without cells
    out0 = start.copy()
    out0[7] *= 0.9
    p = np.array(
        [
            rng.uniform(0.01, 1),  # exposure coefficient
            rng.uniform(0.5, 2),  # reference concentration
            rng.choice([1.0, 4.4]),
            0.25,
            rng.choice([0.0, 0.5]),  # with and without oxidation kill
            rng.uniform(1, 10),
            rng.uniform(0, 1),
            rng.uniform(0, 1),
            rng.uniform(0, 0.1),
            0.5,
            rng.uniform(-0.2, 0.5),
            rng.uniform(0, 1),
            rng.uniform(0, 1),
            rng.uniform(0, 2),
            rng.uniform(1, 30),
            100.0,
            np.log(100.0),
        ]
    )
    assert p.size == len(ka.PARAMETERS)
    results = []
    for step in (ka.agent_damage_step, ka.agent_damage_step_numpy):
        acc, out = acc0.copy(), out0.copy()
        step(c, consumed, gain, rev, acc, start, out, p)
        results.append((acc, out))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=2e-6, atol=2e-7)
    acc, out = results[0]
    # cells only die; the dead go to coagulated or debris; fractions stay in [0, 1]
    assert np.all(out[0] <= start[0] + 1e-7)
    assert np.all(out[1] <= start[1] + 1e-7)
    dead = (start[0] + start[1]) - (out[0] + out[1])
    gained = (out[2] - start[2]) + (out[3] - start[3])
    np.testing.assert_allclose(gained, dead, atol=2e-6)
    assert np.all((out[4:7] >= -1e-7) & (out[4:7] <= 1 + 1e-6))
