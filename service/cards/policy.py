"""A library's named facts (`facts.yaml`) and safety policy (`policy.yaml`): parsing,
compiling, and the checks of `bedside content check`. Pure: the loader passes the texts in.

A policy that cannot be honoured is an error, never a silent gap: an unknown fact, a cycle,
an alternative that lists no code a patient could have, an item without a kind, an item of an
unknown kind, or an item asking for a fact its own kind excludes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import ValidationError

from service.cards.checks import ParsedItem, check_codes, check_references
from service.cards.compiler import compile_applies
from service.cards.criteria import Applies, CompiledFact
from service.cards.fact_criteria import CompiledPolicy, Facts
from service.cards.frontmatter import LineMap, load_yaml
from service.cards.issues import Issue
from service.cards.model import Policy
from service.cards.terminology import Terminology

FACTS_FILE = "facts.yaml"
POLICY_FILE = "policy.yaml"


@dataclass(frozen=True, slots=True)
class PolicySource:
    """Where the policy came from, to place issues at `file:line`."""

    facts_file: str
    facts_lines: LineMap
    policy_file: str
    policy_lines: LineMap


def parse_policy(
    facts_text: str | None, policy_text: str | None, source: tuple[str, str]
) -> tuple[Policy, PolicySource, list[Issue]]:
    """Parse `facts.yaml` (`facts: {name: {title, any: [applies...]}}`) and `policy.yaml`
    (`kinds: {name: {title, excluded_by: [facts]}}`); either may be absent (None)."""
    facts_file, policy_file = source
    where = PolicySource(
        facts_file, LineMap(facts_text or "", 1), policy_file, LineMap(policy_text or "", 1)
    )
    issues: list[Issue] = []
    facts = _section(facts_text, "facts", facts_file, issues)
    kinds = _section(policy_text, "kinds", policy_file, issues)
    try:
        return Policy.model_validate({"facts": facts, "kinds": kinds}), where, issues
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            file, lines = _place(where, str(error["loc"][0]))
            field = ".".join(str(part) for part in error["loc"])
            issues.append(Issue(file, lines.line_of(error["loc"]), f"{field}: {error['msg']}"))
        return Policy(), where, issues


def _section(text: str | None, key: str, file: str, issues: list[Issue]) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        issues.append(Issue(file, 1, f"invalid YAML: {exc}"))
        return {}
    section = data.get(key) if isinstance(data, dict) else None
    if not isinstance(section, dict):
        issues.append(Issue(file, 1, f"expected a top-level `{key}:` mapping"))
        return {}
    return section


def _place(where: PolicySource, section: str) -> tuple[str, LineMap]:
    if section == "facts":
        return where.facts_file, where.facts_lines
    return where.policy_file, where.policy_lines


def check_policy(policy: Policy, where: PolicySource, terminology: Terminology) -> list[Issue]:
    """Every problem of the facts and kinds themselves."""
    issues: list[Issue] = []
    file, lines = where.facts_file, where.facts_lines
    compiled = compile_policy(policy, terminology).facts
    for name, fact in policy.facts.items():
        for position, alternative in enumerate(fact.any):
            at = ("facts", name, "any", position)
            issues.extend(check_codes(alternative, file, lines.line_of, at))
            issues.extend(check_references(alternative, (file, lines.line_of), terminology, at))
            issues.extend(_check_fact_names(alternative, policy, (file, lines.line_of(at))))
            if compile_applies(alternative, terminology, compiled).trigger == []:
                issues.append(
                    Issue(
                        file,
                        lines.line_of(at),
                        f"fact {name!r}: alternative {position} lists no code a patient could "
                        "have (an empty or unknown value set, or one without codes of that "
                        "system): the fact cannot be honoured",
                    )
                )
        if _in_cycle(name, policy):
            issues.append(Issue(file, lines.line_of(("facts", name)), f"fact {name!r} is cyclic"))
    for name, kind in policy.kinds.items():
        for fact_name in kind.excluded_by:
            if fact_name not in policy.facts:
                issues.append(
                    Issue(
                        where.policy_file,
                        where.policy_lines.line_of(("kinds", name, "excluded_by")),
                        f"kind {name!r}: unknown fact {fact_name!r}: the exclusion cannot be "
                        "honoured",
                    )
                )
    return issues


def _fact_names(applies: Applies) -> tuple[str, ...]:
    block = Facts.value_of(applies)
    return () if block is None else block.names


def compile_policy(policy: Policy, terminology: Terminology) -> CompiledPolicy:
    """Compile every named fact once (in dependency order; a fact in a cycle, or naming an
    unknown fact, never holds where it is named: `check_policy` reports both) and each
    kind's excluding facts."""
    compiled: dict[str, CompiledFact] = {}
    visiting: set[str] = set()

    def fact(name: str) -> None:
        if name in compiled or name in visiting or name not in policy.facts:
            return
        visiting.add(name)
        for alternative in policy.facts[name].any:
            for needed in _fact_names(alternative):
                fact(needed)
        visiting.discard(name)
        alternatives = [compile_applies(a, terminology, compiled) for a in policy.facts[name].any]
        usable = [a for a in alternatives if a.trigger is None or a.trigger]  # [] never holds
        triggers = [a.trigger for a in usable]
        trigger = (
            None
            if any(keys is None for keys in triggers)
            else tuple(dict.fromkeys(key for keys in triggers for key in keys or ()))
        )
        compiled[name] = CompiledFact(name, tuple(tuple(a.criteria) for a in usable), trigger)

    for name in policy.facts:
        fact(name)
    kinds = {
        name: tuple(
            compiled.get(known) or CompiledFact.unknown(known) for known in kind.excluded_by
        )
        for name, kind in policy.kinds.items()
    }
    return CompiledPolicy(MappingProxyType(compiled), MappingProxyType(kinds))


def _check_fact_names(applies: Applies, policy: Policy, where: tuple[str, int]) -> Iterator[Issue]:
    for name in _fact_names(applies):
        if name not in policy.facts:
            yield Issue(*where, f"unknown fact {name!r}")


def _in_cycle(start: str, policy: Policy) -> bool:
    seen: set[str] = set()
    stack = [name for alt in policy.facts[start].any for name in _fact_names(alt)]
    while stack:
        name = stack.pop()
        if name == start:
            return True
        if name in seen or name not in policy.facts:
            continue
        seen.add(name)
        stack.extend(n for alt in policy.facts[name].any for n in _fact_names(alt))
    return False


def check_item_policy(parsed: Sequence[ParsedItem], policy: Policy) -> list[Issue]:
    """Each item against the policy: its kinds (required where the library has a policy,
    and known), the facts it and its practice measure name, and no fact that its own kinds
    exclude (in its criteria, or in its measure's opportunity)."""
    issues: list[Issue] = []
    for entry in parsed:
        item = entry.item
        if policy.present and not item.kinds:
            kinds = ", ".join(sorted(policy.kinds))
            issues.append(
                Issue(entry.file, 1, f"kinds: missing; every item names its kinds ({kinds})")
            )
        for kind in item.kinds:
            if kind not in policy.kinds:
                issues.append(
                    Issue(entry.file, entry.line_of(("kinds",)), f"kinds: unknown kind {kind!r}")
                )
        issues.extend(
            _check_fact_names(item.applies, policy, (entry.file, entry.line_of(("applies",))))
        )
        issues.extend(_self_excluded(entry, policy, item.applies, ("applies",)))
        issues.extend(_measure_policy(entry, policy))
    return issues


def _measure_policy(entry: ParsedItem, policy: Policy) -> Iterator[Issue]:
    measure = entry.item.measure
    if measure is None:
        return
    blocks = (
        ("opportunity", measure.opportunity),
        ("concordant", measure.concordant),
        ("discordant", measure.discordant),
    )
    for key, block in blocks:
        if block is not None:
            where = (entry.file, entry.line_of(("measure", key)))
            yield from _check_fact_names(block, policy, where)
    yield from _self_excluded(entry, policy, measure.opportunity, ("measure", "opportunity"))


def _self_excluded(
    entry: ParsedItem, policy: Policy, applies: Applies, at: tuple[str, ...]
) -> Iterator[Issue]:
    block = Facts.value_of(applies)
    if block is None:
        return
    field = ".".join(at)
    never = "the item could never show" if at == ("applies",) else "no call is ever an opportunity"
    for kind in entry.item.kinds:
        known = policy.kinds.get(kind)
        excluded = set(known.excluded_by if known else ())
        # every fact of all_of must hold; any_of is impossible only when all of it is excluded
        required = set(block.all_of) | (
            set(block.any_of) if set(block.any_of) <= excluded else set()
        )
        for name in sorted(required & excluded):
            yield Issue(
                entry.file,
                entry.line_of((*at, "facts")),
                f"{field}.facts names {name!r}, which the policy for {kind!r} items excludes: "
                f"{never}",
            )
