"""FHIR validation of the files a person hands the command line (`bedside match`): every
problem with its path (`Bundle.entry[2].resource(Condition).code: expected a CodeableConcept
object, not a string`), so that a malformed patient is refused instead of matching nothing.

The hook path never validates: it reads only the elements the facts use and skips what is
malformed (`resources.py`), fast and lenient. This module runs off that path only, and imports
fhir.resources (R4B models: the same as R4 for every resource Bedside reads) when it runs.

Beyond the models' types and formats, the codes of required bindings that Bedside reads
(`gender`, `status`, `intent`) are checked, which fhir.resources leaves to a terminology
server. A required element that is absent is an error when Bedside reads it (an Observation
without `code`), and only a warning when it never does (a Condition without `subject`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from service.cards.resources import Resource

Loc = tuple[str | int, ...]
MAX_DEPTH = 5  # nested Bundles and contained resources walked

# Required bindings of the coded elements Bedside reads (FHIR R4 value sets).
_MEDICATION_REQUEST_INTENT = (
    "proposal plan order original-order reflex-order filler-order instance-order option"
)
REQUIRED_CODES: dict[str, dict[str, tuple[str, ...]]] = {
    kind: {element: tuple(codes.split()) for element, codes in elements.items()}
    for kind, elements in {
        "Patient": {"gender": "male female other unknown"},
        "Observation": {
            "status": "registered preliminary final amended corrected cancelled "
            "entered-in-error unknown"
        },
        "MedicationRequest": {
            "status": "active on-hold cancelled completed entered-in-error stopped draft unknown",
            "intent": _MEDICATION_REQUEST_INTENT,
        },
        "MedicationStatement": {
            "status": "active completed entered-in-error intended stopped on-hold unknown not-taken"
        },
        "Immunization": {"status": "completed entered-in-error not-done"},
        "Procedure": {
            "status": "preparation in-progress not-done on-hold stopped completed "
            "entered-in-error unknown"
        },
        "ServiceRequest": {
            "status": "draft active on-hold revoked completed entered-in-error unknown",
            "intent": "proposal plan directive order original-order reflex-order filler-order "
            "instance-order option",
        },
        "Bundle": {
            "type": "document message transaction transaction-response batch batch-response "
            "history searchset collection"
        },
    }.items()
}
_READ = frozenset(Resource.__struct_encode_fields__)  # the elements some fact reads
_FORMAT = re.compile(r"(\w+) value string does not match spec regex")
_INSTANCE = re.compile(r"instance of (\w+)")


@dataclass(frozen=True, slots=True)
class FhirProblem:
    """One problem: where (`Patient.birthDate`) and what; `warning` when Bedside does not
    depend on it (a required element it never reads is absent)."""

    path: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def fhir_problems(body: object) -> list[FhirProblem]:
    """The problems of a FHIR resource or Bundle, or of the resources of a CDS Hooks request
    (`context.draftOrders` and each `prefetch` value); errors first, then warnings."""
    if not isinstance(body, dict):
        return [FhirProblem("", "expected a FHIR resource, Bundle or CDS Hooks request object")]
    if "hook" in body and "resourceType" not in body:
        context, prefetch = body.get("context"), body.get("prefetch")
        orders = context.get("draftOrders") if isinstance(context, dict) else None
        roots = [("context.draftOrders", orders)]
        if isinstance(prefetch, dict):
            roots += [(f"prefetch.{key}", value) for key, value in prefetch.items()]
        found = [p for label, value in roots if value is not None for p in _problems(label, value)]
    else:
        found = _problems("", body)
    return sorted(found, key=lambda problem: problem.warning)


def _problems(label: str, value: object) -> list[FhirProblem]:
    if not isinstance(value, dict):
        return [FhirProblem(label, "expected a FHIR resource (a JSON object)")]
    located = [found for loc, depth in _resources(value) for found in _checked(value, loc, depth)]
    return [
        FhirProblem(render_path(label, value, loc), message, warning)
        for loc, message, warning in sorted(located, key=lambda found: _sort_key(found[0]))
    ]


def _resources(value: dict[str, Any], loc: Loc = (), depth: int = 0) -> Iterator[tuple[Loc, int]]:
    """Where the resource and every resource inside it (Bundle entries, contained resources)
    are, nested up to MAX_DEPTH, with their depth."""
    yield loc, depth
    if depth >= MAX_DEPTH:
        return
    for key, index, inner in _children(value):
        step = (key, index, "resource") if key == "entry" else (key, index)
        yield from _resources(inner, (*loc, *step), depth + 1)


def _children(value: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """The resources directly inside one: its Bundle entries' and its contained ones."""
    entries = value.get("entry") if value.get("resourceType") == "Bundle" else None
    for index, entry in enumerate(entries if isinstance(entries, list) else ()):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            yield "entry", index, resource
    contained = value.get("contained")
    for index, resource in enumerate(contained if isinstance(contained, list) else ()):
        if isinstance(resource, dict):
            yield "contained", index, resource


def _checked(root: dict[str, Any], loc: Loc, depth: int) -> list[tuple[Loc, str, bool]]:
    """The problems of the resource at `loc`, each resource inside it left to its own turn."""
    from fhir.resources.R4B import get_fhir_model_class

    resource = _at(root, loc)
    kind = _kind(resource)
    if kind is None:
        return [(loc, "no resourceType: not a FHIR resource", False)]
    try:
        model = get_fhir_model_class(kind)
    except (KeyError, ValueError):
        return [((*loc, "resourceType"), "not a FHIR R4 resource type", False)]
    found = _code_problems(resource)
    shallow = _without_children(resource) if depth < MAX_DEPTH else resource
    found += _model_problems(model, shallow)
    return [((*loc, *where), message, warning) for where, message, warning in found]


def _without_children(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource without the resources `_children` yields (validated on their own turn),
    keeping the entries' other elements (fullUrl, request...) and every list index."""
    shallow = dict(resource)
    inner = {(key, index) for key, index, _ in _children(resource)}
    if any(key == "entry" for key, _ in inner):
        shallow["entry"] = [
            {k: v for k, v in entry.items() if k != "resource"} if ("entry", i) in inner else entry
            for i, entry in enumerate(resource["entry"])
        ]
    if any(key == "contained" for key, _ in inner):
        # A contained resource stands in for itself as the smallest valid one.
        shallow["contained"] = [
            {"resourceType": "Basic", "code": {}} if ("contained", i) in inner else item
            for i, item in enumerate(resource["contained"])
        ]
    return shallow


def _at(value: Any, loc: Loc) -> Any:
    for part in loc:
        value = value[part]
    return value


def _code_problems(resource: dict[str, Any]) -> list[tuple[Loc, str, bool]]:
    found: list[tuple[Loc, str, bool]] = []
    for element, codes in REQUIRED_CODES.get(_kind(resource) or "", {}).items():
        code = resource.get(element)
        if isinstance(code, str) and code not in codes:
            found.append(((element,), f"{code!r} is not one of {', '.join(codes)}", False))
    return found


def _model_problems(model: Any, resource: dict[str, Any]) -> list[tuple[Loc, str, bool]]:
    from pydantic import ValidationError

    try:
        model.model_validate(resource)
    except ValidationError as exc:
        return [_described(error) for error in exc.errors()]
    except Exception as exc:  # the models' own bugs: say so rather than crash
        return [((), f"cannot be validated ({type(exc).__name__})", False)]
    return []


def _described(error: Any) -> tuple[Loc, str, bool]:
    """A pydantic error as (where, what, warning), in words, never echoing the value."""
    loc: Loc = tuple(part for part in error["loc"] if isinstance(part, str | int))
    kind, message = str(error["type"]), str(error["msg"])
    if kind == "missing":
        if loc and loc[-1] in _READ:
            return loc, "required element missing", False
        return loc, "required element missing (not read by Bedside)", True
    if kind == "extra_forbidden":
        return loc, "not an element of FHIR R4", False
    return loc, _in_words(kind, message), False


def _in_words(kind: str, message: str) -> str:
    if found := _FORMAT.search(message):
        name = found.group(1)[0].lower() + found.group(1)[1:]
        return f"not {'an' if name[0] in 'aeiou' else 'a'} {name}"
    if kind.startswith("date"):
        return "not a date"
    if kind == "json_invalid":
        return "expected an object, not a string"
    if found := _INSTANCE.search(message):
        return f"expected {'an' if found.group(1)[0] in 'AEIOU' else 'a'} {found.group(1)} object"
    words = {
        "list_type": "expected a list",
        "string_type": "expected a string",
        "bool_type": "expected true or false",
        "bool_parsing": "expected true or false",
    }
    return words.get(kind, message.removeprefix("Value error, "))


def render_path(label: str, value: object, loc: Loc) -> str:
    """`Bundle.entry[2].resource(Condition).code`: each step, and the type of each resource
    stepped into; `label` names where the value sits (a prefetch key), else its type."""
    node = value
    path = label or _kind(node) or ""
    if label and _kind(node):
        path += f"({_kind(node)})"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
        try:
            node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            node = None
        if part != "resourceType" and _kind(node):
            path += f"({_kind(node)})"
    return path


def _kind(value: object) -> str | None:
    kind = value.get("resourceType") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) and kind else None


def _sort_key(loc: Loc) -> tuple[tuple[int, int, str], ...]:
    return tuple((1, 0, part) if isinstance(part, str) else (0, part, "") for part in loc)
