"""The content snippet's Markdown subset is rendered safely."""

from __future__ import annotations

from smart_app.markdown import render_markdown


def test_paragraphs_lists_and_emphasis() -> None:
    html = render_markdown("Screen **adults**.\n- one\n- *two*\n\n1. first\n2. second")
    assert html.replace("\n", "") == (
        "<p>Screen <strong>adults</strong>.</p><ul><li>one</li><li><em>two</em></li>"
        "</ul><ol><li>first</li><li>second</li></ol>"
    )


def test_markup_is_escaped_and_script_links_dropped() -> None:
    html = render_markdown("<script>alert(1)</script> [x](javascript:alert(1)) [y](https://a.b)")
    assert "<script>" not in html
    assert 'href="javascript' not in html
    assert '<a href="https://a.b" rel="noopener noreferrer">y</a>' in html


def test_a_wrapped_list_item_stays_one_item() -> None:
    html = render_markdown(
        "- screen people at risk (for example men who have sex with\n"
        "men, people who inject drugs)\n- next"
    )
    assert html.count("<li>") == 2
    assert "sex with\nmen" in html or "sex with men" in html


def test_headings_are_shifted_below_the_page_headings() -> None:
    assert "<h3>" in render_markdown("# Key points")
