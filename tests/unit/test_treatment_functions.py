"""Treatment function names: the NHS Data Dictionary's list shipped in `models/data/`, one home
(`models.vocabulary`) for the list, the reasons and the report's charts."""

from __future__ import annotations

from features.synthetic.tables import SPECIALTIES as GENERATED
from models.list_render import specialty_name
from models.vocabulary import (
    SPECIALTIES,
    TREATMENT_FUNCTIONS_CSV,
    describe_field,
    level_label,
    treatment_functions,
)


def test_the_table_is_the_dictionarys_full_list_with_its_source() -> None:
    header = [line for line in TREATMENT_FUNCTIONS_CSV.read_text().splitlines() if line[:1] == "#"]
    assert any("datadictionary.nhs.uk" in line for line in header)
    assert any("Open Government Licence" in line for line in header)
    assert any("retrieved" in line for line in header)
    table = treatment_functions()
    assert len(table) == 180
    assert all(len(code) == 3 and code.isdigit() for code in table)
    assert table["430"] == "Elderly Medicine Service"
    assert table["300"] == "General Internal Medicine Service"
    assert table["104"] == "Colorectal Surgery Service"
    national = {c: n for c, n in table.items() if c not in ("199", "499")}
    assert all(name.endswith(" Service") for name in national.values())
    assert treatment_functions() is table  # read once


def test_every_code_the_generator_uses_has_a_name() -> None:
    assert set(GENERATED) <= set(SPECIALTIES)
    for code in GENERATED:
        assert not specialty_name(code).startswith("Treatment function code")


def test_display_drops_the_word_service_and_names_unknown_codes() -> None:
    assert specialty_name("104") == "Colorectal Surgery"
    assert specialty_name("301") == "Gastroenterology"
    assert specialty_name("999") == "Treatment function code 999"
    assert specialty_name(None) == "not recorded"
    assert describe_field("specialty", {"specialty": "430"})[0] == "Admitted under Elderly Medicine"
    assert level_label("specialty", "328") == "Stroke Medicine (328)"
