"""The web page at / in a real headless Chromium: form from the schema, predict, explain, token.

Skips when no chromium is installed (Debian: apt-get install chromium).
"""

from __future__ import annotations

import pytest

from tests.serve.browser import Chromium, find_chromium
from tests.serve.conftest import live_server

BINARY = find_chromium()
pytestmark = pytest.mark.skipif(BINARY is None, reason="chromium is not installed")
pytest.importorskip("websocket", reason="needs websocket-client (in the test extra)")

STATUS = "document.getElementById('status').textContent"
INPUTS = "[...document.querySelectorAll('[data-name]')]"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with Chromium(str(BINARY), tmp_path_factory.mktemp("chromium")) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def url(served_app):
    with live_server(served_app) as base:
        yield base


def _field(name: str) -> str:
    return f"{INPUTS}.find(i => i.dataset.name === {name!r})"


def test_form_is_built_from_the_schema_and_predicts_with_explanation(browser, url, stored_run):
    _, _, frame = stored_run
    browser.open(url + "/")
    assert browser.wait_for(f"{STATUS} === 'ready' && {STATUS}")
    names = browser.evaluate(
        "[...document.querySelectorAll('[data-name]')].map(i => i.dataset.name)"
    )
    assert names == list(frame.columns)
    assert browser.evaluate(f"{_field('colour')}.tagName") == "SELECT"
    browser.evaluate(f"{_field('x1')}.value = '2.5'")
    browser.evaluate("document.getElementById('predict').click()")
    assert browser.wait_for(f"['done', 'error'].includes({STATUS}) && {STATUS}") == "done"
    assert browser.evaluate("document.getElementById('prediction').textContent").startswith("y: ")
    assert browser.evaluate("document.querySelectorAll('#probabilities tr').length") == 2
    rows = browser.evaluate("document.querySelectorAll('#explanation tr').length")
    assert rows == len(frame.columns) + 1  # a header and one row per feature
    assert browser.errors() == []


def test_invalid_field_is_marked_on_the_form(browser, url):
    browser.open(url + "/")
    browser.wait_for(f"{STATUS} === 'ready'")
    browser.evaluate(f"{_field('when')}.value = 'not a date'")
    browser.evaluate("document.getElementById('predict').click()")
    assert browser.wait_for(f"['done', 'error'].includes({STATUS}) && {STATUS}") == "error"
    label = f"{_field('when')}.parentElement"
    message = browser.evaluate(f"{label}.querySelector('.fielderror').textContent")
    assert "expected a date or time" in message
    assert browser.evaluate(f"{label}.classList.contains('invalid')")


def test_page_asks_for_the_token_when_one_is_set(browser, stored_run):
    from mlvsdl.serve import create_app

    store, run_id, _ = stored_run
    with live_server(create_app(run_id, store, token="s3cret")) as base:
        browser.open(base + "/")
        browser.wait_for("document.getElementById('tokenbox').style.display === 'block'")
        browser.evaluate("document.getElementById('token').value = 's3cret'")
        browser.evaluate("document.querySelector('#tokenform button').click()")
        assert browser.wait_for(f"{STATUS} === 'ready' && {STATUS}") == "ready"
        browser.evaluate("sessionStorage.clear()")
