"""Content Markdown to safe HTML, with markdown-it-py (CommonMark plus GFM tables).

Raw HTML in content is escaped, never rendered, and markdown-it refuses `javascript:`,
`vbscript:` and `data:` link targets; headings are shifted down two levels because the page
already has its own h1 and h2. Case explanations lose their opening verdict ("Right.") because
the page states its own.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markupsafe import Markup

# the verdict an author may open a case explanation with; the page states its own verdict
_VERDICT = re.compile(r"^(?:right|correct|yes|no|wrong|incorrect|not quite)\s*[.!:;,-]\s+", re.I)
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(text: str) -> Markup:
    """Markdown to safe HTML for the learn pages."""
    tokens = _MARKDOWN.parse(text)
    for token in tokens:
        if token.type in {"heading_open", "heading_close"}:
            token.tag = f"h{min(int(token.tag[1]) + 2, 6)}"
        if token.type == "inline":
            for child in token.children or ():
                if child.type == "link_open":
                    child.attrSet("rel", "noopener noreferrer")
    return Markup(_MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {}))


def without_verdict(explanation: str) -> str:
    """A case option's explanation without its opening verdict ("Right.", "No."): the page
    says "Correct." or "Not quite." itself, and saying it twice reads badly."""
    stripped = _VERDICT.sub("", explanation.strip(), count=1)
    return stripped[:1].upper() + stripped[1:] if stripped else explanation
