"""Patient facts: what matching needs, pulled out of FHIR resources.

`facts_from_resources` walks the resources once and never validates whole FHIR models
(DESIGN.md: ~55x cheaper). Resources arrive as `Resource` structs (decoded from the hook body
with only the elements read here) or as plain dicts (converted). Malformed elements are
skipped, never fatal.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, NamedTuple

from service.cards.codes import ICD10, LOINC, RXNORM, SNOMED
from service.cards.resource_fields import (
    codes_of,
    codings,
    concept_display,
    fhir_date,
    items,
    number,
    obj,
    period_start,
    status_codes,
    text,
)
from service.cards.resources import Resource, resource_from
from service.cards.status_codes import (
    CURRENT_SMOKING,
    FORMER_SMOKING,
    OWN_LOINCS,
    PREGNANCY_LOINC,
    PREGNANT_ICD10,
    PREGNANT_SNOMED,
    SMOKING_LOINC,
    smoking_status,
)
from service.cards.terminology import Terminology, ingredients_from_display

_ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
_REFUTED = frozenset({"refuted", "entered-in-error"})
_VOID = frozenset({"entered-in-error", "cancelled", "not-done", "revoked"})
_MEDICATION_TYPES = frozenset({"MedicationRequest", "MedicationStatement"})
_ORDER_TYPES = frozenset({"MedicationRequest", "ServiceRequest"})
_CODED_BY_CODE = frozenset({"ServiceRequest", "AllergyIntolerance"})  # the substance in `code`
_ALLERGY_GONE = frozenset({"inactive", "resolved"})

CodeKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Condition:
    codes: tuple[CodeKey, ...]
    display: str


@dataclass(frozen=True, slots=True)
class Medication:
    """An active medication (or a draft order): RxNorm codes and ingredient names."""

    rxnorm: tuple[str, ...]
    display: str
    ingredients: frozenset[str]
    codes: tuple[CodeKey, ...] = ()


class LabValue(NamedTuple):
    """A NamedTuple, not a frozen dataclass: a large prefetch holds hundreds, and a frozen
    dataclass's __init__ sets each field through object.__setattr__ (3x slower)."""

    when: date
    value: float
    unit: str


@dataclass(frozen=True, slots=True)
class Procedure:
    codes: tuple[CodeKey, ...]
    display: str
    when: date | None


def _frozen_map(data: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(data)


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """Everything the matcher knows about one patient at one date. Labs and observation dates
    are newest first per LOINC code."""

    at: date
    age: int | None = None
    sex: str | None = None
    birth_date: date | None = None
    pregnant: bool = False
    smoking: str | None = None
    # the latest date a smoking-status observation recorded current smoking (a former
    # smoker quit after it)
    last_smoked: date | None = None
    conditions: tuple[Condition, ...] = ()
    medications: tuple[Medication, ...] = ()
    # resolved, inactive or in remission (never refuted): what `ever` criteria also count
    past_conditions: tuple[Condition, ...] = ()
    labs: Mapping[str, tuple[LabValue, ...]] = field(default_factory=lambda: _frozen_map({}))
    observed: Mapping[str, tuple[date, ...]] = field(default_factory=lambda: _frozen_map({}))
    procedures: tuple[Procedure, ...] = ()
    orders: tuple[Medication, ...] = ()
    # recorded allergies and intolerances (active or without a status, not refuted), each as
    # the substance it is to: codes, display and ingredients
    allergies: tuple[Medication, ...] = ()
    # Not a fact: what the call's view of these facts derived from them (`criteria.call_view`),
    # left for a later view of the same call. Never compared, copied by `replace` or shown.
    view_tables: object = field(default=None, init=False, repr=False, compare=False)

    @property
    def latest_labs(self) -> Mapping[str, LabValue]:
        """The latest numeric value per LOINC code."""
        return {code: values[0] for code, values in self.labs.items() if values}


def age_at(birth: date, at: date) -> int | None:
    """Whole years between `birth` and `at` (None when born after `at`)."""
    years = at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))
    return years if years >= 0 else None


def _condition_is_active(resource: Resource) -> bool | None:
    """True when active, False when resolved, inactive or in remission, None when refuted or
    entered in error (never counted)."""
    if status_codes(resource.verification_status) & _REFUTED:
        return None
    clinical = status_codes(resource.clinical_status)
    if clinical:
        return bool(clinical & _ACTIVE_CLINICAL)
    return not resource.has_abatement


def _condition(resource: Resource) -> Condition | None:
    codes = tuple((key, code) for key, code, _ in codings(resource.code))
    if not codes:
        return None
    return Condition(codes=codes, display=concept_display(resource.code))


def _medication_concept(resource: Resource) -> object:
    concept = resource.medication_codeable_concept
    if concept is not None:
        return concept
    reference = text(obj(resource.medication_reference).get("reference"))
    if reference.startswith("#"):
        for contained in items(resource.contained):
            if obj(contained).get("id") == reference[1:]:
                return obj(contained).get("code")
    return None


def medication_of(resource: Resource, terminology: Terminology | None) -> Medication:
    """A medication (or service order) from a MedicationRequest/Statement/ServiceRequest."""
    if resource.resource_type in _CODED_BY_CODE:
        concept: object = resource.code
    else:
        concept = _medication_concept(resource)
    codes = tuple((key, code) for key, code, _ in codings(concept))
    rxnorm = tuple(code for key, code in codes if key == RXNORM)
    display = concept_display(concept)
    if terminology is not None:
        ingredients = terminology.ingredients_for(rxnorm, display)
    else:
        ingredients = ingredients_from_display(display) if rxnorm or display else frozenset()
    return Medication(rxnorm=rxnorm, display=display, ingredients=ingredients, codes=codes)


class _Collector:
    """Accumulates facts while walking resources once."""

    def __init__(
        self, at: date, terminology: Terminology | None, observations: Container[str] | None
    ) -> None:
        self.at = at
        self.terminology = terminology
        self.observations = observations
        self.patient = Resource()
        self.conditions: list[Condition] = []
        self.past_conditions: list[Condition] = []
        self.medications: list[Medication] = []
        self.labs: dict[str, list[LabValue]] = {}
        self.observed: dict[str, list[date]] = {}
        self.coded_values: dict[str, list[tuple[date, frozenset[str], str]]] = {}
        self.procedures: list[Procedure] = []
        self.allergies: list[Medication] = []

    def add(self, resource: Resource) -> None:
        kind = text(resource.resource_type)
        if kind == "Observation":  # first: most of a large prefetch
            self._observation(resource)
        elif kind == "Patient":
            self.patient = resource
        elif kind == "Condition":
            active = _condition_is_active(resource)
            if active is not None and (found := _condition(resource)):
                (self.conditions if active else self.past_conditions).append(found)
        elif kind in _MEDICATION_TYPES:
            if resource.status == "active":
                self.medications.append(medication_of(resource, self.terminology))
        elif kind == "Procedure":
            self._procedure(resource)
        elif kind == "AllergyIntolerance":
            gone = status_codes(resource.clinical_status) & _ALLERGY_GONE
            if not gone and not status_codes(resource.verification_status) & _REFUTED:
                self.allergies.append(medication_of(resource, self.terminology))

    def _observation(self, resource: Resource) -> None:
        if text(resource.status) in _VOID:
            return
        loincs = self._loincs(resource.code)
        listed = resource.component
        components = (
            [
                (part, codes)
                for part in map(obj, items(listed))
                if (codes := self._loincs(part.get("code")))
            ]
            if listed
            else ()
        )
        if not loincs and not components:  # nothing wanted: not even its date is parsed
            return
        when = (
            fhir_date(resource.effective_date_time)
            or period_start(resource.effective_period)
            or fhir_date(resource.effective_instant)
            or fhir_date(resource.issued)
        )
        if when is None:
            return
        if loincs:
            self._observation_value(
                resource.value_quantity, resource.value_codeable_concept, loincs, when
            )
        for component, codes in components:
            self._observation_value(
                component.get("valueQuantity"), component.get("valueCodeableConcept"), codes, when
            )

    def _loincs(self, code: object) -> list[str]:
        """An observation's (or component's) LOINC codes that are wanted."""
        codes = codes_of(code, LOINC)
        wanted = self.observations
        if wanted is None or not codes:
            return codes
        return [code for code in codes if code in wanted or code in OWN_LOINCS]

    def _observation_value(
        self, value_quantity: object, concept: object, loincs: list[str], when: date
    ) -> None:
        quantity = obj(value_quantity)
        value = number(quantity.get("value"))
        for code in loincs:
            self.observed.setdefault(code, []).append(when)
            if value is not None:
                unit = text(quantity.get("unit")) or text(quantity.get("code"))
                self.labs.setdefault(code, []).append(LabValue(when, value, unit))
            if concept is not None:
                snomed = frozenset(codes_of(concept, SNOMED))
                entry = (when, snomed, concept_display(concept).lower())
                self.coded_values.setdefault(code, []).append(entry)

    def _procedure(self, resource: Resource) -> None:
        if text(resource.status) in _VOID:
            return
        codes = tuple((key, code) for key, code, _ in codings(resource.code))
        if codes:
            when = fhir_date(resource.performed_date_time) or period_start(
                resource.performed_period
            )
            self.procedures.append(Procedure(codes, concept_display(resource.code), when))

    def _latest_coded(self, loinc: str) -> tuple[frozenset[str], str] | None:
        values = [entry for entry in self.coded_values.get(loinc, ()) if entry[0] <= self.at]
        if not values:
            return None
        _, codes, display = max(values, key=lambda entry: entry[0])
        return codes, display

    def smoking(self) -> str | None:
        """The latest smoking-status observation, overridden by an active tobacco-use
        diagnosis (records disagree; the problem list is the clinician's own statement)."""
        observed = self._observed_smoking()
        if observed == "current" or self._has_condition(CURRENT_SMOKING):
            return "current"
        if observed is None and self._has_condition(FORMER_SMOKING):
            return "former"
        return observed

    def _has_condition(self, codes: tuple[frozenset[str], tuple[str, ...]]) -> bool:
        snomed, icd10_prefixes = codes
        return any(
            (key == SNOMED and code in snomed) or (key == ICD10 and code.startswith(icd10_prefixes))
            for condition in self.conditions
            for key, code in condition.codes
        )

    def _observed_smoking(self) -> str | None:
        latest = self._latest_coded(SMOKING_LOINC)
        return None if latest is None else smoking_status(*latest)

    def last_smoked(self) -> date | None:
        """The latest smoking-status observation (up to `at`) that says current smoking."""
        dates = [
            when
            for when, codes, display in self.coded_values.get(SMOKING_LOINC, ())
            if when <= self.at and smoking_status(codes, display) == "current"
        ]
        return max(dates, default=None)

    def pregnant(self) -> bool:
        latest = self._latest_coded(PREGNANCY_LOINC)
        if latest is not None and "77386006" in latest[0]:
            return True
        return any(
            (key == SNOMED and code in PREGNANT_SNOMED)
            or (key == ICD10 and code.startswith(PREGNANT_ICD10))
            for condition in self.conditions
            for key, code in condition.codes
        )

    def facts(self, orders: tuple[Medication, ...]) -> PatientFacts:
        birth = fhir_date(self.patient.birth_date)
        gender = self.patient.gender
        labs = {
            code: tuple(sorted(values, key=lambda v: v.when, reverse=True))
            for code, values in self.labs.items()
        }
        observed = {
            code: tuple(sorted(set(dates), reverse=True)) for code, dates in self.observed.items()
        }
        return PatientFacts(
            at=self.at,
            age=age_at(birth, self.at) if birth else None,
            birth_date=birth,
            sex=gender if gender in ("female", "male") else None,
            pregnant=self.pregnant(),
            smoking=self.smoking(),
            last_smoked=self.last_smoked(),
            conditions=tuple(self.conditions),
            medications=tuple(self.medications),
            past_conditions=tuple(self.past_conditions),
            labs=MappingProxyType(labs),
            observed=MappingProxyType(observed),
            procedures=tuple(self.procedures),
            orders=orders,
            allergies=tuple(self.allergies),
        )


def facts_from_resources(
    resources: Iterable[object],
    *,
    at: date,
    draft_orders: Iterable[object] = (),
    terminology: Terminology | None = None,
    observations: Container[str] | None = None,
) -> PatientFacts:
    """Patient facts at `at` from resources, `Resource` structs or plain dicts (Patient,
    Condition, MedicationRequest, MedicationStatement, Observation, Procedure,
    AllergyIntolerance; others ignored)
    and the draft orders of an order hook (MedicationRequest, ServiceRequest). With
    `terminology`, medication ingredients come from its RxNorm table; without, from display
    names (matching resolves RxNorm codes against the library's table again). With
    `observations` (LOINC codes, as `ContentLibrary.observation_codes`), only those
    observations are read, and smoking status and pregnancy, which the facts themselves use:
    most of a long lab history is codes no criterion looks up."""
    collector = _Collector(at, terminology, observations)
    for value in resources:
        if (resource := resource_from(value)) is not None:
            collector.add(resource)
    orders = tuple(
        medication_of(resource, terminology)
        for value in draft_orders
        if (resource := resource_from(value)) is not None
        and text(resource.resource_type) in _ORDER_TYPES
    )
    return collector.facts(orders)
