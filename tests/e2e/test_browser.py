"""A real headless Chromium clicks through the demo, on a phone (390 px) and on a desktop: the
EHR simulator's "Signed in as" menu and chart, a card's smart link, the SMART launch, the
learn page, the reflection, a claim refused for want of a profession and its recovery through
a profile form filled wrongly first, the claim, the home with its chart, and the claimed
cycle. Screenshots go to test-artifacts/. Skips locally without Chromium; fails under
CI=true."""

from __future__ import annotations

from typing import Any

import pytest

from ehr_simulator.demo import Demo
from tests.e2e import browser as ui

pytestmark = pytest.mark.browser
demo, browser = ui.demo, ui.browser  # the fixtures


def _contrast(rgb: str, against: tuple[int, int, int]) -> float:
    """The WCAG contrast of a computed `rgb(r, g, b)` colour against another."""

    def luminance(channels: tuple[int, ...]) -> float:
        linear = [
            c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
            for c in (x / 255 for x in channels)
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    parsed = tuple(int(x) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
    high, low = sorted((luminance(parsed), luminance(against)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _guideline_link(driver: Any) -> Any:
    """The smart link of the first guideline (not case) card: told by the bundled library
    the demo serves, whose card summaries are shown as the cards' titles."""
    from selenium.webdriver.common.by import By

    from service.cards.library import load_library

    cases = {item.summary for item in load_library() if item.type == "case"}
    for card in driver.find_elements(By.CSS_SELECTOR, "section.card"):
        title = card.find_element(By.TAG_NAME, "h3").text
        links = card.find_elements(By.CSS_SELECTOR, "a.smart-link")
        if links and title not in cases:
            return links[0]
    return None


def _open_a_guideline_card(demo: Demo, browser: Any) -> None:
    """Sign in as the second clinician of the EHR, then open the first guideline card."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(demo.config.base_url + "/")
    menu = Select(browser.find_element(By.ID, "practitioner"))
    second = menu.options[1].get_attribute("value")
    menu.select_by_index(1)
    browser.find_element(By.ID, "switch").click()
    ui.wait_for(browser, f"practitioner={second}")
    charts = [
        a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a.open-chart")
    ]
    assert charts
    assert all(chart.endswith(f"practitioner={second}") for chart in charts)
    link = None
    for chart in charts:
        browser.get(chart)
        link = _guideline_link(browser)
        if link is not None:
            break
    assert link is not None, "no guideline card for any demo patient"
    ui.shot(browser, "01-cards.png")
    link.click()
    ui.wait_for(browser, "Reflect and claim credit")
    assert "/app/cycles/" in browser.current_url
    assert browser.find_element(By.ID, "source-h").is_displayed()
    assert browser.find_element(By.ID, "ask-profession").is_displayed()  # first sign-in
    ui.shot(browser, "02-learn.png")
    ui.fits(browser)


def _claim_refused_then_recovered(browser: Any) -> str:
    """Claim with no profession: refused, kept to finish; the profile (filled wrongly first)
    leads back to the cycle. Returns the cycle's reflect page URL."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    ui.click(browser, By.PARTIAL_LINK_TEXT, "Reflect and claim")
    ui.wait_for(browser, "How does this apply to your practice?")
    reflect = str(browser.current_url)
    ui.fits(browser)  # a long source address wraps
    ui.click(browser, By.ID, "app-confirmed-plan")
    ui.click(browser, By.XPATH, "//button[@value='claim']")
    ui.wait_for(browser, "Not claimed yet")
    ui.shot(browser, "03-claim-refused.png")
    ui.click(browser, By.PARTIAL_LINK_TEXT, "Add your profession")
    ui.wait_for(browser, "What we need, and why")
    assert browser.find_element(By.PARTIAL_LINK_TEXT, "Back to").get_attribute("href") == reflect
    browser.find_element(By.ID, "given_name").send_keys("Brenda")
    browser.find_element(By.ID, "family_name").send_keys("Browser")
    Select(browser.find_element(By.ID, "profession")).select_by_value("physician-md")
    browser.find_element(By.ID, "npi").send_keys("123")
    ui.click(browser, By.XPATH, "//button[text()='Save profile']")
    ui.wait_for(browser, "Please check this answer")
    assert browser.find_element(By.ID, "npi-error").is_displayed()
    assert browser.find_element(By.ID, "given_name").get_attribute("value") == "Brenda"
    ui.shot(browser, "04-profile-errors.png")
    ui.fits(browser)
    browser.find_element(By.ID, "npi").clear()
    browser.find_element(By.ID, "npi").send_keys("1234567893")
    ui.click(browser, By.XPATH, "//button[text()='Save profile']")
    ui.wait_for(browser, "you can claim your credit now")
    assert browser.current_url.startswith(reflect)
    return reflect


def _focus_ring_contrasts(browser: Any) -> None:
    """The focused control's outline stands out 3:1 against the white page."""
    from selenium.webdriver.common.by import By

    button = browser.find_element(By.XPATH, "//button[@value='claim']")
    browser.execute_script("arguments[0].focus()", button)
    style = browser.execute_script(
        "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineColor]",
        button,
    )
    assert style[0] == "solid"
    assert _contrast(style[1], (255, 255, 255)) >= 3, style


def test_click_through_the_demo(demo: Demo, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    _open_a_guideline_card(demo, browser)
    reflect = _claim_refused_then_recovered(browser)
    _focus_ring_contrasts(browser)
    ui.click(browser, By.ID, "app-confirmed-plan")
    ui.click(browser, By.XPATH, "//button[@value='claim']")
    ui.wait_for(browser, "Credit claimed")
    assert browser.find_element(By.ID, "entries").is_displayed()
    chart = browser.find_element(By.CSS_SELECTOR, "svg.chart-svg")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", chart)
    assert chart.is_displayed()
    assert chart.size["height"] > 50
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart-svg rect.bar")
    ui.shot(browser, "05-home.png")
    ui.fits(browser)
    browser.get(reflect)
    ui.wait_for(browser, "Your credit")
    assert not browser.find_elements(By.TAG_NAME, "textarea")
    assert browser.find_element(By.PARTIAL_LINK_TEXT, "Certificate").is_displayed()
    ui.shot(browser, "06-claimed.png")
    ui.fits(browser)
