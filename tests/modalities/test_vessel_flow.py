"""A vessel with flowing blood in a session: what its wall takes up is booked, grows with the flow,
and cools the tissue next to it; a vessel without ``flow`` is held at body temperature as before.

A 3 W heated sphere of 4 mm radius for 3 min, 8 mm from the axis of a 4 mm vessel, in unperfused
liver in an insulated 40 mm box at 1 mm (about a second per run).
"""

from __future__ import annotations

from functools import cache

import pytest

from tissuefate.course.controller import simulate
from tissuefate.scenario import loads_scenario


@cache
def _run(flow: str | None) -> dict:
    key = "" if flow is None else f", flow: {flow}"
    text = f"""
name: vessel-flow
grid: {{size: [40 mm, 40 mm, 40 mm], spacing: 1 mm}}
tissue: {{preset: liver, parameters: {{perfusion_rate: 0 1/s}}}}
thermal: {{boundary: insulated}}  # the vessel's ends exchange nothing with the box faces
anatomy:
  vessels:
    - {{name: v, start: [8 mm, 0 mm, -20 mm], end: [8 mm, 0 mm, 20 mm], radius: 2 mm{key}}}
strategies:
  s:
    sessions:
      - modality: heat_source
        sources: [{{shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 4 mm, power: 3 W}}]
        duration: 3 min
        cooldown: 0 s
"""
    result = simulate(loads_scenario(text))
    session = result.summary["sessions"][0]
    peak = result.fields["peak_temperature"].sel(session=1)
    session["near_c"] = float(peak.interp(x=5.0, y=0.0, z=0.0).values)
    return session


def test_without_flow_the_vessel_is_held_and_reports_nothing():
    assert "vessels" not in _run(None)


@pytest.mark.parametrize("flow", ["1 mL/min", "100 mL/min"])
def test_the_wall_uptake_is_booked_and_the_balance_closes(flow):
    s = _run(flow)
    (v,) = s["vessels"]
    assert v["flow_ml_min"] == pytest.approx(float(flow.split()[0]))
    assert v["heat_taken_up_j"] == pytest.approx(s["energy"]["vessel_uptake_j"], rel=0.02)
    assert abs(s["energy"]["balance_residual_rel"]) < 1e-6
    assert v["wall_heat_transfer_w_m2k"] == pytest.approx(v["nusselt"] * 0.52 / 4e-3)


def test_more_flow_takes_up_more_heat_and_cools_the_tissue_next_to_the_vessel():
    runs = [_run(f) for f in ("1 mL/min", "10 mL/min", "100 mL/min")]
    uptake = [r["vessels"][0]["heat_taken_up_j"] for r in runs]
    near = [r["near_c"] for r in runs]
    assert uptake[0] < uptake[1] < uptake[2]
    assert near[0] > near[1] > near[2]
    # slow blood warms on its way past the source, so it takes up less
    rise = [r["vessels"][0]["peak_outlet_rise_k"] for r in runs]
    assert rise[0] > 10 * rise[2]
