"""Tumour tissues of their own: the HCC and colorectal-metastasis presets against the published
ratios they were derived from, the fibrous capsule preset, and the capsule's collagen in the
initial state."""

from __future__ import annotations

import numpy as np
import pytest

from tissuefate.errors import ScenarioError
from tissuefate.grid import Grid, Sphere, TumorShape, VesselShape, build_anatomy
from tissuefate.grid.anatomy import CapsuleShell
from tissuefate.grid.shapes import Cylinder
from tissuefate.tissue import TissueState, available_presets, load_tissue

# Ippolito et al., Acad Radiol 2008 (perfusion CT, medians in mL/min/100 mL): arterial + portal
HCC_TOTAL = 45.9 + 9.0
HCC_HOST_TOTAL = 10.4 + 55.2
# Zurbuchen et al., Acta Radiol 2016 (about 470 kHz): colorectal metastases / tumour-free liver
CRC_SIGMA, LIVER_SIGMA = 0.57, 0.35


@pytest.fixture(scope="module")
def tissue():
    return load_tissue("liver", ["hcc", "colorectal_metastasis", "fibrous_capsule"])


def test_the_capsule_preset_ships_so_the_provenance_tests_cover_it():
    assert "fibrous_capsule" in available_presets()


def test_hcc_perfusion_is_liver_scaled_by_the_measured_hcc_to_liver_ratio(tissue):
    liver, hcc = tissue.materials[0], tissue.materials[tissue.index("hcc")]
    # the preset rounds to three digits: 0.022 * 0.837 = 1.841e-2 -> 1.85e-2
    expected = liver.perfusion_rate * HCC_TOTAL / HCC_HOST_TOTAL
    assert hcc.perfusion_rate == pytest.approx(expected, rel=0.01)
    assert "Ippolito" in hcc.sources["perfusion_rate"]
    assert not hcc.sources["perfusion_rate"].startswith("inherited")


def test_colorectal_metastasis_conductivity_is_liver_scaled_by_the_measured_ratio(tissue):
    liver = tissue.materials[0]
    crc = tissue.materials[tissue.index("colorectal_metastasis")]
    expected = liver.rf_conductivity * CRC_SIGMA / LIVER_SIGMA
    assert crc.rf_conductivity == pytest.approx(expected, rel=1e-3)
    assert "Zurbuchen" in crc.sources["rf_conductivity"]
    assert "10.1177/0284185116639765" in crc.sources["rf_conductivity"]


def test_perfusion_orders_liver_above_hcc_above_colorectal_metastasis_above_capsule(tissue):
    rate = {m.name: m.perfusion_rate for m in tissue.materials}
    assert rate["liver"] > rate["hcc"] > rate["colorectal_metastasis"] > rate["fibrous_capsule"] > 0


@pytest.mark.parametrize("name", ["hcc", "colorectal_metastasis", "fibrous_capsule"])
@pytest.mark.parametrize("key", ["perfusion_rate", "hydraulic_permeability", "rf_conductivity"])
def test_the_tumour_tissues_state_their_own_reason_for_each_changed_property(tissue, name, key):
    prov = tissue.materials[tissue.index(name)].sources[key]
    assert not prov.startswith("inherited"), prov
    assert len(prov.split()) >= 10, prov


def test_the_capsule_preset_holds_collagen_and_the_others_none(tissue):
    by_name = {m.name: m for m in tissue.materials}
    assert by_name["fibrous_capsule"].collagen_fraction == pytest.approx(0.7)
    assert by_name["fibrous_capsule"].sources["collagen_fraction"].startswith("assumption:")
    for name in ("liver", "hcc", "colorectal_metastasis"):
        assert by_name[name].collagen_fraction is None
        assert "collagen_fraction" not in by_name[name].sources


@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_a_collagen_fraction_outside_zero_to_one_is_rejected_with_its_key(value):
    with pytest.raises(ScenarioError, match=r"\[0, 1\]") as info:
        load_tissue("liver", ["fibrous_capsule"], {"fibrous_capsule.collagen_fraction": value})
    assert info.value.key == "tissue.parameters.fibrous_capsule.collagen_fraction"


# ------------------------------------------------------------------------------------------------
# the capsule in the initial state
# ------------------------------------------------------------------------------------------------

H = 1e-3
GRID = Grid((24, 24, 24), H)


def _capsule_anatomy(tissue, vessels=()):
    index = tissue.index("fibrous_capsule")
    capsule = CapsuleShell(1.5e-3, index, tissue.materials[index].collagen_fraction)
    tumor = TumorShape("t", Sphere((0.3e-3, 0.0, -0.2e-3), 6e-3), tissue.index("hcc"), capsule)
    return build_anatomy(GRID, [tumor], vessels), index


def test_capsule_voxels_start_with_the_presets_collagen_and_parenchyma_in_the_rest(tissue):
    anatomy, index = _capsule_anatomy(tissue)
    state = TissueState.initial(anatomy)
    capsule = anatomy.material == index
    assert capsule.sum() > 100
    collagen = tissue.materials[index].collagen_fraction
    room = 1.0 - state.tumor[capsule]
    np.testing.assert_allclose(state.collagen[capsule], np.minimum(collagen, room), atol=1e-7)
    np.testing.assert_allclose(state.normal[capsule], room - state.collagen[capsule], atol=1e-6)
    assert (state.collagen[~capsule] == 0).all()
    assert (state.normal >= 0).all()
    assert state.occupied().max() <= 1.0 + 1e-6
    # outside the capsule the state is the one without it
    plain = TissueState.initial(
        build_anatomy(GRID, [TumorShape("t", Sphere((0.3e-3, 0.0, -0.2e-3), 6e-3), 1)])
    )
    np.testing.assert_array_equal(state.normal[~capsule], plain.normal[~capsule])
    np.testing.assert_array_equal(state.tumor, plain.tumor)


def test_a_vessel_through_the_capsule_holds_blood_not_collagen(tissue):
    vessel = VesselShape("v", Cylinder((-12e-3, 6.5e-3, 0.0), (12e-3, 6.5e-3, 0.0), 1.2e-3))
    anatomy, index = _capsule_anatomy(tissue, [vessel])
    without, _ = _capsule_anatomy(tissue)
    assert (without.material[anatomy.vessel] == index).sum() > 5  # it does cross the capsule
    state = TissueState.initial(anatomy)
    assert (anatomy.material[anatomy.vessel] == 0).all()
    assert (state.collagen[anatomy.vessel] == 0).all()
    assert (anatomy.material == index).any()


def test_without_a_capsule_no_voxel_holds_collagen(tissue):
    anatomy = build_anatomy(GRID, [TumorShape("t", Sphere((0.0, 0.0, 0.0), 6e-3), 1)])
    assert anatomy.material_collagen == ()
    assert set(np.unique(anatomy.material)) == {0, 1}
    state = TissueState.initial(anatomy)
    assert not state.collagen.any()
    np.testing.assert_array_equal(state.normal, 1.0 - anatomy.tumor_fraction)
