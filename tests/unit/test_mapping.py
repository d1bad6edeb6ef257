"""Tests of features.mapping: the YAML format, each step, and the three shipped public mappings."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.load import load_admissions
from features.mapping import MAPPINGS_DIR, SourceMapping, apply_mapping, load_mapping
from features.validate import validate_admissions
from los.errors import ConfigError, MissingColumnError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "public"
HES = FIXTURES / "artificial_hes_apc_sample" / "artificial_hes_apc_0102_truncated.csv"
NHSR = FIXTURES / "nhsr_stranded_synthetic" / "stranded_data.csv"
SPARCS = FIXTURES / "sparcs_2016_random1000" / "sparcs.csv"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return path


# --- the format -------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(MAPPINGS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_mappings_load(path: Path) -> None:
    mapping = load_mapping(path)
    assert mapping.name == path.stem and mapping.path == str(path)


def test_bare_name_finds_the_shipped_mapping() -> None:
    assert load_mapping("sparcs").name == "sparcs"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("name: x\nrenmae: {a: b}\n", "renmae: unknown key"),
        ("name: x\nderive:\n  - {to: a, form: b}\n", "derive.0.form: unknown key"),
        ("name: x\nspells: {key: [a], frist: [b]}\n", "spells.frist: unknown key"),
        ("rename: {a: b}\n", "name: Field required"),
        ("name: x\nderive:\n  - {to: a, row_number: P, add_days: d, from: x}\n", "one of"),
        ("name: x\nderive:\n  - {to: a, values: {x: y}}\n", "needs 'from'"),
        ("name: x\nderive:\n  - {to: a, from: b, row_number: P}\n", "'from' is not used"),
        ("name: x\nrename: {a: age, b: age}\n", "renamed to age"),
        ("name: x\nunmapped: {colour: not here}\n", "'colour' is not a contract column"),
        ("name: x\nrename: {a: ward}\nunmapped: {ward: not here}\n", "also produced"),
        ("name: x\nage_bands: {age: {'70+': old}}\n", "age_bands.age.70+"),
    ],
)
def test_bad_mapping_files_name_the_key(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(ConfigError, match=r"m\.yaml") as info:
        load_mapping(write(tmp_path, text))
    assert where in str(info.value)


def test_missing_and_unparseable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_mapping(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_mapping(write(tmp_path, "name: [unclosed\n"))


# --- the steps --------------------------------------------------------------------------


def test_rename_constants_codes_bands_dates(tmp_path: Path) -> None:
    mapping = load_mapping(
        write(
            tmp_path,
            """
name: t
rename: {ID: spell_id, AGE: age, ETH: ethnic_category, ADM: admission_datetime}
keep_unmapped: false
constants: {site: RYJ01, sex: 0}
age_bands: {age: {"70+": 75}}
codes: {ethnic_category: {0: A, X: "99"}}
date_formats: {admission_datetime: "%d/%m/%Y"}
""",
        )
    )
    raw = pd.DataFrame(
        {
            "ID": ["1", "2", "3"],
            "AGE": ["70+", "42", "old"],
            "ETH": ["0", "X", "Q"],
            "ADM": ["29/12/2020", "31/02/2021", None],
            "OTHER": ["dropped", "dropped", "dropped"],
        }
    )
    before = raw.copy()
    out, rows = apply_mapping(raw, mapping)
    pd.testing.assert_frame_equal(raw, before)
    assert rows.tolist() == [1, 2, 3]
    assert set(out.columns) == {
        "spell_id",
        "age",
        "ethnic_category",
        "admission_datetime",
        "site",
        "sex",
    }
    assert out["site"].tolist() == ["RYJ01"] * 3 and out["sex"].tolist() == ["0"] * 3
    assert out["age"].tolist() == ["75.0", "42", "old"]  # unlisted values pass through
    assert out["ethnic_category"].tolist() == ["A", "99", "Q"]
    # the impossible date stays as written, so validation quarantines it with its raw value
    assert out["admission_datetime"].tolist()[:2] == ["2020-12-29T00:00:00", "31/02/2021"]


def test_spells_collapse_first_and_last_episode(tmp_path: Path) -> None:
    mapping = SourceMapping.model_validate(
        {
            "name": "t",
            "spells": {
                "key": ["PID", "ADM"],
                "order_by": ["EPIORDER"],
                "last": ["DIS"],
                "id_to": "spell_id",
            },
            "rename": {"PID": "patient_id", "ADM": "admission_datetime", "DIS": "discharge"},
        }
    )
    raw = pd.DataFrame(
        {
            "PID": ["p1", "p2", "p1", "p1", "p2"],
            "ADM": ["2020-01-01", "2020-02-01", "2020-01-01", "2020-01-01", "2020-03-01"],
            "EPIORDER": ["10", "1", "2", "1", "1"],  # numeric order: 1 < 2 < 10
            "AGE": ["first-ep", "b", "middle", "first", "c"],
            "DIS": ["last", "x", "mid", "early", "y"],
        }
    )
    out, rows = apply_mapping(raw, mapping)
    assert out["spell_id"].tolist() == ["p1:2020-01-01", "p2:2020-02-01", "p2:2020-03-01"]
    assert out["AGE"].tolist() == ["first", "b", "c"]  # from EPIORDER 1
    assert out["discharge"].tolist() == ["last", "x", "y"]  # from EPIORDER 10
    assert rows.tolist() == [4, 2, 5]  # the first episode's source row


def test_derive_steps() -> None:
    mapping = SourceMapping.model_validate(
        {
            "name": "t",
            "derive": [
                {"to": "spell_id", "row_number": "S"},
                {
                    "to": "admission_datetime",
                    "date_sequence": {"start": "2016-12-30", "cycle_days": 3},
                },
                {"to": "discharge_datetime", "from": "admission_datetime", "add_days": "los"},
                {
                    "to": "ethnic_category",
                    "from": ["race", "eth"],
                    "values": {"White | No": "C", "Other | ?": None},
                },
                {"to": "copy", "from": "race"},
            ],
        }
    )
    raw = pd.DataFrame(
        {
            "los": ["1", "2", "0", "x"],
            "race": ["White", "Other", "Blue", "White"],
            "eth": ["No", "?", "No", None],
        }
    )
    out, _ = apply_mapping(raw, mapping)
    assert out["spell_id"].tolist() == ["S1", "S2", "S3", "S4"]
    assert out["admission_datetime"].dt.strftime("%Y-%m-%d").tolist() == [
        "2016-12-30",
        "2016-12-31",
        "2017-01-01",
        "2016-12-30",
    ]
    assert out["discharge_datetime"].tolist() == [
        "2016-12-31T00:00:00",
        "2017-01-02T00:00:00",
        "2017-01-01T00:00:00",
        "invalid days: x",
    ]
    assert out["ethnic_category"].isna().tolist() == [False, True, False, False]
    assert out["ethnic_category"][[0, 2, 3]].tolist() == ["C", "Blue | No", "White |"]
    assert out["copy"].tolist() == raw["race"].tolist()


def test_derive_from_absent_column_names_mapping() -> None:
    mapping = SourceMapping.model_validate(
        {"name": "t", "derive": [{"to": "sex", "from": "GENDER", "values": {"M": "1"}}]}
    )
    with pytest.raises(MissingColumnError, match=r"GENDER.*derive 'sex'.*mapping t"):
        apply_mapping(pd.DataFrame({"a": [1]}), mapping)


def test_rename_onto_existing_column_is_refused() -> None:
    mapping = SourceMapping.model_validate({"name": "t", "rename": {"AGE": "age"}})
    with pytest.raises(ConfigError, match="already in the source: age"):
        apply_mapping(pd.DataFrame({"AGE": ["1"], "age": ["2"]}), mapping)


def test_required_column_not_supplied_names_the_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\nrename: {age: age}\n")
    with pytest.raises(MissingColumnError, match=r"sex.*m\.yaml should supply it"):
        load_admissions(str(NHSR), mapping=path)


# --- the three public fixtures ----------------------------------------------------------


def test_hes_apc_fixture() -> None:
    loaded = load_admissions(str(HES), mapping="hes_apc")
    report = loaded.report
    assert (report.rows_in, report.rows_valid, report.rows_quarantined) == (2075, 2073, 2)
    assert report.by_reason == {  # ADMIMETH 99 (not known) is a valid code, kept as "other"
        "discharge_destination: not in code list": 1,  # DISDEST 89
        "admission_datetime: unparseable datetime": 1,  # 1801-01-01, HES invalid date
        "discharge_datetime: unparseable datetime": 1,
    }
    assert loaded.quarantine["row"].tolist() == [1605, 1942, 1942]
    frame = loaded.frame
    raw = pd.read_csv(HES, dtype=str)
    raw = raw.drop(index=loaded.quarantine["row"] - 1).reset_index(drop=True)  # no collapse here
    assert len(raw) == len(frame)
    assert frame["ethnic_category"].value_counts()["A"] == (raw["ETHNOS"].isin(["0", "A"])).sum()
    assert frame["ethnic_category"].isin(["0", "9", "X"]).sum() == 0
    infants = raw["STARTAGE"].str.startswith("700").sum()
    assert (frame["age"] == 0).sum() == infants + (raw["STARTAGE"] == "0").sum()
    assert frame["specialty"].isna().sum() == (raw["TRETSPEF"] == "&").sum()
    assert frame["discharge_datetime"].isna().sum() == raw["DISDATE"].isna().sum()
    first = frame.iloc[0]
    assert first["spell_id"] == "TESTWn4Rt4ww00zIOJ8rYBMf5fgC4tvI:RTA:2001-09-27"
    assert (first["site"], first["admission_method"], first["primary_diagnosis"]) == (
        "RGP75",
        "28",
        "F321",
    )


def test_hes_apc_mapping_collapses_episodes() -> None:
    raw = pd.read_csv(HES, dtype=str).head(3).reset_index(drop=True)
    raw.loc[:, ["PSEUDO_HESID", "PROCODE3", "ADMIDATE"]] = ["P1", "RXX", "2001-04-01"]
    raw.loc[:, "EPIORDER"] = ["2", "1", "3"]
    raw.loc[:, "DISDATE"] = [None, None, "2001-04-09"]
    raw.loc[:, "DISDEST"] = ["98", "98", "19"]
    out, rows = apply_mapping(raw, load_mapping("hes_apc"))
    assert len(out) == 1 and rows.tolist() == [2]
    assert out.loc[0, "spell_id"] == "P1:RXX:2001-04-01"
    assert out.loc[0, "admission_method"] == raw.loc[1, "ADMIMETH"]
    assert out.loc[0, "discharge_destination"] == "19"
    valid, _, _ = validate_admissions(out)
    assert valid.loc[0, "discharge_datetime"] == pd.Timestamp("2001-04-09")


def test_nhsr_stranded_fixture() -> None:
    loaded = load_admissions(str(NHSR), mapping="nhsr_stranded")
    frame, report = loaded.frame, loaded.report
    assert (report.rows_in, report.rows_valid, report.rows_quarantined) == (768, 768, 0)
    assert frame["spell_id"].iloc[[0, -1]].tolist() == ["NHSR-S1", "NHSR-S768"]
    assert frame["patient_id"].is_unique
    assert frame.loc[0, "admission_datetime"] == pd.Timestamp("2020-12-29")
    raw = pd.read_csv(NHSR, dtype=str)
    assert (frame["admission_source"] == "85").sum() == (raw["care.home.referral"] == "1").sum()
    assert (frame["specialty"] == "430").sum() == (raw["hcop"] == "1").sum()
    assert set(frame["ethnic_category"]) == {"99"} and set(frame["sex"]) == {"0"}
    assert frame["discharge_datetime"].isna().all()
    assert frame["frailty_index"].tolist() == raw["frailty_index"].tolist()


def test_sparcs_fixture() -> None:
    loaded = load_admissions(str(SPARCS), mapping="sparcs")
    frame, report = loaded.frame, loaded.report
    assert (report.rows_in, report.rows_valid, report.rows_quarantined) == (1000, 997, 3)
    assert report.by_reason == {"site: required value missing": 3}  # blank Facility Id
    assert frame["ethnic_category"].value_counts().to_dict() == {
        "C": 564,
        "S": 236,
        "P": 183,
        "G": 14,
    }
    assert set(frame["age"]) == {9.0, 24.0, 40.0, 60.0, 80.0}
    assert set(frame["sex"]) == {"1", "2"}
    assert set(frame["admission_method"]) == {"11", "21", "28", "82"}
    snf = frame["patient_disposition"] == "Skilled Nursing Home"
    assert set(frame.loc[snf, "discharge_destination"]) == {"85"}
    assert set(frame.loc[snf, "discharge_pathway"]) == {2.0}
    died = frame["patient_disposition"] == "Expired"
    assert set(frame.loc[died, "discharge_destination"]) == {"79"}
    assert frame.loc[died, "discharge_pathway"].isna().all()
    stay = (frame["discharge_datetime"] - frame["admission_datetime"]).dt.days
    assert np.array_equal(stay.to_numpy(), frame["length_of_stay"].astype(int).to_numpy())
    assert frame.loc[0, "spell_id"] == "2205426"


def test_fixtures_match_their_provenance_checksums() -> None:
    listed = {}
    for line in (FIXTURES / "PROVENANCE.md").read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[0]) == 64:
            listed[parts[1]] = parts[0]
    files = {p.relative_to(FIXTURES).as_posix(): p for p in FIXTURES.rglob("*.csv")}
    assert set(listed) == set(files)
    for name, path in files.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[name], name
