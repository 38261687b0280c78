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
    acc0 = np.abs(rng.normal(0, 1, (5, *shape)))
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


@pytest.mark.parametrize("step", [ka.agent_damage_step, ka.agent_damage_step_numpy])
def test_cells_die_by_the_agent_only_however_long_their_blood_is_gone(step):
    # a voxel whose vessels the agent destroyed, then hours without agent: the kill is the
    # chemical Ω's, the ischaemia that follows is the repair model's
    shape = (1, 1, 1)
    start = np.array([0.4, 0.6, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0], np.float32).reshape(8, *shape)
    p = np.array([0.01, 1.0, 1.0, 0.0, 0.0, 3.0, 1.0, 1.0, 0.0, 0.0, 0.3, 0.0, 10.0, 100.0,
                  np.log(100.0)])  # fmt: skip
    assert p.size == len(ka.PARAMETERS)
    acc, out = np.zeros((5, *shape)), start.copy()
    gain, rev = np.full(shape, 50.0), np.zeros(shape)
    step(np.full(shape, 2.0), np.zeros(shape), gain, rev, acc, start, out, p)  # 10 s of agent
    for _ in range(360):  # 1 h without agent
        step(np.zeros(shape), np.zeros(shape), gain, rev, acc, start, out, p)
    chem = acc[0].item()
    assert chem == pytest.approx(0.2)  # trapezoidal: 0.02/s over the 10 s
    assert out[4].item() < 1e-4  # vessels gone
    assert out[0].item() == pytest.approx(0.4 * np.exp(-3.0 * chem), rel=1e-6)
    assert out[1].item() == pytest.approx(0.6 * np.exp(-chem), rel=1e-6)
    killed = 1.0 - out[0].item() - out[1].item()
    assert out[2].item() == pytest.approx(0.3 * killed, rel=1e-5)  # fixation 0.3
    assert out[3].item() == pytest.approx(0.7 * killed, rel=1e-5)
