"""What the real-browser tests share: `bedside demo` in a background thread (`demo`), a headless
Chromium at a phone's or a desktop's width (`browser`), screenshots into test-artifacts/, the
no-sideways-scroll check, and small helpers to read the EHR simulator's cards. Test modules
import the two fixtures by name. Skips locally without Chromium; fails under CI=true."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from ehr_simulator.demo import Demo, build_demo, serve_demo
from tests.conftest import IN_CI

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 900)}
IMPLICIT_WAIT = 10  # seconds a find_element waits for its element to appear
T = TypeVar("T")
# the event loop each running demo serves on (keyed by the Demo's id while it runs)
_LOOPS: dict[int, asyncio.AbstractEventLoop] = {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_browser() -> Any:
    """selenium's `webdriver` module; skips (fails under CI=true) without the browser."""
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    webdriver: Any
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
    """`bedside demo` on free loopback ports, in a background thread (its loop: `on_demo`)."""
    running = build_demo(port=free_port(), ehr_port=free_port(), data_dir=tmp_path)
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            with asyncio.Runner() as runner:
                _LOOPS[id(running)] = runner.get_loop()
                runner.run(serve_demo(running))
        except BaseException as exc:  # uvicorn exits with SystemExit when startup fails
            failures.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not failures:
        try:
            page = httpx.get(running.settings.public_url + "/app/login", timeout=1)
            if "/app/login?ehr=" in page.text and running.education_token:
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
    _LOOPS.pop(id(running), None)


def on_demo(demo: Demo, work: Coroutine[Any, Any, T], timeout: float = 30) -> T:
    """Run a coroutine on the demo's own event loop (its database sessions and the hook's
    learner memory live there) and return its result."""
    return asyncio.run_coroutine_threadsafe(work, _LOOPS[id(demo)]).result(timeout)


@pytest.fixture(params=list(VIEWPORTS))
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    webdriver = require_browser()
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
    driver.implicitly_wait(IMPLICIT_WAIT)
    driver.set_window_size(width, height)  # --window-size alone stops at 500 px wide
    assert driver.execute_script("return window.innerWidth") == width
    driver.viewport = request.param
    yield driver
    driver.quit()


def shot(driver: Any, name: str) -> None:
    """A full-window screenshot, test-artifacts/{viewport}-{name}."""
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{driver.viewport}-{name}"))


WIDEST = """
const width = document.documentElement.clientWidth;
return [document.documentElement.scrollWidth, width, Array.from(document.querySelectorAll('*'))
  .filter(e => e.getBoundingClientRect().right > width)
  .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
  .slice(-3).join(', ')];
"""


def fits(driver: Any) -> None:
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


def wait_for(driver: Any, text: str, seconds: float = 20) -> None:
    """Wait until the page (after a click's navigation) contains text."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, seconds).until(lambda d: text in d.page_source)


def click(driver: Any, how: str, what: str) -> None:
    """Scroll an element into view and click it (a phone shows little at once)."""
    element = driver.find_element(how, what)
    click_element(driver, element)


def click_element(driver: Any, element: Any) -> None:
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


@contextlib.contextmanager
def at_once(driver: Any) -> Iterator[None]:
    """Find elements without waiting for them: for what may rightly be absent."""
    driver.implicitly_wait(0)
    try:
        yield
    finally:
        driver.implicitly_wait(IMPLICIT_WAIT)


def cards(driver: Any) -> list[tuple[str, Any]]:
    """(title, first smart link or None) of each card the EHR simulator's chart shows (the
    page is loaded: call after `wait_for`); a card's title is its summary, unshortened."""
    from selenium.webdriver.common.by import By

    found = []
    with at_once(driver):
        for card in driver.find_elements(By.CSS_SELECTOR, "section.card"):
            links = card.find_elements(By.CSS_SELECTOR, "a.smart-link")
            title = card.find_element(By.TAG_NAME, "h3").text
            found.append((title, links[0] if links else None))
    return found


def open_chart(driver: Any, demo: Demo, patient: str) -> str:
    """From the simulator's patient list, open the chart of the patient whose row names
    `patient` (patient-view fires); returns the chart's address."""
    from selenium.webdriver.common.by import By

    driver.get(demo.config.base_url + "/")
    row = driver.find_element(By.XPATH, f"//tr[td[contains(., '{patient}')]]")
    click_element(driver, row.find_element(By.CSS_SELECTOR, "a.open-chart"))
    wait_for(driver, "Cards from Bedside (patient-view)")
    return str(driver.current_url)
