"""Reading a content library from disk: the only module of the core that touches files.

Layout (docs/content-format.md): `items/**/*.md`, `valuesets/*.yaml`, `facts.yaml`,
`policy.yaml`, `sources.yaml`, `topics.yaml`, `terminology/rxnorm_ingredients.tsv`,
`terminology/drug_classes.yaml`. A library without a `terminology/` folder uses the bundled
terminology.
"""

from __future__ import annotations

import gc
import hashlib
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from stat import S_ISREG
from types import MappingProxyType

import pydantic
import yaml

from service.cards import applies as applies_module
from service.cards import checks, code_sets, frontmatter, measure_checks
from service.cards import model as content_model
from service.cards import policy as policy_module
from service.cards import schema as schema_module
from service.cards import sources as sources_module
from service.cards import terminology as terminology_module
from service.cards.applies import CRITERIA
from service.cards.checks import ParsedItem, check_items, check_terminology
from service.cards.frontmatter import load_yaml, parse_item
from service.cards.issues import ContentError, Issue
from service.cards.measure_checks import check_measures
from service.cards.model import ContentItem, PartsTable, Policy, share_equal_parts
from service.cards.policy import (
    FACTS_FILE,
    POLICY_FILE,
    PolicySource,
    check_item_policy,
    check_policy,
    parse_policy,
)
from service.cards.sources import SOURCES_FILE, RegistrySource, check_currency, parse_registry
from service.cards.terminology import (
    Terminology,
    ValueSet,
    parse_drug_classes,
    parse_rxnorm_tsv,
    parse_valueset,
)
from service.cards.topics import TOPICS_FILE, check_item_topics, parse_topics

BUNDLED_DIR = Path(__file__).parent / "bundled"


@dataclass(frozen=True)
class LoadedLibrary:
    """What `read_library` found: valid items, terminology, and every issue."""

    items: tuple[ContentItem, ...]
    terminology: Terminology
    issues: tuple[Issue, ...] = field(default=())
    policy: Policy = field(default_factory=Policy)
    # the source registry, when the library has one and it was read (not on a cache hit)
    registry: RegistrySource | None = None
    # the topic vocabulary (id -> label), empty when the library has no `topics.yaml`
    topics: Mapping[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> tuple[Issue, ...]:
        """Issues that make the library invalid."""
        return tuple(issue for issue in self.issues if issue.severity == "error")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        """Issues worth a look that do not fail a check."""
        return tuple(issue for issue in self.issues if issue.severity == "warning")

    def raise_for_errors(self) -> None:
        """Raise ContentError when there is any error."""
        if self.errors:
            raise ContentError(self.errors)


def _read_yaml(path: Path, issues: list[Issue]) -> object:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        issues.append(Issue(str(path), 1, f"cannot read: {exc}"))
        return None


def read_terminology(content_dir: Path) -> tuple[Terminology, list[Issue], dict[str, str]]:
    """The terminology of a library (the bundled one when it has no `terminology/`)."""
    issues: list[Issue] = []
    term_dir = content_dir / "terminology"
    if not term_dir.is_dir():
        term_dir = BUNDLED_DIR / "terminology"
    rxnorm: dict[str, frozenset[str]] = {}
    classes: dict[str, frozenset[str]] = {}
    tsv = term_dir / "rxnorm_ingredients.tsv"
    if tsv.is_file():
        rxnorm, found = parse_rxnorm_tsv(tsv.read_text(encoding="utf-8"), str(tsv))
        issues += found
    classes_file = term_dir / "drug_classes.yaml"
    if classes_file.is_file():
        classes, found = parse_drug_classes(_read_yaml(classes_file, issues), str(classes_file))
        issues += found
    valuesets: dict[str, ValueSet] = {}
    files = {"drug_classes": str(classes_file)}
    for path in sorted((content_dir / "valuesets").glob("*.yaml")):
        valueset, found = parse_valueset(_read_yaml(path, issues), str(path), path.stem)
        issues += found
        if valueset is not None:
            if valueset.name in valuesets:
                issues.append(Issue(str(path), 1, f"duplicate value set {valueset.name!r}"))
            valuesets[valueset.name] = valueset
            files[valueset.name] = str(path)
    terminology = Terminology(
        MappingProxyType(rxnorm), MappingProxyType(classes), MappingProxyType(valuesets)
    )
    return terminology, issues, files


def read_policy(content_dir: Path) -> tuple[Policy, PolicySource, list[Issue]]:
    """The library's `facts.yaml` and `policy.yaml` (either may be absent: no policy)."""
    texts: list[str | None] = []
    issues: list[Issue] = []
    for name in (FACTS_FILE, POLICY_FILE):
        path = content_dir / name
        try:
            texts.append(path.read_text(encoding="utf-8") if path.is_file() else None)
        except (OSError, UnicodeDecodeError) as exc:
            issues.append(Issue(str(path), 1, f"cannot read: {exc}"))
            texts.append(None)
    source = (str(content_dir / FACTS_FILE), str(content_dir / POLICY_FILE))
    policy, where, found = parse_policy(texts[0], texts[1], source)
    return policy, where, issues + found


def read_registry(content_dir: Path) -> tuple[RegistrySource | None, list[Issue]]:
    """The library's source registry (`sources.yaml`), or None when it has none."""
    path = content_dir / SOURCES_FILE
    if not path.is_file():
        return None, []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Issue(str(path), 1, f"cannot read: {exc}")]
    return parse_registry(text, str(path))


def read_topics(content_dir: Path) -> tuple[Mapping[str, str], list[Issue]]:
    """The library's topic vocabulary (`topics.yaml`), or none when it has none."""
    path = content_dir / TOPICS_FILE
    if not path.is_file():
        return {}, []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [Issue(str(path), 1, f"cannot read: {exc}")]
    return parse_topics(text, str(path))


def read_items(content_dir: Path) -> tuple[list[ParsedItem], list[Issue]]:
    """Parse every `items/**/*.md` file (sorted by path, so the order is stable)."""
    parsed: list[ParsedItem] = []
    issues: list[Issue] = []
    parts = PartsTable()
    for path in sorted((content_dir / "items").rglob("*.md")):
        file = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            issues.append(Issue(file, 1, f"cannot read: {exc}"))
            continue
        item, lines, found = parse_item(text, file)
        issues += found
        if item is not None and lines is not None:
            parsed.append(ParsedItem(share_equal_parts(item, parts), file, lines.line_of))
            if path.stem != item.id:
                issues.append(
                    Issue(
                        file, lines.line_of(("id",)), f"file name should be {item.id}.md", "warning"
                    )
                )
    return parsed, issues


def _cache_path(content_dir: Path, cache_dir: Path, today: date | None) -> Path:
    """The cache file of this exact library: named by a digest of every file it is read from
    (items, value sets, terminology; path, size, modification time), of the code that reads
    and checks them (each criterion kind's module parses and checks its own key) and of
    `today` (expiry checks), so that any edit or upgrade makes a new name and a stale cache
    is never read."""
    digest = hashlib.sha256(f"{pydantic.VERSION}\0{today}\n".encode())
    modules = (
        content_model,
        schema_module,
        applies_module,
        code_sets,
        *(sys.modules[name] for name in sorted({kind.__module__ for kind in CRITERIA.kinds})),
        frontmatter,
        checks,
        measure_checks,
        policy_module,
        sources_module,
        terminology_module,
    )
    for module in modules:
        digest.update(Path(module.__file__ or "").read_bytes())
    sources = [content_dir]
    if not (content_dir / "terminology").is_dir():
        sources.append(BUNDLED_DIR / "terminology")
    files = sorted(
        (entry for source in sources for entry in _files_under(str(source))),
        key=lambda entry: entry[0].split(os.sep),  # Path order: part by part
    )
    for path, stat in files:
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return cache_dir / f"library-{digest.hexdigest()[:32]}.jsonl"


def _files_under(folder: str) -> Iterator[tuple[str, os.stat_result]]:
    """Every regular file below `folder` (symbolic links to files too, never into linked
    folders) with its `stat`: what `Path.rglob("*")` + `is_file()` + `stat()` find, faster
    (the digest of 10,000 items: 0.15 -> 0.07 s of every start)."""
    for root, _folders, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            try:
                stat = os.stat(path)
            except OSError:  # a dangling link: not a file
                continue
            if S_ISREG(stat.st_mode):
                yield path, stat


def _read_cached(cache: Path) -> tuple[ContentItem, ...] | None:
    # One item per line, parsed one by one: one 10 MB document costs ~40 MB more at its peak.
    # Lines are read as they are parsed, not split up front: 10,000 line buffers allocated
    # before the items leave ~8 MB of freed heap under them that the process never returns.
    try:
        parts = PartsTable()
        with cache.open("rb") as lines:
            return tuple(
                share_equal_parts(ContentItem.model_validate_json(line), parts) for line in lines
            )
    except (OSError, ValueError):  # absent, unreadable or of another format: read the files
        return None


def _write_cache(cache: Path, items: tuple[ContentItem, ...]) -> None:
    lines = [item.model_dump_json(exclude_unset=True).encode() for item in items]
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        for old in cache.parent.glob("library-*.jsonl"):
            old.unlink(missing_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(b"\n".join(lines))
        os.replace(partial, cache)
    except OSError:
        pass  # a read-only data directory only costs the next start the reading


def read_library(
    content_dir: Path, *, today: date | None = None, cache_dir: Path | None = None
) -> LoadedLibrary:
    """Read and check a library folder. Never raises for content problems: they are issues
    (a missing folder is an error issue too). With `cache_dir`, a library that read without
    any issue (error or warning) is kept there as validated items, and the next read of the
    same files skips parsing and checks (start-up of a large library: YAML parsing is ~90% of
    reading, the checks most of the rest)."""
    if not content_dir.is_dir():
        issue = Issue(str(content_dir), 0, "content library folder not found")
        return LoadedLibrary((), Terminology(), (issue,))
    terminology, issues, files = read_terminology(content_dir)
    policy, where, policy_issues = read_policy(content_dir)
    topics, topic_issues = read_topics(content_dir)
    issues += policy_issues + topic_issues
    cache = None if cache_dir is None else _cache_path(content_dir, cache_dir, today)
    collecting = gc.isenabled()
    gc.disable()  # parsing allocates only long-lived objects; see ContentLibrary
    try:
        if cache is not None and not issues and (cached := _read_cached(cache)) is not None:
            # the registry only checks citations: a cached library passed it when written
            return LoadedLibrary(cached, terminology, policy=policy, topics=topics)
        parsed, found = read_items(content_dir)
    finally:
        if collecting:
            gc.enable()
    registry, registry_issues = read_registry(content_dir)
    issues += found + registry_issues
    issues += check_terminology(terminology, files)
    if not policy_issues:  # a policy that parsed (a cached library passed this when written)
        issues += check_policy(policy, where, terminology)
    issues += check_items(parsed, terminology, today)
    issues += check_item_policy(parsed, policy)
    issues += check_measures(parsed, terminology, policy)
    issues += check_item_topics(parsed, topics)
    if registry is not None:
        issues += check_currency(parsed, registry, today)
    error_files = {issue.file for issue in issues if issue.severity == "error"}
    items = tuple(entry.item for entry in parsed if entry.file not in error_files)
    if cache is not None and not issues:
        _write_cache(cache, items)
    return LoadedLibrary(items, terminology, tuple(sorted(issues)), policy, registry, topics)
