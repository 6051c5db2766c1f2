"""A real headless Chromium clicks through the demo: the EHR simulator's chart, a card's smart
link, the SMART launch, the learn page, the reflection, the claim and the transcript.
Screenshots go to test-artifacts/. Skips locally without Chromium; fails under CI=true."""

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


@pytest.fixture
def browser() -> Iterator[Any]:
    webdriver = _require_browser()
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=420,1000",
        "--disable-gpu",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(
        service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options
    )
    driver.implicitly_wait(10)
    yield driver
    driver.quit()


def _shot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))


def _fits_320_px(driver: Any) -> None:
    """Nothing scrolls sideways at 320 px (the smallest phone, narrower than EHR panels)."""
    size = driver.get_window_size()
    driver.set_window_size(320, size["height"])
    try:
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 320, f"{driver.current_url} is {width}px wide at 320px"
    finally:
        driver.set_window_size(size["width"], size["height"])


def _wait_for(driver: Any, text: str) -> None:
    """Wait until the page (after a click's navigation) contains text."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 20).until(lambda d: text in d.page_source)


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


def test_click_through_the_demo(demo: Demo, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(demo.config.base_url + "/")
    charts = [
        a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a.open-chart")
    ]
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
    _shot(browser, "02-learn.png")
    _fits_320_px(browser)
    browser.find_element(By.LINK_TEXT, "My learning").click()
    _wait_for(browser, "Your profile")
    browser.find_element(By.ID, "name").send_keys("Dr Browser")
    Select(browser.find_element(By.ID, "profession")).select_by_value("physician-md")
    browser.find_element(By.XPATH, "//button[text()='Save profile']").click()
    _wait_for(browser, "profile is saved")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Reflect and claim").click()
    _wait_for(browser, "How does this apply to your practice?")
    browser.find_element(By.ID, "app-confirmed-plan").click()
    browser.find_element(By.XPATH, "//button[@value='claim']").click()
    _wait_for(browser, "Credit claimed")
    assert browser.find_element(By.ID, "entries").is_displayed()
    browser.find_element(By.ID, "credit-h").location_once_scrolled_into_view  # noqa: B018
    _shot(browser, "03-transcript.png")
    _fits_320_px(browser)
