"""Catalog: elements, oxide/metal factors from atomic masses, classes, HS codes, shipped reference data."""

from __future__ import annotations

import filecmp

import pytest

from restrat.catalog import reference, service
from restrat.catalog.chemistry import formula_mass, oxide_to_metal_factor, parse_formula
from restrat.errors import InputError


def test_nd2o3_to_nd_factor_is_computed_from_atomic_masses_to_four_decimals() -> None:
    assert round(service.oxide_to_metal(element="Nd"), 4) == 0.8574
    weights = service.atomic_weights()
    expected = 2 * weights["Nd"] / (2 * weights["Nd"] + 3 * weights["O"])
    assert service.oxide_to_metal(element="Nd") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("element", "factor"), [("Ce", 0.8141), ("Pr", 0.8277), ("Tb", 0.8502), ("Y", 0.7874),
                                                 ("Dy", 0.8713), ("La", 0.8527), ("Sc", 0.6520)])
def test_oxide_factors_match_the_standard_oxide_stoichiometry(element: str, factor: float) -> None:
    assert round(service.oxide_to_metal(element=element), 4) == factor


def test_mixed_valence_oxides_are_parsed_with_all_atoms() -> None:
    assert parse_formula("Pr6O11") == {"Pr": 6, "O": 11}
    assert parse_formula("Tb4O7") == {"Tb": 4, "O": 7}
    assert parse_formula("CeO2") == {"Ce": 1, "O": 2}
    assert formula_mass("Nd2O3", {"Nd": 144.242, "O": 15.999}) == pytest.approx(336.481)


def test_a_formula_with_stray_characters_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_formula("Nd2O3!")
    with pytest.raises(ValueError):
        oxide_to_metal_factor("Dy", "Nd2O3", {"Nd": 1.0, "O": 1.0, "Dy": 1.0})


def test_the_catalog_lists_seventeen_elements_in_atomic_order_with_factors_below_one() -> None:
    table = service.element_table()
    assert list(table.symbol) == list(service.ELEMENTS)
    assert len(table) == 17
    assert ((table.oxide_to_metal_factor > 0.6) & (table.oxide_to_metal_factor < 1)).all()


@pytest.mark.parametrize(("element", "cls"), [("La", "light"), ("Nd", "light"), ("Pm", "light"), ("Sm", "medium"),
                                              ("Gd", "medium"), ("Tb", "heavy"), ("Dy", "heavy"), ("Y", "heavy"),
                                              ("Lu", "heavy")])
def test_chinese_light_medium_heavy_classes(element: str, cls: str) -> None:
    table = service.element_table().set_index("symbol")
    assert table.loc[element, "cn_class"] == cls


def test_classes_not_taken_verbatim_from_a_source_say_they_were_derived() -> None:
    table = service.element_table().set_index("symbol")
    assert table.loc["Tb", "cn_class_status"] == "derived"
    assert "medium_or_heavy" in table.loc["Tb", "cn_class_note"]
    assert table.loc["Pm", "cn_class_status"] == "derived"
    assert table.loc["La", "cn_class_status"] == "recalled"


def test_unknown_element_is_refused_naming_the_field() -> None:
    with pytest.raises(InputError) as info:
        service.element_symbol("Xx")
    assert info.value.problems[0].field == "element"
    assert "17 rare earth elements" in str(info.value)


def test_element_lookup_accepts_names_and_any_case() -> None:
    assert service.element_symbol("neodymium") == "Nd"
    assert service.element_symbol("DY") == "Dy"


def test_conversion_round_trips_and_refuses_negative_tonnes() -> None:
    metal = service.convert(element="Dy", tonnes=10, to="metal")
    assert service.convert(element="Dy", tonnes=metal, to="oxide") == pytest.approx(10)
    with pytest.raises(InputError, match="tonnes"):
        service.convert(element="Dy", tonnes=-1, to="metal")


@pytest.mark.parametrize("code", ["28x5", "2805301", "", "12345678901", "abcd"])
def test_malformed_hs_codes_are_refused(code: str) -> None:
    with pytest.raises(InputError) as info:
        service.validate_hs_code(code)
    assert info.value.problems[0].field == "hs_code"


def test_hs_codes_with_dots_are_normalised() -> None:
    assert service.validate_hs_code("2805.30") == "280530"
    assert service.validate_hs_code("2846.90.1920") == "2846901920"


def test_product_forms_cover_the_chain_from_ore_to_residues() -> None:
    forms = service.product_form_table()
    stages = set(service.stage_table().code)
    assert set(forms.stage) <= stages
    assert {"ore", "concentrate", "separated_oxide", "metal", "alloy", "magnet_ndfeb", "component", "scrap",
            "residue"} <= set(forms.code)


def test_latest_production_takes_the_newest_edition_per_year() -> None:
    latest = service.latest_production()
    assert not latest.duplicated(["data_year", "country"]).any()
    china_2024 = latest[(latest.data_year == 2024) & (latest.country == "China")]
    assert china_2024.mcs_edition.iloc[0] == "MCS2026"


def test_shipped_reference_files_are_identical_to_the_data_room(shared_data) -> None:  # type: ignore[no-untyped-def]
    if shared_data is None:
        pytest.skip("../shared/data is not beside this checkout")
    names = sorted(p.name for p in shared_data.glob("*.csv"))
    _, mismatch, errors = filecmp.cmpfiles(shared_data, reference.REFERENCE, names, shallow=False)
    assert not mismatch and not errors, f"run 'make refdata': {mismatch + errors}"


def test_every_listed_dataset_is_shipped() -> None:
    for name in reference.DATASETS:
        assert len(reference.read(name)) > 0
