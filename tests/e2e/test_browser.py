"""A real headless Chromium clicks through the demo, on a phone (390 px) and on a desktop: the
EHR simulator's "Signed in as" menu and chart, a card's smart link, the SMART launch, the
learn page, the reflection, a claim refused for want of a profession and its recovery through
a profile form filled wrongly first, the claim, the home with its chart, and the claimed
cycle. Screenshots go to test-artifacts/. Skips locally without Chromium; fails under
CI=true."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ehr_simulator.demo import Demo, build_demo, serve_demo
from tests.conftest import IN_CI

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 900)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _require_browser() -> Any:
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    try:
        from selenium import webdriver
    except ImportError:
        webdriver = None
    if webdriver is None or not CHROMIUM.exists() or not Path(chromedriver).exists():
        if IN_CI:
            pytest.fail("Chromium, chromedriver and selenium are required under CI=true")
        pytest.skip("Chromium, chromedriver or selenium not installed")
    return webdriver


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """`bedside demo` on free loopback ports, in a background thread."""
    running = build_demo(port=_free_port(), ehr_port=_free_port(), data_dir=tmp_path)
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            asyncio.run(serve_demo(running))
        except BaseException as exc:  # uvicorn exits with SystemExit when startup fails
            failures.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not failures:
        try:
            page = httpx.get(running.settings.public_url + "/app/login", timeout=1)
            if "/app/login?ehr=" in page.text:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        running.stop()
        pytest.fail(f"the demo did not start: {failures!r}")
    yield running
    running.stop()
    thread.join(timeout=15)


@pytest.fixture(params=list(VIEWPORTS))
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    webdriver = _require_browser()
    from selenium.webdriver.chrome.service import Service

    width, height = VIEWPORTS[request.param]
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--disable-gpu",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(
        service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options
    )
    driver.implicitly_wait(10)
    driver.set_window_size(width, height)  # --window-size alone stops at 500 px wide
    assert driver.execute_script("return window.innerWidth") == width
    driver.viewport = request.param
    yield driver
    driver.quit()


def _shot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{driver.viewport}-{name}"))


WIDEST = """
const width = document.documentElement.clientWidth;
return [document.documentElement.scrollWidth, width, Array.from(document.querySelectorAll('*'))
  .filter(e => e.getBoundingClientRect().right > width)
  .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
  .slice(-3).join(', ')];
"""


def _fits(driver: Any) -> None:
    """Nothing scrolls sideways: at the viewport's width, and at 320 px (the smallest phone,
    narrower than EHR side panels)."""
    scroll, width, widest = driver.execute_script(WIDEST)
    assert scroll <= width, f"{driver.current_url} is {scroll}px wide at {width}px: {widest}"
    size = driver.get_window_size()
    driver.set_window_size(320, size["height"])
    try:
        scroll, width, widest = driver.execute_script(WIDEST)
        assert scroll <= width, f"{driver.current_url} is {scroll}px wide at {width}px: {widest}"
    finally:
        driver.set_window_size(size["width"], size["height"])


def _wait_for(driver: Any, text: str) -> None:
    """Wait until the page (after a click's navigation) contains text."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 20).until(lambda d: text in d.page_source)


def _click(driver: Any, how: str, what: str) -> None:
    """Scroll an element into view and click it (a phone shows little at once)."""
    element = driver.find_element(how, what)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


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
    _wait_for(browser, f"practitioner={second}")
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
    _shot(browser, "01-cards.png")
    link.click()
    _wait_for(browser, "Reflect and claim credit")
    assert "/app/cycles/" in browser.current_url
    assert browser.find_element(By.ID, "source-h").is_displayed()
    assert browser.find_element(By.ID, "ask-profession").is_displayed()  # first sign-in
    _shot(browser, "02-learn.png")
    _fits(browser)


def _claim_refused_then_recovered(browser: Any) -> str:
    """Claim with no profession: refused, kept to finish; the profile (filled wrongly first)
    leads back to the cycle. Returns the cycle's reflect page URL."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _click(browser, By.PARTIAL_LINK_TEXT, "Reflect and claim")
    _wait_for(browser, "How does this apply to your practice?")
    reflect = browser.current_url
    _fits(browser)  # a long source address wraps
    _click(browser, By.ID, "app-confirmed-plan")
    _click(browser, By.XPATH, "//button[@value='claim']")
    _wait_for(browser, "Not claimed yet")
    _shot(browser, "03-claim-refused.png")
    _click(browser, By.PARTIAL_LINK_TEXT, "Add your profession")
    _wait_for(browser, "What we need, and why")
    assert browser.find_element(By.PARTIAL_LINK_TEXT, "Back to").get_attribute("href") == reflect
    browser.find_element(By.ID, "given_name").send_keys("Brenda")
    browser.find_element(By.ID, "family_name").send_keys("Browser")
    Select(browser.find_element(By.ID, "profession")).select_by_value("physician-md")
    browser.find_element(By.ID, "npi").send_keys("123")
    _click(browser, By.XPATH, "//button[text()='Save profile']")
    _wait_for(browser, "Please check this answer")
    assert browser.find_element(By.ID, "npi-error").is_displayed()
    assert browser.find_element(By.ID, "given_name").get_attribute("value") == "Brenda"
    _shot(browser, "04-profile-errors.png")
    _fits(browser)
    browser.find_element(By.ID, "npi").clear()
    browser.find_element(By.ID, "npi").send_keys("1234567893")
    _click(browser, By.XPATH, "//button[text()='Save profile']")
    _wait_for(browser, "you can claim your credit now")
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
    _click(browser, By.ID, "app-confirmed-plan")
    _click(browser, By.XPATH, "//button[@value='claim']")
    _wait_for(browser, "Credit claimed")
    assert browser.find_element(By.ID, "entries").is_displayed()
    chart = browser.find_element(By.CSS_SELECTOR, "svg.chart-svg")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", chart)
    assert chart.is_displayed()
    assert chart.size["height"] > 50
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart-svg rect.bar")
    _shot(browser, "05-home.png")
    _fits(browser)
    browser.get(reflect)
    _wait_for(browser, "Your credit")
    assert not browser.find_elements(By.TAG_NAME, "textarea")
    assert browser.find_element(By.PARTIAL_LINK_TEXT, "Certificate").is_displayed()
    _shot(browser, "06-claimed.png")
    _fits(browser)
