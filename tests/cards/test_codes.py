"""Code normalisation and the shape checks."""

from __future__ import annotations

import pytest

from service.cards.codes import (
    code_problem,
    icd10_prefixes,
    is_cpt_shaped,
    normalize_icd10,
    system_key,
    verhoeff_digit,
    verhoeff_valid,
)


@pytest.mark.parametrize("code", ["44054006", "38341003", "128613002", "428191000124101"])
def test_valid_snomed(code: str) -> None:
    assert verhoeff_valid(code)
    assert verhoeff_digit(code[:-1]) == code[-1]
    assert code_problem("snomed", code) is None


def test_snomed_bad_check_digit() -> None:
    assert "check digit" in (code_problem("snomed", "44054007") or "")


@pytest.mark.parametrize("code", ["4548-4", "72166-2", "2093-3", "8480-6"])
def test_valid_loinc(code: str) -> None:
    assert code_problem("loinc", code) is None


def test_loinc_bad_check_digit_and_shape() -> None:
    assert "check digit" in (code_problem("loinc", "4548-5") or "")
    assert "not a LOINC" in (code_problem("loinc", "4548") or "")


@pytest.mark.parametrize("code", ["99213", "0503F", "0042T", "0001U"])
def test_cpt_shaped(code: str) -> None:
    assert is_cpt_shaped(code)
    for key in ("snomed", "icd10", "loinc"):
        assert "CPT" in (code_problem(key, code) or "")


def test_rxnorm_five_digits_is_fine() -> None:
    assert code_problem("rxnorm", "36567") is None
    assert code_problem("rxnorm", "12ab") is not None


def test_icd10() -> None:
    assert normalize_icd10(" e11.65 ") == "E1165"
    assert code_problem("icd10", "E11") is None
    assert code_problem("icd10", "E11.65") is None
    assert code_problem("icd10", "11E") is not None
    assert icd10_prefixes("E1165") == ("E11", "E116", "E1165")


def test_system_keys() -> None:
    assert system_key("http://snomed.info/sct") == "snomed"
    assert system_key("http://hl7.org/fhir/sid/icd-10-cm") == "icd10"
    assert system_key("urn:other") == "urn:other"
