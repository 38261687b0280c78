"""Tissue presets (every value has a source or an assumption; overrides are checked), the Ji & Brace
dielectric sigmoids against the reference table, the initial state and the derived perfusion."""

from __future__ import annotations

import dataclasses
from importlib import resources

import numpy as np
import pytest
import yaml

from tissuefate.errors import ScenarioError
from tissuefate.grid import Cylinder, Grid, Sphere, TumorShape, VesselShape, build_anatomy
from tissuefate.tissue import (
    FIELD_INFO,
    Body,
    Material,
    TissueState,
    available_presets,
    load_tissue,
    perfusion_coefficient,
)
from tissuefate.tissue import presets as presets_module
from tissuefate.tissue.coefficients import extracellular_fraction, hydraulic_permeability

PRESETS = available_presets()


def _preset_files():
    root = resources.files("tissuefate.tissue") / "presets"
    return {p.name[:-5]: yaml.safe_load(p.read_text(encoding="utf-8")) for p in root.iterdir()
            if p.name.endswith(".yaml")}  # fmt: skip


def _set_fields(obj) -> set[str]:
    return {
        f.name
        for f in dataclasses.fields(obj)
        if f.name not in ("name", "sources") and getattr(obj, f.name) is not None
    }


# ------------------------------------------------------------------------------------------------
# provenance
# ------------------------------------------------------------------------------------------------


def test_the_shipped_presets_are_liver_and_tumours():
    assert {"liver", "tumor", "hcc", "colorectal_metastasis"} <= set(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_entry_has_exactly_one_of_source_or_assumption(name):
    raw = _preset_files()[name]
    entries = {**(raw.get("parameters") or {}), **(raw.get("body") or {})}
    for key, entry in entries.items():
        assert ("source" in entry) != ("assumption" in entry), f"{name}.yaml: {key}"
        text = entry.get("source") or entry.get("assumption")
        assert isinstance(text, str), f"{name}.yaml: {key}"
        assert len(text.split()) >= 3, f"{name}.yaml: {key}: {text!r}"
    if "extends" in raw:
        assert len(str(raw["extends"]["assumption"]).split()) >= 3


@pytest.mark.parametrize("name", PRESETS)
def test_every_resolved_value_carries_its_provenance_through_inheritance(name):
    tissue = load_tissue(name)
    material, body = tissue.base, tissue.body
    required = {k for k, (_, req) in presets_module.MATERIAL_SCHEMA.items() if req}
    assert required <= _set_fields(material)
    assert set(material.sources) == _set_fields(material)
    assert set(body.sources) == _set_fields(body) == set(presets_module.BODY_SCHEMA)
    for key, prov in {**material.sources, **body.sources}.items():
        assert prov.strip(), key
    raw = _preset_files()[name]
    own = set(raw.get("parameters") or {})
    for key, prov in material.sources.items():
        if key in own:
            assert not prov.startswith("inherited"), key
        else:  # inherited: names the parent and repeats the assumption that allows it
            assert prov.startswith(f"inherited from {raw['extends']['preset']}"), key
            assert "assumption:" in prov, key


def test_a_preset_entry_with_both_source_and_assumption_is_rejected(monkeypatch):
    bad = {
        "parameters": {
            "density": {"value": "1000 kg/m^3", "source": "a book", "assumption": "a guess"}
        }
    }
    real = presets_module._read_preset
    monkeypatch.setattr(presets_module, "_read_preset", lambda n: bad if n == "broken" else real(n))
    with pytest.raises(ScenarioError) as info:
        load_tissue("broken")
    assert info.value.key == "parameters.density"
    assert info.value.source == "broken.yaml"


def test_a_preset_entry_without_source_or_assumption_is_rejected(monkeypatch):
    bad = {"extends": {"preset": "liver", "assumption": "as liver, for the test"},
           "parameters": {"density": {"value": "1000 kg/m^3"}}}  # fmt: skip
    real = presets_module._read_preset
    monkeypatch.setattr(presets_module, "_read_preset", lambda n: bad if n == "broken" else real(n))
    with pytest.raises(ScenarioError, match="exactly one of 'source' or 'assumption'"):
        load_tissue("liver", ["broken"])


# ------------------------------------------------------------------------------------------------
# overrides
# ------------------------------------------------------------------------------------------------


def test_overrides_change_only_their_target_and_are_marked():
    tissue = load_tissue(
        "liver",
        ["hcc"],
        {
            "perfusion_rate": "0.01 1/s",
            "hcc.thermal_conductivity": "600 mW/m/K",
            "body_temperature": "36.5 degC",
            "vaporization_window": "4 K",
        },
    )
    plain = load_tissue("liver", ["hcc"])
    liver, hcc = tissue.materials
    assert liver.perfusion_rate == pytest.approx(0.01)
    assert hcc.perfusion_rate == plain.materials[1].perfusion_rate
    assert hcc.thermal_conductivity == pytest.approx(0.6)
    assert liver.thermal_conductivity == plain.base.thermal_conductivity
    assert tissue.body.body_temperature == pytest.approx(36.5)
    assert tissue.body.vaporization_window == pytest.approx(4.0)
    assert liver.sources["perfusion_rate"] == "scenario override"
    assert hcc.sources["thermal_conductivity"] == "scenario override"
    assert tissue.body.sources["body_temperature"] == "scenario override"
    assert liver.sources["density"] == plain.base.sources["density"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("perfusion_rate", "5 mm"),  # wrong dimension
        ("thermal_conductivity", "0.5 W/m"),
        ("blood_density", "1050 kg"),
        ("body_temperature", "37 W"),
        ("perfusion_rate", "abc 1/s"),  # not a number
        ("tumor.density", "1 m"),
        ("perfusion", "0.01 1/s"),  # unknown names
        ("tumour.perfusion_rate", "0.01 1/s"),  # a preset the scenario does not use
        ("tumor.blood_density", "1050 kg/m^3"),  # body properties belong to the base tissue
    ],
)
def test_bad_override_raises_scenario_error_naming_its_key(key, value):
    with pytest.raises(ScenarioError) as info:
        load_tissue("liver", ["tumor"], {key: value}, source="case.yaml")
    assert info.value.key == f"tissue.parameters.{key}"
    assert info.value.source == "case.yaml"
    assert f"tissue.parameters.{key}" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("key", "value"), [("density", "-1000 kg/m^3"), ("water_mass_fraction", "1.5")]
)
def test_unphysical_override_of_the_base_tissue_names_the_key_written(key, value):
    """The user wrote ``tissue.parameters.<key>``; the error must point there."""
    with pytest.raises(ScenarioError) as info:
        load_tissue("liver", [], {key: value}, source="case.yaml")
    assert info.value.key == f"tissue.parameters.{key}"


# ------------------------------------------------------------------------------------------------
# published data: Ji & Brace sigmoids
# ------------------------------------------------------------------------------------------------

# reference/thermal-ablation.md §2.3, values derived from the sigmoids, rounded as printed there
JI_BRACE = {
    # T degC: (eps_r to 0.1, sigma S/m to 0.01)
    37.0: (47.9, 2.10),
    60.0: (41.9, 1.86),
    80.0: (27.3, 1.29),
    100.0: (10.9, 0.58),
    120.0: (3.6, 0.18),
}


@pytest.mark.parametrize("name", ["liver", "tumor"])
def test_dielectric_sigmoids_reproduce_the_reference_table_within_its_rounding(name):
    material = load_tissue(name).base
    temps = np.array(list(JI_BRACE))
    eps = material.permittivity(temps)
    sigma = material.conductivity(temps)
    for t, e, s in zip(temps, eps, sigma, strict=True):
        e_ref, s_ref = JI_BRACE[t]
        assert abs(e - e_ref) <= 0.05, f"eps_r at {t} degC: {e}"
        assert abs(s - s_ref) <= 0.005, f"sigma at {t} degC: {s}"
    assert np.all(np.diff(eps) < 0)
    assert np.all(np.diff(sigma) < 0)


def test_material_and_body_dataclasses_are_the_schema():
    material_fields = {f.name for f in dataclasses.fields(Material)} - {"name", "sources"}
    body_fields = {f.name for f in dataclasses.fields(Body)} - {"sources"}
    assert material_fields == set(presets_module.MATERIAL_SCHEMA)
    assert body_fields == set(presets_module.BODY_SCHEMA)


# ------------------------------------------------------------------------------------------------
# initial state and derived perfusion
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def anatomy():
    grid = Grid((16, 14, 12), 1e-3)
    tumors = [TumorShape("t", Sphere((1e-3, 0.0, 0.0), 4.3e-3), 1)]
    vessels = [VesselShape("v", Cylinder((-8e-3, 3e-3, -6e-3), (8e-3, 3e-3, 6e-3), 1.2e-3))]
    return build_anatomy(grid, tumors, vessels)


def test_initial_state_holds_cells_outside_vessels_and_nothing_inside(anatomy):
    state = TissueState.initial(anatomy)
    assert set(state.as_dict()) == set(FIELD_INFO)
    for name, arr in state.as_dict().items():
        assert arr.dtype == np.float32, name
        assert arr.shape == anatomy.grid.shape, name
        assert (arr >= 0).all(), name
        assert (arr <= 1).all(), name
    vessel = anatomy.vessel
    assert vessel.sum() > 10
    partial = (anatomy.tumor_fraction > 0) & (anatomy.tumor_fraction < 1)
    assert partial.sum() > 10
    cells = state.tumor.astype(np.float64) + state.normal
    np.testing.assert_allclose(cells[~vessel], 1.0, atol=1e-6)
    assert (state.tumor[vessel] == 0).all()
    assert (state.normal[vessel] == 0).all()
    np.testing.assert_array_equal(state.tumor, anatomy.tumor_fraction)
    for name in ("ecm", "vessels", "water"):
        np.testing.assert_array_equal(getattr(state, name), (~vessel).astype(np.float32))
    for name in ("coagulated", "debris", "occlusion", "inflammation", "myofibroblasts", "collagen"):
        assert (getattr(state, name) == 0).all(), name
    assert (state.occupied() <= 1 + 1e-6).all()


def test_perfusion_coefficient_is_proportional_to_vessels(anatomy):
    tissue = load_tissue("liver", ["tumor", "tumor"], {"tumor.perfusion_rate": "0.02 1/s"})
    state = TissueState.initial(anatomy)
    rng = np.random.default_rng(71)
    state.vessels[...] = rng.uniform(0.0, 1.5, anatomy.grid.shape) * ~anatomy.vessel
    state.vessels[rng.random(anatomy.grid.shape) < 0.2] = 0.0
    state.occlusion[...] = rng.uniform(0.0, 0.9, anatomy.grid.shape)
    w = perfusion_coefficient(tissue, anatomy, state)
    rate = np.where(anatomy.material == 1, 0.02, tissue.base.perfusion_rate)
    expected = rate * tissue.body.blood_heat_capacity * state.vessels * (1.0 - state.occlusion)
    assert (anatomy.material == 1).sum() > 10
    np.testing.assert_allclose(w, expected, rtol=1e-6)
    assert (w[state.vessels == 0] == 0).all()
    assert (w[anatomy.vessel] == 0).all()
    # halving the vessels halves the perfusion: what lets the kill kernel scale w in place
    state.vessels *= np.float32(0.5)
    np.testing.assert_allclose(perfusion_coefficient(tissue, anatomy, state), 0.5 * w, rtol=1e-6)
    block = (slice(2, 9), slice(0, 14), slice(5, 7))
    np.testing.assert_array_equal(
        perfusion_coefficient(tissue, anatomy, state, block),
        perfusion_coefficient(tissue, anatomy, state)[block],
    )


def test_history_reaches_injection_through_permeability_and_fluid_fraction():
    # scar resists an injected liquid, loose dead tissue lets it through: coefficients alone
    grid = Grid(shape=(4, 4, 4), spacing=1e-3)
    tissue = load_tissue("liver")
    anatomy = build_anatomy(grid, [], [])
    state = TissueState.initial(anatomy)
    naive = hydraulic_permeability(tissue, anatomy, state)
    assert np.allclose(naive, 1e-14)
    state.collagen[0] = 1.0
    state.normal[0] = 0.0
    state.debris[1] = 1.0
    state.normal[1] = 0.0
    k = hydraulic_permeability(tissue, anatomy, state)
    body = tissue.body
    assert np.allclose(k[0], 1e-14 * body.scar_permeability_factor)
    assert np.allclose(k[1], 1e-14 * body.debris_permeability_factor)
    assert np.allclose(k[2:], 1e-14)
    phi = extracellular_fraction(tissue, anatomy, state)
    assert np.allclose(phi[1], 1.0)  # dead cells no longer exclude the liquid
    assert np.allclose(phi[2:], 0.2)


@pytest.mark.parametrize(
    ("parameter", "value", "reason"),
    [
        ("cryo_stasis_temperature", "-5 degC", "must not be colder than freezing_start"),
        ("cryo_vessel_injury_temperature", "0 degC", "must not be warmer than freezing_start"),
        ("cryo_stasis_exposure", "0 K*s", "must be positive"),
        ("frozen_conductivity_exponent", "-1", "must not be negative"),
    ],
)
def test_cryo_parameters_are_checked(parameter, value, reason):
    with pytest.raises(ScenarioError, match=reason) as info:
        load_tissue("liver", [], {parameter: value}, source="case.yaml")
    assert info.value.key == f"tissue.parameters.{parameter}"


def test_storage_comes_from_the_drained_moduli_and_bad_moduli_are_refused():
    from tissuefate.tissue.presets import load_tissue

    tissue = load_tissue("liver", ["hcc"])
    liver, hcc = tissue.materials
    # S = 1/M, M = 2G(1 - nu)/(1 - 2 nu): liver 2.09 kPa and 0.35 give M = 9.06 kPa
    assert 1.0 / liver.specific_storage == pytest.approx(2 * 2090 * 0.65 / 0.3, rel=1e-12)
    assert hcc.specific_storage < liver.specific_storage  # the firmer tumour stores less
    with pytest.raises(ScenarioError, match="drained_poisson_ratio"):
        load_tissue("liver", overrides={"drained_poisson_ratio": "0.5"})
    with pytest.raises(ScenarioError, match="shear_modulus"):
        load_tissue("liver", overrides={"shear_modulus": "0 kPa"})
