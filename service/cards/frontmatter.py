"""Parsing one item file (YAML front matter + Markdown body) into a `ContentItem`, with
schema errors located at `file:line`. Pure: the loader passes the text in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml
from pydantic import ValidationError

from service.cards.issues import Issue
from service.cards.model import ContentItem

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Loc = tuple[str | int, ...]


class LineMap:
    """Maps a field path (`applies.conditions.any_of.snomed.0`) to its line in the file.
    The YAML is composed again only when a line is asked for (errors are rare)."""

    def __init__(self, yaml_text: str, first_line: int) -> None:
        self._text = yaml_text
        self._first = first_line
        self._lines: dict[Loc, int] | None = None

    def _build(self) -> dict[Loc, int]:
        lines: dict[Loc, int] = {(): self._first}
        try:
            root = compose_yaml(self._text)
        except yaml.YAMLError:
            return lines
        stack: list[tuple[Loc, Any]] = [((), root)]
        while stack:
            path, node = stack.pop()
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    child = (*path, str(key.value))
                    lines[child] = self._first + key.start_mark.line
                    stack.append((child, value))
            elif isinstance(node, yaml.SequenceNode):
                for position, value in enumerate(node.value):
                    child = (*path, position)
                    lines[child] = self._first + value.start_mark.line
                    stack.append((child, value))
        return lines

    def line_of(self, loc: Sequence[str | int]) -> int:
        """The line of the deepest known prefix of `loc` (unknown parts are skipped)."""
        if self._lines is None:
            self._lines = self._build()
        path: Loc = ()
        best = self._lines[()]
        for part in loc:
            candidate = (*path, part)
            if candidate in self._lines:
                path = candidate
                best = self._lines[candidate]
        return best


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(front matter YAML, Markdown body, line number of the body) or None when the file
    does not start with a `---` fenced front matter block."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None
    for number, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "".join(lines[1:number]), "".join(lines[number + 1 :]), number + 2
    return None


def _message(error: Any, data: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in error["loc"]) or "front matter"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{loc}: unknown field"
    if kind == "missing":
        return f"{loc}: missing required field"
    if error["loc"] == ("summary",) and kind == "string_too_long":
        return f"summary must be under 140 characters (has {len(str(data.get('summary')))})"
    return f"{loc}: {error['msg']}"


def parse_item(text: str, file: str) -> tuple[ContentItem | None, LineMap | None, list[Issue]]:
    """Parse and validate one item file. Returns the item (or None) and every schema issue."""
    parts = split_front_matter(text)
    if parts is None:
        return None, None, [Issue(file, 1, "expected YAML front matter between `---` lines")]
    yaml_text, body, _ = parts
    lines = LineMap(yaml_text, first_line=2)
    try:
        data = yaml.load(yaml_text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = 2 + mark.line if mark is not None else 1
        return None, None, [Issue(file, line, f"invalid YAML: {getattr(exc, 'problem', exc)}")]
    if not isinstance(data, dict):
        return None, None, [Issue(file, 1, "the front matter must be a YAML mapping")]
    if "detail_markdown" in data:
        return (
            None,
            lines,
            [
                Issue(
                    file,
                    lines.line_of(("detail_markdown",)),
                    "detail_markdown: unknown field (the body is the detail)",
                )
            ],
        )
    try:
        item = ContentItem.model_validate({**data, "detail_markdown": body.strip()})
    except ValidationError as exc:
        issues = [
            Issue(file, lines.line_of(err["loc"]), _message(err, data))
            for err in exc.errors(include_url=False)
        ]
        return None, lines, issues
    return item, lines, []


def load_yaml(text: str) -> Any:
    """Parse a YAML document (value sets, drug classes)."""
    return yaml.load(text, Loader=_Loader)


def compose_yaml(text: str) -> yaml.Node | None:
    """A YAML document's node tree (with line marks), with the C loader when available."""
    node: yaml.Node | None = yaml.compose(text, Loader=_Loader)
    return node
