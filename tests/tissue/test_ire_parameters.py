"""Irreversible-electroporation parameters of the tissue presets: the published values in SI, all
or none per material, and each unphysical value refused with the key a scenario writes."""

from __future__ import annotations

import pytest

from tissuefate.errors import ScenarioError
from tissuefate.tissue import available_presets, load_tissue
from tissuefate.tissue.presets import IRE_PARAMETERS, MATERIAL_SCHEMA

PRESETS = available_presets()
ALL_PRESETS = load_tissue("liver", [p for p in PRESETS if p != "liver"]).materials


def test_the_ire_parameters_are_the_ten_optional_keys_of_the_schema():
    assert len(IRE_PARAMETERS) == 10
    assert all(not MATERIAL_SCHEMA[k][1] for k in IRE_PARAMETERS)


def test_liver_resolves_the_published_values_to_si():
    liver = load_tissue("liver").base
    assert liver.has_ire
    # Go-Smart sigma(E): 0.08 -> 0.32 S/m between 350 and 700 V/cm
    assert liver.ire_conductivity_intact == pytest.approx(0.08)
    assert liver.ire_conductivity_electroporated == pytest.approx(0.32)
    assert liver.ire_field_reversible == pytest.approx(35_000.0)
    assert liver.ire_field_irreversible == pytest.approx(70_000.0)
    # Beitel-White et al. 2021: 1.2 % per degC
    assert liver.ire_conductivity_coefficient == pytest.approx(0.012)
    # Peleg-Fermi: E_c0 fitted to pig liver in vivo (Ben-David et al. 2012), k1 = 0 from the
    # same source; A0 and k2 the defaults of Go-Smart's MaxESolver.f90 (A0 = 144100 V/m)
    assert liver.ire_lethal_field == pytest.approx(45_600.0)
    assert liver.ire_lethal_width == pytest.approx(144_100.0)
    assert liver.ire_lethal_field_decay == 0.0
    assert liver.ire_lethal_width_decay == pytest.approx(0.06)
    assert liver.ire_microvessel_kill == pytest.approx(1.0)
    assert "PMC8048145" in liver.sources["ire_conductivity_coefficient"]
    assert "10.1186/1475-925X-9-13" in liver.sources["ire_lethal_field"]
    assert "calibrate_ire.py" in liver.sources["ire_lethal_field"]
    assert "Ben-David" in liver.sources["ire_lethal_field_decay"]


def test_tumour_has_its_own_conductivity_curve_and_liver_kill_as_stated_assumptions():
    liver, tumor = load_tissue("liver", ["tumor"]).materials
    assert tumor.ire_conductivity_intact == pytest.approx(0.2)
    assert tumor.ire_conductivity_electroporated == pytest.approx(0.7)
    assert tumor.ire_field_reversible == pytest.approx(40_000.0)
    assert tumor.ire_field_irreversible == pytest.approx(80_000.0)
    assert tumor.ire_field_reversible > liver.ire_field_reversible
    for key in (
        "ire_conductivity_coefficient",
        "ire_lethal_field",
        "ire_lethal_width",
        "ire_lethal_field_decay",
        "ire_lethal_width_decay",
        "ire_microvessel_kill",
    ):
        assert getattr(tumor, key) == getattr(liver, key), key
        assert tumor.sources[key].startswith("assumption:"), key


@pytest.mark.parametrize("material", ALL_PRESETS, ids=lambda m: m.name)
def test_a_preset_with_any_ire_parameter_has_all_of_them(material):
    present = {k for k in IRE_PARAMETERS if getattr(material, k) is not None}
    assert present in (set(), set(IRE_PARAMETERS))
    assert material.has_ire == bool(present)
    assert set(IRE_PARAMETERS) & set(material.sources) == present


def test_the_gel_phantom_has_no_ire_parameters():
    gel = load_tissue("gel_phantom").base
    assert not gel.has_ire
    assert all(getattr(gel, k) is None for k in IRE_PARAMETERS)


def test_one_ire_parameter_without_the_others_names_the_first_missing_key():
    with pytest.raises(ScenarioError, match="all IRE parameters or none") as info:
        load_tissue("gel_phantom", [], {"ire_lethal_field": "3996 V/cm"}, source="case.yaml")
    assert info.value.key == "tissue.parameters.ire_conductivity_intact"
    assert info.value.source == "case.yaml"


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("ire_conductivity_intact", "0 S/m", "must be positive"),
        ("ire_conductivity_intact", "0.5 S/m", "must exceed ire_conductivity_intact"),
        ("ire_conductivity_electroporated", "0.08 S/m", "must exceed ire_conductivity_intact"),
        ("ire_field_reversible", "-1 V/cm", "must be positive"),
        ("ire_field_reversible", "700 V/cm", "must exceed ire_field_reversible"),
        ("ire_field_irreversible", "300 V/cm", "must exceed ire_field_reversible"),
        ("ire_lethal_field", "0 V/cm", "must be positive"),
        ("ire_lethal_width", "-10 V/cm", "must be positive"),
        ("ire_lethal_field_decay", "-0.01", "must not be negative"),
        ("ire_lethal_width_decay", "-0.01", "must not be negative"),
        ("ire_microvessel_kill", "1.1", r"\[0, 1\]"),
        ("ire_microvessel_kill", "-0.1", r"\[0, 1\]"),
    ],
)
def test_an_unphysical_ire_value_is_refused_naming_the_key(key, value, reason):
    with pytest.raises(ScenarioError, match=reason) as info:
        load_tissue("liver", [], {key: value}, source="case.yaml")
    # the key named is the one that breaks the order, the one overridden or its partner
    partner = {
        ("ire_conductivity_intact", "0.5 S/m"): "ire_conductivity_electroporated",
        ("ire_field_reversible", "700 V/cm"): "ire_field_irreversible",
    }.get((key, value), key)
    assert info.value.key == f"tissue.parameters.{partner}"
    assert partner in str(info.value)


def test_a_tumour_preset_error_names_the_prefixed_key():
    with pytest.raises(ScenarioError, match="must lie in") as info:
        load_tissue("liver", ["hcc"], {"hcc.ire_microvessel_kill": "2"})
    assert info.value.key == "tissue.parameters.hcc.ire_microvessel_kill"


def test_an_electric_field_with_the_wrong_dimension_is_refused_with_an_example():
    with pytest.raises(ScenarioError, match="V/cm") as info:
        load_tissue("liver", [], {"ire_lethal_field": "700 V"})
    assert info.value.key == "tissue.parameters.ire_lethal_field"
