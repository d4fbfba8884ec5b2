"""The what-if page in a real browser: headless Chromium (Debian's package, installed by
.ci/run) driven by Playwright, against a real server. Load the page, move the budget,
see the plan change; no console errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser import browser_page
from serving import running

from funnelopt.service import Config


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with running(Config(workers=1)) as url, browser_page() as (tab, problems):
        tab.goto(url + "/")
        tab.problems = problems
        yield tab


def plans(tab: Any) -> int:
    return int(tab.evaluate("Number(document.body.dataset.plans || 0)"))


def wait_for_plan(tab: Any, after: int) -> None:
    tab.wait_for_function("n => Number(document.body.dataset.plans || 0) > n", arg=after)


def test_the_page_shows_the_example_plan(page: Any) -> None:
    wait_for_plan(page, 0)
    assert page.text_content("#status") == "goals met"
    assert page.text_content("#community") == "patients_de: build it"
    assert page.text_content("#cpc").endswith("EUR")
    assert page.locator("#chart rect").count() > 26  # bars for every week, stacked
    assert page.locator("#goals tbody tr").count() == 3
    assert page.input_value("#budget") == "150000"


def test_moving_the_budget_changes_the_plan(page: Any) -> None:
    wait_for_plan(page, 0)
    before = {k: page.text_content(k) for k in ("#conversions", "#spent", "#cpc")}
    n = plans(page)
    page.focus("#budget")
    page.keyboard.press("PageDown")  # a tenth of the slider's range less budget
    wait_for_plan(page, n)
    assert float(page.input_value("#budget")) < 150_000
    after = {k: page.text_content(k) for k in before}
    assert after["#conversions"] != before["#conversions"]
    assert after["#spent"] != before["#spent"]
    assert page.text_content("#status") == "goals met"


def test_no_console_errors(page: Any) -> None:
    wait_for_plan(page, 0)
    assert page.problems == []
