"""A real headless Chromium walks the demo's two stories of practice, on a phone (390 px) and
on a desktop, with screenshots in test-artifacts/ and no sideways scroll on any page:

- the naloxone story (issue 19): oxycodone signed alone gets the naloxone card; the clinician
  learns from it and claims the credit; oxycodone signed with naloxone gets no naloxone card;
  the learner's practice panel shows 0 of 1 before learning and 1 of 1 after, and the
  education lead's dashboard adds this clinician's counts to the synthetic cohort's;
- review and quick recall (issue 20): a case answered with one miss and one right answer
  marked "I'm not sure" queues both; once the miss is due, the home offers it and says why,
  the patient's chart shows a "Quick recall (30 s)" card within the fatigue cap (in a teaching
  card's place), and a right answer moves its next date out.

Skips locally without Chromium; fails under CI=true."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ehr_simulator.demo import Demo
from ehr_simulator.outcomes import _COHORT, COHORT_MEASURE
from service.cards.library import load_library
from service.cards.model import ContentItem
from service.db.changes import learner_changed
from service.reviews.models import ReviewItem
from service.runtime import Runtime
from tests.e2e import browser as ui

pytestmark = pytest.mark.browser
demo, browser = ui.demo, ui.browser  # the fixtures

NALOXONE = "cdc-opioid-naloxone"
RECALL = "Quick recall (30 s): "


def _item(item_id: str) -> ContentItem:
    item = load_library().get(item_id)
    assert item is not None, item_id
    return item


def _link_of(driver: Any, title: str) -> Any:
    """The smart link of the chart's card with this title, or None."""
    return next((link for shown, link in ui.cards(driver) if shown == title), None)


def _into_view(driver: Any, element: Any) -> None:
    """Scroll an element to the top of the window, for the screenshot that follows."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", element)


def _wait_until_gone(driver: Any, text: str) -> None:
    """Wait until the page (after a form's redirect) no longer contains text."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 20).until(lambda d: text not in d.page_source)


def _reflect_and_claim(driver: Any, profession: str | None = None) -> None:
    """From a learn page: reflect (the question comes pre-filled from the card), give the
    profession on the reflection itself when asked, and claim: back on My learning."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    ui.click(driver, By.PARTIAL_LINK_TEXT, "Reflect and claim")
    ui.wait_for(driver, "How does this apply to your practice?")
    ui.fits(driver)
    assert driver.find_element(By.ID, "question").get_attribute("value").strip()
    ui.click(driver, By.ID, "app-changed-management")
    if profession is not None:
        Select(driver.find_element(By.ID, "profession")).select_by_value(profession)
    ui.click(driver, By.XPATH, "//button[@value='claim']")
    ui.wait_for(driver, "Credit claimed")
    assert "/app/" in driver.current_url


# 1. The naloxone story (issue 19 item 6)


def _practice_values(driver: Any, demo: Demo, item_id: str, after: str) -> list[str]:
    """The words of the measure's two bars on My learning, once the "after" bar says `after`:
    the practice recorder writes its counts about once a second, so reload for up to 10 s."""
    from selenium.webdriver.common.by import By

    wanted = f"figure.practice[aria-labelledby='practice-{item_id}-h'] text.value"
    deadline = time.monotonic() + 10
    while True:
        driver.get(demo.settings.public_url + "/app/")
        ui.wait_for(driver, "My learning")
        with ui.at_once(driver):
            values = [
                e.get_attribute("textContent")
                for e in driver.find_elements(By.CSS_SELECTOR, wanted)
            ]
        if values[-1:] == [after] or time.monotonic() > deadline:
            return values
        time.sleep(0.5)


def _cohort(phase: int, this_clinician: tuple[int, int]) -> tuple[str, str]:
    """The dashboard's words for one phase of the naloxone measure: the synthetic cohort's
    (opportunities, concordant) summed, plus this clinician's; and the learners counted."""
    opportunities = sum(phases[phase][0] for phases in _COHORT) + this_clinician[0]
    concordant = sum(phases[phase][1] for phases in _COHORT) + this_clinician[1]
    share = f"{round(concordant / opportunities * 100)}%"
    return f"{concordant} of {opportunities} ({share})", str(len(_COHORT) + 1)


def _dashboard_rows(driver: Any, title: str) -> list[tuple[str, ...]]:
    """The practice table's rows (phase, as recommended, learners) of the item's section."""
    from selenium.webdriver.common.by import By

    article = next(
        a
        for a in driver.find_elements(By.CSS_SELECTOR, "article.item")
        if a.find_element(By.TAG_NAME, "h3").text == title
    )
    _into_view(driver, article.find_element(By.CSS_SELECTOR, "figure.chart"))
    table = article.find_element(By.CSS_SELECTOR, "table.practice")
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    return [
        tuple(
            cell.get_attribute("textContent").strip() for cell in row.find_elements(By.XPATH, "./*")
        )
        for row in rows
    ]


def test_naloxone_story(demo: Demo, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    item = _item(NALOXONE)
    chart = ui.open_chart(browser, demo, "Delbert")
    # oxycodone alone: the naloxone card (CDC 2022, Recommendation 8)
    ui.click(browser, By.ID, "prescribe")
    ui.wait_for(browser, "Cards from Bedside (order-sign)")
    link = _link_of(browser, item.summary)
    assert link is not None, "an opioid signed without naloxone gets the naloxone card"
    _into_view(browser, link)
    ui.shot(browser, "practice-01-cards.png")
    ui.fits(browser)

    # learn, give the profession asked at a first sign-in, reflect and claim
    ui.click_element(browser, link)
    ui.wait_for(browser, "One question before you start")
    assert "/app/cycles/" in browser.current_url
    assert browser.find_element(By.TAG_NAME, "h1").text == item.title
    ui.shot(browser, "practice-02-learn.png")
    ui.fits(browser)
    Select(browser.find_element(By.ID, "ask-profession")).select_by_value("physician-md")
    ui.click(browser, By.XPATH, "//button[text()='Save my profession']")
    _wait_until_gone(browser, "One question before you start")
    assert "/app/cycles/" in browser.current_url  # back to the card's cycle
    _reflect_and_claim(browser)

    # oxycodone with naloxone nasal spray: the naloxone card is gone
    browser.get(chart)
    ui.wait_for(browser, "Cards from Bedside (patient-view)")
    ui.click(browser, By.ID, "prescribe-with-naloxone")
    ui.wait_for(browser, "Cards from Bedside (order-sign)")
    with ui.at_once(browser):
        assert not browser.find_elements(By.CSS_SELECTOR, "p.error")
    assert item.summary not in [title for title, _ in ui.cards(browser)]
    _into_view(browser, browser.find_element(By.TAG_NAME, "h2"))
    ui.shot(browser, "practice-03-with-naloxone.png")

    # the learner's practice: 0 of 1 before learning, 1 of 1 after
    values = _practice_values(browser, demo, NALOXONE, "1 of 1 (100%)")
    assert values == ["0 of 1 (0%)", "1 of 1 (100%)"]
    caption = browser.find_element(By.ID, f"practice-{NALOXONE}-h")
    assert item.measure is not None
    assert caption.text == f"{item.measure.title}: learned on {_today():%d %b %Y}"
    _into_view(browser, caption)
    ui.shot(browser, "practice-04-home.png")
    ui.fits(browser)

    # the education lead: the cohort's counts with this clinician's on top
    assert demo.education_token
    browser.get(demo.settings.public_url + "/education/sign-in")
    ui.wait_for(browser, "Sign in as an education lead")
    ui.fits(browser)
    browser.find_element(By.ID, "token").send_keys(demo.education_token)
    ui.click(browser, By.XPATH, "//button[text()='Sign in']")
    ui.wait_for(browser, "Outcomes of")
    assert COHORT_MEASURE == NALOXONE
    before, after = _cohort(0, (1, 0)), _cohort(1, (1, 1))
    rows = _dashboard_rows(browser, item.title)
    assert rows == [("Before learning", *before), ("After learning", *after)]
    ui.shot(browser, "practice-05-dashboard.png")
    ui.fits(browser)


# 2. Review and quick recall (issue 20)


def _first_case_card(driver: Any, demo: Demo) -> tuple[str, ContentItem, Any]:
    """The first demo patient's chart (patient-view) with a case card: its address, the case
    and the card's smart link."""
    from selenium.webdriver.common.by import By

    cases = {item.summary: item for item in load_library() if item.case is not None}
    driver.get(demo.config.base_url + "/")
    charts = [
        a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "a.open-chart")
    ]
    for chart in charts:
        driver.get(chart)
        ui.wait_for(driver, "Cards from Bedside (patient-view)")
        for title, link in ui.cards(driver):
            if title in cases and link is not None:
                return chart, cases[title], link
    raise AssertionError("no case card on any demo patient's chart")


def _answer(driver: Any, question: str, option: str) -> None:
    from selenium.webdriver.common.by import By

    ui.click(driver, By.ID, f"{question}-{option}")


async def _make_due(runtime: Runtime, item_id: str, question_id: str) -> set[tuple[str, str]]:
    """Move one queued question's due time to a minute ago, as the hook would see it once
    its day has come (marking the learner changed, so the hook drops its kept copy). Returns
    what the queue holds for the item: (question, why queued)."""
    async with runtime.sessions() as db, db.begin():
        rows = (await db.scalars(select(ReviewItem).where(ReviewItem.item_id == item_id))).all()
        queued = {(row.question_id, row.reason) for row in rows}
        for row in rows:
            if row.question_id == question_id:
                row.due = runtime.clock() - timedelta(minutes=1)
                learner_changed(db, row.learner)
    return queued


def _today() -> date:
    return datetime.now(UTC).date()


def test_review_and_quick_recall(demo: Demo, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    runtime: Runtime = demo.bedside.state.runtime
    chart, item, link = _first_case_card(browser, demo)
    assert item.case is not None
    _into_view(browser, link)
    ui.shot(browser, "review-01-case-card.png")
    ui.click_element(browser, link)
    ui.wait_for(browser, "The case")

    # one question missed, one answered right but marked "I'm not sure", the rest right
    missed, unsure, *rest = item.case.questions
    wrong = next(o for o in missed.options if not o.correct)
    right = {q.id: next(o for o in q.options if o.correct) for q in item.case.questions}
    _answer(browser, missed.id, wrong.id)
    _answer(browser, unsure.id, right[unsure.id].id)
    ui.click(browser, By.ID, f"unsure-{unsure.id}")
    for question in rest:
        _answer(browser, question.id, right[question.id].id)
    ui.click(browser, By.XPATH, "//button[text()='Check my answers']")
    ui.wait_for(browser, "You answered")
    feedback = browser.find_element(By.ID, "feedback").text
    total = len(item.case.questions)
    assert f"You answered {total - 1} of {total} correctly" in feedback
    assert "come back for a 30-second review" in feedback
    _into_view(browser, browser.find_element(By.CSS_SELECTOR, "p.feedback.wrong"))
    ui.shot(browser, "review-02-answered.png")
    ui.fits(browser)
    if "You passed." not in feedback:  # a case that needs every answer right: answer again
        _answer(browser, missed.id, right[missed.id].id)
        ui.click(browser, By.XPATH, "//button[text()='Answer again']")
        ui.wait_for(browser, "You passed.")
    _reflect_and_claim(browser, profession="physician-md")

    # nothing is due yet: a missed question comes back a day later, not minutes later
    with ui.at_once(browser):
        assert not browser.find_elements(By.ID, "reviews")
    queued = ui.on_demo(demo, _make_due(runtime, item.id, missed.id))
    assert queued == {(missed.id, "missed"), (unsure.id, "unsure")}

    # My learning offers it, and the review page says why it is there
    browser.get(demo.settings.public_url + "/app/")
    ui.wait_for(browser, "to review")
    offer = browser.find_element(By.CSS_SELECTOR, "#reviews a")
    assert offer.text == "1 to review"
    ui.shot(browser, "review-03-home.png")
    review = offer.get_attribute("href")
    ui.click_element(browser, offer)
    ui.wait_for(browser, "Thirty seconds")
    today = _today()
    assert browser.find_element(By.ID, "why").text == f"You missed this on {today.day} {today:%b}."
    assert browser.find_element(By.TAG_NAME, "legend").text == missed.stem
    ui.shot(browser, "review-04-review.png")
    ui.fits(browser)

    # the case patient's chart: one quiet recall card, last, within the demo's cap (it takes
    # the place of the last card, a teaching one: never a warning's)
    browser.get(chart)
    ui.wait_for(browser, "Cards from Bedside (patient-view)")
    shown = ui.cards(browser)
    assert len(shown) == demo.settings.max_cards
    assert item.summary not in [title for title, _ in shown]  # learned: its card is done
    recalls = [(title, link) for title, link in shown if title.startswith(RECALL)]
    assert [title for title, _ in recalls] == [RECALL + item.title]
    assert shown[-1][0] == RECALL + item.title
    ((_, recall_link),) = recalls
    assert recall_link is not None
    _into_view(browser, recall_link)
    ui.shot(browser, "review-05-recall-card.png")
    ui.fits(browser)

    # the card opens the same question; a right answer sends it further out
    ui.click_element(browser, recall_link)
    ui.wait_for(browser, "Thirty seconds")
    assert browser.current_url == review
    ui.click(browser, By.ID, f"choice-{right[missed.id].id}")
    ui.click(browser, By.XPATH, "//button[text()='Check my answer']")
    ui.wait_for(browser, "comes back on")
    assert browser.find_element(By.ID, "feedback").text.startswith("Correct.")
    next_due = datetime.strptime(browser.find_element(By.ID, "next-due").text, "%d %b %Y").date()
    assert next_due > today
    ui.shot(browser, "review-06-answered.png")
    ui.fits(browser)
