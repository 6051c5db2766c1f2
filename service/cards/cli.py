"""`bedside content check|stats|synth` and `bedside match` (`--explain`, `--measures`): the
content author's tools."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from service.cards.hook_names import HOOKS

if TYPE_CHECKING:
    from service.cards.library import ContentLibrary
    from service.cards.resources import Resource

# The handlers import what they use: `register` runs for every `bedside` command (`serve`
# too, whose parent process only migrates and starts the workers), and the content model,
# loader and matcher cost ~0.15 s to import.


def _check(args: argparse.Namespace) -> int:
    from service.cards.library import BUNDLED_DIR
    from service.cards.loader import read_library

    loaded = read_library(args.dir or BUNDLED_DIR, today=args.today or date.today())
    for issue in loaded.issues:
        print(issue)
    errors, warnings = len(loaded.errors), len(loaded.warnings)
    print(f"{len(loaded.items)} valid items: {errors} errors, {warnings} warnings")
    if args.strict and warnings:
        print("--strict: warnings fail the check")
        return 1
    return 1 if errors else 0


def _sources(args: argparse.Namespace) -> int:
    from service.cards.library import BUNDLED_DIR
    from service.cards.loader import read_library
    from service.cards.sources import STALE, cited_families

    loaded = read_library(args.dir or BUNDLED_DIR, today=args.today or date.today())
    if loaded.registry is None:
        print("this library has no source registry (sources.yaml)", file=sys.stderr)
        return 1
    citing = cited_families(loaded.items)
    stale = {issue.file for issue in loaded.warnings if issue.tag == STALE}
    for key, family in sorted(loaded.registry.registry.families.items()):
        items = citing.get(key, ())
        print(
            f"{key}: {family.title}, edition {family.edition} ({family.published}, "
            f"{family.cadence}; checked {family.checked}): {len(items)} items"
        )
    print(f"{len(loaded.registry.registry.families)} families; {len(stale)} items need review")
    return 0


def _stats(args: argparse.Namespace) -> int:
    from service.cards.issues import ContentError
    from service.cards.library import load_library

    started = time.perf_counter()
    try:
        library = load_library(args.dir, today=date.today())
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 1
    elapsed = (time.perf_counter() - started) * 1000
    compiled = library.compiled_items
    print(f"items: {len(library)} (loaded and indexed in {elapsed:.0f} ms)")
    for label, counter in (
        ("type", Counter(item.type for item in library)),
        ("hook", Counter(hook for item in library for hook in item.hooks)),
        ("indicator", Counter(item.indicator for item in library)),
        ("trigger", Counter("code" if c.trigger else "demographic" for c in compiled)),
    ):
        print(f"{label}: " + ", ".join(f"{k} {v}" for k, v in sorted(counter.items())))
    terminology = library.terminology
    print(
        f"terminology: {len(terminology.rxnorm)} RxNorm codes, {len(terminology.classes)} "
        f"drug classes, {len(terminology.valuesets)} value sets"
    )
    print(f"warnings: {len(library.warnings)}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from service.cards.synth import synthetic_library

    out: Path = args.out
    for relative, text in synthetic_library(args.count, seed=args.seed).items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    print(f"wrote {args.count} synthetic items to {out}")
    return 0


def _read_input(body: object) -> tuple[list[Resource], list[Resource], str | None]:
    """(resources, draft orders, hook) from a FHIR Bundle or a CDS Hooks request body."""
    from service.cards.resources import resources_from_bundle
    from service.cards.resources import resources_from_prefetch as _prefetch_resources

    if isinstance(body, dict) and "hook" in body and "resourceType" not in body:
        context = body["context"] if isinstance(body.get("context"), dict) else {}
        orders = resources_from_bundle(context.get("draftOrders"))
        hook = body.get("hook") if isinstance(body.get("hook"), str) else None
        return _prefetch_resources(body.get("prefetch")), orders, hook
    return resources_from_bundle(body), [], None


MAX_PROBLEMS_SHOWN = 50


def _valid_fhir(path: Path, body: object) -> bool:
    """Validate a file a person handed us as FHIR (the hook path never does: it skips what is
    malformed) and print every problem with its path; False on any error."""
    from service.cards.fhir_validation import fhir_problems

    problems = fhir_problems(body)
    errors = [problem for problem in problems if not problem.warning]
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        print(f"{'warning: ' if problem.warning else ''}{problem}", file=sys.stderr)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        print(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more", file=sys.stderr)
    if errors:
        print(f"{path}: {len(errors)} FHIR errors: nothing matched", file=sys.stderr)
    return not errors


def _print_matches(
    library: ContentLibrary, args: argparse.Namespace, facts: Any, hook: str, at: date
) -> None:
    from service.cards.matching import match

    found = match(library, facts, hook=hook, at=at)
    if args.json:
        rows = [
            {
                "id": m.item.id,
                "title": m.item.title,
                "type": m.item.type,
                "reasons": list(m.reasons),
            }
            for m in found
        ]
        print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    for entry in found:
        print(f"{entry.item.id}: {entry.item.title}")
        for reason in entry.reasons:
            print(f"  - {reason}")
    print(f"{len(found)} applicable items ({hook}, at {at})")


def _print_explanation(
    library: ContentLibrary, args: argparse.Namespace, facts: Any, hook: str, at: date
) -> None:
    from service.cards.matching import explain

    result = explain(library, facts, args.explain, hook=hook, at=at)
    if args.json:
        document = {
            "id": result.item_id,
            "applies": result.applies,
            "reasons_for": list(result.reasons_for),
            "reasons_against": list(result.reasons_against),
        }
        print(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return
    print(f"{result.item_id}: {'applies' if result.applies else 'does not apply'}")
    for reason in result.reasons_for:
        print(f"  + {reason}")
    for reason in result.reasons_against:
        print(f"  - {reason}")


def _print_practice(
    library: ContentLibrary, args: argparse.Namespace, facts: Any, hook: str, at: date
) -> None:
    from service.cards.measures import explain_practice

    found = explain_practice(library, facts, hook=hook, at=at)
    if args.json:
        rows = [
            {
                "id": row.item_id,
                "title": row.title,
                "opportunity": row.opportunity,
                "concordant": row.concordant,
                "reasons": list(row.reasons),
            }
            for row in found
        ]
        print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    for row in found:
        verdict = "not an opportunity"
        if row.opportunity:
            verdict = "opportunity, " + ("concordant" if row.concordant else "not concordant")
        print(f"{row.item_id}: {verdict} ({row.title})")
        for reason in row.reasons:
            print(f"  - {reason}")
    counted = sum(row.opportunity for row in found)
    print(f"{counted} of {len(found)} practice measures count this call ({hook}, at {at})")


def _match(args: argparse.Namespace) -> int:
    from service.cards.facts import facts_from_resources
    from service.cards.issues import ContentError
    from service.cards.library import load_library

    try:
        library = load_library(args.content_dir)
        body = orjson.loads(args.file.read_bytes())
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (OSError, orjson.JSONDecodeError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    if args.explain and args.explain not in library:
        print(f"no item {args.explain} in the library", file=sys.stderr)
        return 2
    if not _valid_fhir(args.file, body):
        return 1
    resources, orders, body_hook = _read_input(body)
    hook = args.hook or body_hook or "patient-view"
    at = args.at or date.today()
    facts = facts_from_resources(
        resources, at=at, draft_orders=orders, terminology=library.terminology
    )
    if args.explain:
        _print_explanation(library, args, facts, hook, at)
    elif args.measures:
        _print_practice(library, args, facts, hook, at)
    else:
        _print_matches(library, args, facts, hook, at)
    return 0


def register(commands: Any) -> None:
    """Add `content` and `match` to the `bedside` parser's sub-commands."""
    content = commands.add_parser("content", help="validate and inspect a content library")
    actions = content.add_subparsers(dest="content_command", required=True)
    check = actions.add_parser("check", help="validate a library (file:line errors)")
    check.add_argument("dir", nargs="?", type=Path, help="library folder (default: bundled)")
    check.add_argument(
        "--today", type=date.fromisoformat, help="date for expiry and stale-edition warnings"
    )
    check.add_argument("--strict", action="store_true", help="fail on warnings too")
    check.set_defaults(handler=_check)
    sources = actions.add_parser("sources", help="the source registry: families and editions")
    sources.add_argument("dir", nargs="?", type=Path, help="library folder (default: bundled)")
    sources.add_argument("--today", type=date.fromisoformat)
    sources.set_defaults(handler=_sources)
    stats = actions.add_parser("stats", help="counts of items, hooks, triggers, terminology")
    stats.add_argument("dir", nargs="?", type=Path)
    stats.set_defaults(handler=_stats)
    synth = actions.add_parser("synth", help="write a synthetic library for benchmarks")
    synth.add_argument("--count", type=int, required=True)
    synth.add_argument("--out", type=Path, required=True)
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(handler=_synth)
    matcher = commands.add_parser("match", help="show which items apply to a patient")
    matcher.add_argument(
        "file",
        type=Path,
        help="FHIR Bundle or CDS Hooks request JSON (validated as FHIR R4: exit 1 on errors)",
    )
    matcher.add_argument("--hook", choices=HOOKS)
    matcher.add_argument("--at", type=date.fromisoformat, help="evaluation date (YYYY-MM-DD)")
    matcher.add_argument("--json", action="store_true", help="machine-readable output")
    matcher.add_argument("--explain", metavar="ID", help="why one item does or does not apply")
    matcher.add_argument(
        "--measures",
        action="store_true",
        help="the practice measures of the hook: which would count this call, and why",
    )
    matcher.add_argument("--content-dir", type=Path, help="library folder (default: bundled)")
    matcher.set_defaults(handler=_match)
