"""Rendering a content item as a CDS Hooks 2.0 card (a plain dict, ready for JSON).

No null, empty string, empty list or empty object is ever emitted (CDS Hooks 2.0)."""

from __future__ import annotations

from typing import Any

from service.cards.model import ContentItem

CONTENT_SYSTEM = "urn:bedside:content"
_SUMMARY_LIMIT = 140


def _summary(text: str) -> str:
    text = " ".join(text.split())
    if len(text) < _SUMMARY_LIMIT:
        return text
    return text[: _SUMMARY_LIMIT - 2].rstrip() + "…"


def citation(item: ContentItem) -> str:
    """`Source: USPSTF, *Title* (2021). Grade: B.` as one Markdown line."""
    source = item.source
    line = f"Source: {source.organization}, *{source.title}* ({source.year})"
    if source.grade:
        line += f". Grade: {source.grade}"
    return line + "."


def perspectives(item: ContentItem) -> str:
    """Where authorities differ, each one's position in a line, with its source and year:
    the card says so rather than picking one (the learn page shows them side by side)."""
    if not item.perspectives:
        return ""
    lines = [
        f"- **{view.label}**: {' '.join(view.position.split())} "
        f"({view.source.organization}, {view.source.year})"
        for view in item.perspectives
    ]
    return "**Authorities differ:**\n" + "\n".join(lines)


def detail(item: ContentItem) -> str:
    """The card's Markdown detail: the snippet (or a case's vignette, so the teaching points
    stay behind the questions), the authorities' differing positions, then the citation."""
    if item.case is not None:
        body = item.case.vignette.strip()
    else:
        body = item.detail_markdown.strip()
    parts = (body, perspectives(item), citation(item))
    return "\n\n".join(part for part in parts if part)


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {key: _prune(inner) for key, inner in value.items()}
        return {key: inner for key, inner in pruned.items() if inner not in (None, "", [], {})}
    if isinstance(value, list):
        return [inner for inner in map(_prune, value) if inner not in (None, "", [], {})]
    return value


def render_card(
    item: ContentItem, *, card_uuid: str, launch_url: str, app_context: str, credit_label: str
) -> dict[str, Any]:
    """A CDS Hooks card for `item` with a `smart` link to `launch_url` carrying the signed
    `app_context` (made by the orchestrator; it holds no PHI)."""
    minutes = item.case.minutes if item.case is not None and item.case.minutes else 2
    learn = f"Learn in {minutes} min"
    label = f"{learn} - {credit_label}" if credit_label else learn
    card = {
        "uuid": card_uuid,
        "summary": _summary(item.summary),
        "indicator": item.indicator,
        "detail": detail(item),
        "source": {
            "label": item.source.organization,
            "url": str(item.source.url),
            "topic": {"system": CONTENT_SYSTEM, "code": item.id, "display": item.title},
        },
        "links": [
            {"label": label, "url": launch_url, "type": "smart", "appContext": app_context},
        ],
    }
    pruned: dict[str, Any] = _prune(card)
    return pruned
