"""Rendering a content item as a CDS Hooks 2.0 card (a plain dict, ready for JSON).

No null, empty string, empty list or empty object is ever emitted (CDS Hooks 2.0).

A case's vignette is about someone else (a 42-year-old woman, on a 58-year-old man's chart):
its card says first, in one line, why it is relevant to this patient, from the reasons the
match gave (`matching.Match.reasons`: the criteria's own words, e.g. `condition SNOMED 55822004
(Hyperlipidemia) in any_of`): the patient's conditions, medications or orders that triggered
it, else the demographics it targets. `tests/cards/test_relevance.py` holds every reason
format a criterion writes, so a change to one fails there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from service.cards.model import ContentItem

CONTENT_SYSTEM = "urn:bedside:content"
_SUMMARY_LIMIT = 140
_PHRASES = 2  # at most this many findings on the relevance line
_PHRASE_LIMIT = 60
# `condition SNOMED 44054006 (Diabetes mellitus type 2) [value set x] in any_of`,
# `medication metformin (Metformin 500 MG Oral Tablet) [class biguanide] in any_of`
_CODE_HIT = re.compile(r"^(condition|medication|draft order|procedure) (.+) in any_of$")
_CODED = re.compile(r"^\S+ \S+ \(")  # `SYSTEM CODE (display...`
_SEMANTIC_TAG = re.compile(
    r"\s*\((?:disorder|finding|situation|procedure|event|morphologic abnormality)\)$"
)
_AGE = re.compile(r"^age \d+ in (\d*)-(\d*)$")
# `LOINC 39156-5 latest 31.2 kg/m2 on 2019-06-25 >= 30`
_LAB_HIT = re.compile(
    r"^LOINC \S+ \w+ (?P<value>\S+?)(?P<unit> .+?)? on \S+ (?P<op>\S+) (?P<limit>\S+)$"
)
_SMOKING = {
    "smokes now": "current smoker",
    "former smoker, quit date not recorded": "former smoker",
    "smoking status current in": "current smoker",
    "smoking status former in": "former smoker",
    "last recorded smoking on": "recent smoking",
}
_SMOKING_STARTS = tuple(_SMOKING)
_CODE_KINDS = ("condition ", "medication ", "draft order ", "procedure ")
# what could make a record's display text Markdown (emphasis, code, a link, HTML) mid-line
_MARKDOWN = re.compile(r"([\\`*_\[\]<~])")


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


def _parenthesised(text: str) -> str:
    """The text inside the parenthesis `text` opens with (nested ones kept)."""
    close = text.find(")")
    if close > 0 and "(" not in text[1:close]:
        return text[1:close]  # the usual display: no parenthesis inside
    depth = 0
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return text[1:position]
    return text[1:]


def _finding(kind: str, hit: str) -> str:
    """What the patient has, from a code criterion's hit: an ingredient's name (`metformin
    (Metformin 500 MG Oral Tablet)`), or the display the record gives a code (`SNOMED 123
    (Hyperlipidemia)`); nothing for a code without one (it says nothing to a clinician)."""
    if kind in {"medication", "draft order"} and not hit.startswith("RxNorm "):
        name = re.split(r" \(| \[", hit, maxsplit=1)[0]
    else:
        coded = _CODED.match(hit)
        name = "" if coded is None else _parenthesised(hit[coded.end() - 1 :])
        if name.startswith("prefix ") or name == "resolved or inactive":
            return ""
        name = _SEMANTIC_TAG.sub("", name)
    if not name:
        return ""
    if kind == "draft order":
        return f"{name} (being ordered)"
    return f"{name} (history)" if hit.endswith("(resolved or inactive)") else name


def _findings(reason: str) -> Iterator[str]:
    """The clinical findings a reason names (a named fact's inner reasons included). Each
    pattern is tried only on reasons that start its way (a call reads every reason)."""
    if reason.startswith("fact ") and ": " in reason:
        for inner in reason.split(": ", 1)[1].split("; "):
            yield from _findings(inner)
    elif reason.startswith(_CODE_KINDS):
        if (hit := _CODE_HIT.match(reason)) is not None:
            yield _finding(hit.group(1), hit.group(2))
    elif reason.startswith("LOINC "):
        if (lab := _LAB_HIT.match(reason)) is not None:
            yield f"result {lab['value']}{lab['unit'] or ''} ({lab['op']} {lab['limit']})"
    elif reason == "pregnant":
        yield "pregnancy"
    elif reason.startswith(_SMOKING_STARTS):
        yield next(words for start, words in _SMOKING.items() if reason.startswith(start))


def _age_band(low: str, high: str) -> str:
    if not high:
        return f"age {low or 0}+"
    return f"age {low}-{high}" if low else f"age up to {high}"


def _demographics(reasons: Sequence[str]) -> list[str]:
    """The sex and the age band an item targets (`sex female`, `age 46 in 40-49`)."""
    found: list[str] = []
    for reason in reasons:
        if reason in ("sex female", "sex male"):
            found.append(reason.removeprefix("sex "))
        elif reason.startswith("age ") and (age := _AGE.match(reason)) is not None:
            found.append(_age_band(*age.groups()))
    return found


def _short(phrase: str) -> str:
    phrase = " ".join(phrase.split())
    if len(phrase) > _PHRASE_LIMIT:
        phrase = phrase[: _PHRASE_LIMIT - 1].rstrip() + "…"
    return _MARKDOWN.sub(r"\\\1", phrase)


def relevance(reasons: Sequence[str]) -> str:
    """One Markdown line saying why an item matches this patient, from its match's reasons:
    the clinical findings that triggered it (at most two), else the demographics it targets;
    empty when the reasons name neither."""
    findings: list[str] = []
    for reason in reasons:
        for found in _findings(reason):
            if found and found not in findings:
                findings.append(found)
    named = findings[:_PHRASES] or _demographics(reasons)
    if not named:
        return ""
    return "**Relevant to this patient:** " + ", ".join(_short(phrase) for phrase in named)


def detail(item: ContentItem, reasons: Sequence[str] = ()) -> str:
    """The card's Markdown detail: the snippet (or a case's vignette, so the teaching points
    stay behind the questions, after a line saying why the case is relevant to this patient),
    the authorities' differing positions, then the citation."""
    if item.case is not None:
        body = item.case.vignette.strip()
        why = relevance(reasons)
        parts: tuple[str, ...] = (why, body, perspectives(item), citation(item))
    else:
        parts = (item.detail_markdown.strip(), perspectives(item), citation(item))
    return "\n\n".join(part for part in parts if part)


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {key: _prune(inner) for key, inner in value.items()}
        return {key: inner for key, inner in pruned.items() if inner not in (None, "", [], {})}
    if isinstance(value, list):
        return [inner for inner in map(_prune, value) if inner not in (None, "", [], {})]
    return value


def render_card(
    item: ContentItem,
    *,
    card_uuid: str,
    launch_url: str,
    app_context: str,
    credit_label: str,
    reasons: Sequence[str] = (),
) -> dict[str, Any]:
    """A CDS Hooks card for `item` with a `smart` link to `launch_url` carrying the signed
    `app_context` (made by the orchestrator; it holds no PHI). `reasons` are the match's: a
    case card says from them why it is relevant to this patient."""
    minutes = item.case.minutes if item.case is not None and item.case.minutes else 2
    learn = f"Learn in {minutes} min"
    label = f"{learn} - {credit_label}" if credit_label else learn
    card = {
        "uuid": card_uuid,
        "summary": _summary(item.summary),
        "indicator": item.indicator,
        "detail": detail(item, reasons),
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


RECALL_LABEL = "Answer in 30 s"
_RECALL_DETAIL = {
    "missed": "A question you missed on this case is due for review.",
    "unsure": "A question you marked as unsure on this case is due for review.",
}


def render_recall_card(
    item: ContentItem, *, reason: str, card_uuid: str, launch_url: str, app_context: str
) -> dict[str, Any]:
    """The quiet recall card (`recall.offer_recall`): an info card naming the case whose
    question is due, linking to that question (the `app_context` names it). No relevance
    line, vignette or teaching points: the question itself is the card's whole content."""
    detail = _RECALL_DETAIL.get(reason, _RECALL_DETAIL["missed"])
    card = {
        "uuid": card_uuid,
        "summary": _summary(f"Quick recall (30 s): {item.title}"),
        "indicator": "info",
        "detail": f"{detail} It takes about 30 seconds.\n\n{citation(item)}",
        "source": {
            "label": item.source.organization,
            "url": str(item.source.url),
            "topic": {"system": CONTENT_SYSTEM, "code": item.id, "display": item.title},
        },
        "links": [
            {
                "label": RECALL_LABEL,
                "url": launch_url,
                "type": "smart",
                "appContext": app_context,
            },
        ],
    }
    pruned: dict[str, Any] = _prune(card)
    return pruned
