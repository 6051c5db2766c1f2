"""What the stylesheet promises: a focus indicator with at least 3:1 contrast where it is
drawn (WCAG 2.2 SC 1.4.11, 2.4.13), and long source addresses that wrap on a phone."""

from __future__ import annotations

import re
from pathlib import Path

CSS = (Path(__file__).resolve().parents[2] / "smart_app" / "static" / "app.css").read_text()


def _luminance(color: str) -> float:
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _color(value: str) -> str:
    """A colour of the stylesheet, following var(--name) to its #rrggbb value."""
    value = value.strip()
    if match := re.fullmatch(r"var\((--[\w-]+)\)", value):
        found = re.search(re.escape(match.group(1)) + r":\s*(#[0-9a-fA-F]{6})", CSS)
        assert found, match.group(1)
        return found.group(1)
    return value


def _rule(selector: str) -> str:
    found = re.search(r"(?m)^" + re.escape(selector) + r"\s*\{([^}]*)\}", CSS)
    assert found, selector
    return found.group(1)


def test_contrast_formula() -> None:
    assert round(contrast("#ffbf47", "#ffffff"), 2) == 1.64  # the old amber ring on white
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0


def test_the_focus_ring_contrasts_3_to_1_on_the_page_and_on_the_bar() -> None:
    page = re.search(r"outline:\s*\d+px solid ([^;]+);", _rule(":focus-visible"))
    assert page
    assert contrast(_color(page.group(1)), _color("var(--bg)")) >= 3
    bar = re.search(r"outline-color:\s*([^;]+);", _rule(".bar :focus-visible"))
    assert bar
    assert contrast(_color(bar.group(1)), _color("var(--accent)")) >= 3


def test_long_source_addresses_wrap() -> None:
    wrapping = [
        block
        for selectors, block in re.findall(r"([^{}]+)\{([^}]*)\}", CSS)
        if ".citation" in selectors and "overflow-wrap: anywhere" in block
    ]
    assert wrapping
    template = Path(__file__).resolve().parents[2] / "smart_app" / "templates" / "reflect.html"
    assert 'class="citation"' in template.read_text()
