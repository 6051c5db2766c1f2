"""A small, safe Markdown subset for content snippets: paragraphs, `-`/`*` and numbered
lists, headings, **bold**, *italic* and https links. Everything is HTML-escaped first, so
content can never inject markup or script."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<!\*)\*(?!\*)(.+?)\*")
_LINK = re.compile(r"\[([^\]]+)\]\((https://[^)\s\"']+)\)")
_BULLET = re.compile(r"^\s*(?:[-*]|\d+\.)\s+")
_HEADING = re.compile(r"^(#{1,4})\s+")


def _inline(text: str) -> str:
    html = str(escape(text))
    html = _LINK.sub(r'<a href="\2" rel="noopener noreferrer">\1</a>', html)
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    return _ITALIC.sub(r"<em>\1</em>", html)


def _list(lines: list[str]) -> str:
    tag = "ol" if lines[0].lstrip()[0].isdigit() else "ul"
    items = "".join(f"<li>{_inline(_BULLET.sub('', line))}</li>" for line in lines)
    return f"<{tag}>{items}</{tag}>"


def _text_run(lines: list[str]) -> str:
    heading = _HEADING.match(lines[0])
    if heading and len(lines) == 1:
        level = min(len(heading.group(1)) + 2, 6)  # the page already has h1 and h2
        return f"<h{level}>{_inline(lines[0][heading.end() :])}</h{level}>"
    return "<p>" + _inline(" ".join(line.strip() for line in lines)) + "</p>"


def _block(lines: list[str]) -> str:
    """A block split into runs of list items and runs of text (a list may follow a
    paragraph without a blank line)."""
    html: list[str] = []
    run: list[str] = []
    in_list = False
    for line in lines:
        is_item = bool(_BULLET.match(line))
        if run and is_item != in_list:
            html.append(_list(run) if in_list else _text_run(run))
            run = []
        run.append(line)
        in_list = is_item
    if run:
        html.append(_list(run) if in_list else _text_run(run))
    return "".join(html)


def render_markdown(text: str) -> Markup:
    """Markdown (the subset above) to safe HTML."""
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return Markup("".join(_block(block) for block in blocks if block))
