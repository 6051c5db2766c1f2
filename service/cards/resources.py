"""FHIR resources as the hook holds them: only the elements the facts read.

A large prefetch is mostly elements no criterion looks at (narrative, identifiers, references,
categories, meta). `msgspec` decodes a hook body straight into these structs and skips every
other element without building a Python object for it: half the cost of parsing the body into
dicts and freeing them again (measured: 0.72 -> 0.42 ms for a 250 KB body). An element's value
is kept as plain JSON (dicts, lists, strings), read by the defensive readers in
`resource_fields.py`, so a malformed element is skipped, never fatal.

`resource_from` builds the same structs from plain dicts (a fetched page, a draft order, a body
whose shape the typed decoder refused), skipping malformed entries as the typed path never
sees them; `resources_from_bundle` and `resources_from_prefetch` flatten either into the
resources the facts walk.
"""

from __future__ import annotations

from typing import Any

import msgspec

from service.cards.resource_fields import items, obj, text

MAX_BUNDLE_DEPTH = 3  # nested Bundles read (a transaction inside a collection...)


class Resource(msgspec.Struct, rename="camel", repr_omit_defaults=True):
    """One resource (or Bundle) with the elements any fact reads; absent elements are None.
    A Bundle's `entry` is decoded too, so the resources inside it are typed the same way."""

    resource_type: Any = None
    status: Any = None
    code: Any = None
    # Patient
    birth_date: Any = None
    gender: Any = None
    # Condition
    clinical_status: Any = None
    verification_status: Any = None
    abatement_date_time: Any = None
    abatement_age: Any = None
    abatement_period: Any = None
    abatement_range: Any = None
    abatement_string: Any = None
    abatement_boolean: Any = None
    # MedicationRequest / MedicationStatement
    medication_codeable_concept: Any = None
    medication_reference: Any = None
    contained: Any = None
    # Observation
    component: Any = None
    effective_date_time: Any = None
    effective_period: Any = None
    effective_instant: Any = None
    issued: Any = None
    value_quantity: Any = None
    value_codeable_concept: Any = None
    # Procedure
    performed_date_time: Any = None
    performed_period: Any = None
    # Bundle
    entry: list[Entry] | None = None
    link: Any = None

    @property
    def has_abatement(self) -> bool:
        return any(
            value is not None
            for value in (
                self.abatement_date_time,
                self.abatement_age,
                self.abatement_period,
                self.abatement_range,
                self.abatement_string,
                self.abatement_boolean,
            )
        )


class Entry(msgspec.Struct, repr_omit_defaults=True):
    resource: Resource | None = None


_PLAIN = frozenset(Resource.__struct_encode_fields__) - {"entry"}


def resource_from(value: object, _depth: int = 0) -> Resource | None:
    """The struct for a plain-dict resource (a Resource is returned as it is; anything but a
    JSON object is None). Bundle entries that are not objects are skipped, and Bundles nested
    deeper than `MAX_BUNDLE_DEPTH` keep no entries: `resources_from_bundle` stops there too."""
    if isinstance(value, Resource):
        return value
    if not isinstance(value, dict):
        return None
    resource = msgspec.convert({k: v for k, v in value.items() if k in _PLAIN}, Resource)
    entries = value.get("entry")
    if entries is not None and _depth <= MAX_BUNDLE_DEPTH:
        resource.entry = [
            Entry(resource_from(obj(entry).get("resource"), _depth + 1))
            for entry in items(entries)
            if isinstance(entry, dict)
        ]
    return resource


def is_operation_outcome(value: Resource | None) -> bool:
    return value is not None and value.resource_type == "OperationOutcome"


def resources_from_bundle(bundle: object, _depth: int = 0) -> list[Resource]:
    """The resources of a Bundle (transaction, searchset, collection...), nested Bundles
    flattened, from a `Resource` or a plain dict. A bare resource yields itself; anything
    without a resource type none."""
    value = resource_from(bundle)
    if value is None or not text(value.resource_type):
        return []
    if value.resource_type != "Bundle":
        return [value]
    found: list[Resource] = []
    for entry in value.entry or ():
        resource = entry.resource
        if resource is None:
            continue
        kind = resource.resource_type
        if kind == "Bundle" and _depth < MAX_BUNDLE_DEPTH:
            found.extend(resources_from_bundle(resource, _depth + 1))
        elif isinstance(kind, str) and kind and kind != "Bundle":  # deeper Bundles: not read
            found.append(resource)
    return found


def resources_from_prefetch(prefetch: object) -> list[Resource]:
    """Every resource in a CDS Hooks `prefetch` object (null and OperationOutcome skipped)."""
    found: list[Resource] = []
    for value in obj(prefetch).values():
        resource = resource_from(value)
        if resource is not None and resource.resource_type != "OperationOutcome":
            found.extend(resources_from_bundle(resource))
    return found
