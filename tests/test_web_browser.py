"""The search page in a real headless Chromium (Debian's chromium and chromium-driver).

One server for the module (``nato-search serve --http`` in a subprocess, on loopback)
over the small corpus of ``web_fixture``; one browser for the module. Nothing is
downloaded: Selenium is given Debian's chromedriver, which drives Debian's chromium.
Set ``NATO_SEARCH_SCREENSHOT=docs`` to save the screenshots of docs/http.md there.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import web_fixture

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )
pytest.importorskip("uvicorn", reason="needs the web extra (pip install '.[test]')")
webdriver = pytest.importorskip(
    "selenium.webdriver", reason="needs selenium (pip install '.[test]')"
)

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT_S = 15
TITLE = "Revue de presse « OTAN »"
PAGE_OPTIONS = ["--title", TITLE, "--facet", "year", "--facet", "source", "--facet", "tags"]
"""The page as ``serve`` sets it up: one hit per document and the newest documents first
are its defaults."""
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("web")
    web_fixture.build(folder / "index").close()
    port = free_port()
    env = {**os.environ, "NATO_SEARCH_HOME": str(folder / "home")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "nato_search", "serve", "--http", f"127.0.0.1:{port}"]
    process = subprocess.Popen(
        [*command, "--index", str(folder / "index"), *PAGE_OPTIONS],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the server did not start: {process.communicate()[1].decode()}")
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=10)
    assert process.stderr is not None
    process.stderr.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1100,800",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser: WebDriver, server: str) -> WebDriver:
    """The search page, fresh: an empty query."""
    browser.set_window_size(1100, 800)
    browser.get(f"{server}/")
    return browser


def wait(driver: WebDriver, condition, message: str):  # type: ignore[no-untyped-def]
    return WebDriverWait(driver, WAIT_S).until(lambda d: condition(d), message)


def status(driver: WebDriver) -> str:
    return str(driver.find_element(By.ID, "status").text)


def wait_status(driver: WebDriver, expected: str) -> None:
    wait(driver, lambda d: status(d) == expected, f"status {expected!r}, not {status(driver)!r}")


def results(driver: WebDriver) -> list:  # type: ignore[type-arg]
    return list(driver.find_elements(By.CSS_SELECTOR, "#results > li"))


def query_of(driver: WebDriver) -> dict[str, list[str]]:
    return parse_qs(urlparse(driver.current_url).query)


def test_typing_a_word_start_marks_the_word_it_completes(page: WebDriver) -> None:
    # focus on load (the page's script gives it, a moment after the load event)
    wait(page, lambda d: d.switch_to.active_element.get_attribute("id") == "q", "focus on q")
    box = page.switch_to.active_element
    box.send_keys("muni")
    wait(
        page,
        lambda d: (
            "munitions" in [m.text for m in d.find_elements(By.CSS_SELECTOR, ".snippet mark")]
        ),
        "a snippet marking munitions",
    )
    # the page searches as it is typed: wait for the answer to the whole word start
    wait(page, lambda d: query_of(d).get("q") == ["muni"], "the word start in the URL")
    wait_status(page, "2 documents.")
    assert not page.find_element(By.ID, "pages").is_displayed()  # one page: no paging
    first = results(page)[0]
    assert first.find_element(By.CSS_SELECTOR, ".meta").text == (
        "28 août 2024 · 003_1bfd15bd7f542d98 · paragraphe 2 · example.org"
    )
    source = first.find_element(By.CSS_SELECTOR, "a.source")
    assert source.get_attribute("href") == "https://example.org/003_1bfd15bd7f542d98"
    assert page.find_element(By.TAG_NAME, "h1").text == TITLE and page.title == TITLE
    if folder := os.environ.get("NATO_SEARCH_SCREENSHOT"):
        page.save_screenshot(str(Path(folder) / "search-page.png"))


def test_did_you_mean_runs_the_suggestion(page: WebDriver) -> None:
    page.find_element(By.ID, "q").send_keys("Stoltemberg")
    link = wait(
        page,
        lambda d: (
            d.find_element(By.ID, "suggestion-link").is_displayed()
            and d.find_element(By.ID, "suggestion-link")
        ),
        "a Did you mean link",
    )
    assert link.text == "Stoltenberg"
    link.click()
    wait(page, lambda d: query_of(d).get("q") == ["Stoltenberg"], "the suggestion in the URL")
    wait(page, lambda d: not d.find_element(By.ID, "suggestion").is_displayed(), "no suggestion")
    assert page.find_element(By.ID, "q").get_attribute("value") == "Stoltenberg"
    marks = {m.text for m in page.find_elements(By.CSS_SELECTOR, "#results mark")}
    assert marks == {"Stoltenberg"}


def test_paging_shows_results_11_to_20_and_back_returns(page: WebDriver, server: str) -> None:
    page.get(f"{server}/?q=ravitaillement")
    wait_status(page, "Documents 1–10 sur 24.")
    first_page = [item.find_element(By.CSS_SELECTOR, "a.hit").text for item in results(page)]
    page.find_element(By.ID, "next").click()
    wait_status(page, "Documents 11–20 sur 24.")
    second_page = [item.find_element(By.CSS_SELECTOR, "a.hit").text for item in results(page)]
    assert len(second_page) == 10 and not set(first_page) & set(second_page)
    assert query_of(page)["page"] == ["2"]
    page.find_element(By.ID, "next").click()
    wait_status(page, "Documents 21–24 sur 24.")
    assert not page.find_element(By.ID, "next").is_enabled()
    page.back()
    wait_status(page, "Documents 11–20 sur 24.")


def test_a_year_filters_and_toggles_off(page: WebDriver, server: str) -> None:
    page.get(f"{server}/?q=ravitaillement")
    wait_status(page, "Documents 1–10 sur 24.")
    years = [b.text for b in page.find_elements(By.CSS_SELECTOR, "button.year")]
    assert years == ["2023 (10)", "2021 (14)"]
    page.find_element(By.CSS_SELECTOR, 'button.year[data-year="2021"]').click()
    wait_status(page, "Documents 1–10 sur 14.")
    dates = [
        item.find_element(By.CSS_SELECTOR, ".meta").text.split(" · ")[0] for item in results(page)
    ]
    assert all(date.endswith(" 2021") for date in dates) and len(dates) == 10
    pressed = page.find_element(By.CSS_SELECTOR, 'button.year[data-year="2021"]')
    assert pressed.get_attribute("aria-pressed") == "true"
    assert page.switch_to.active_element == pressed  # the keyboard stays on the button
    assert query_of(page)["year"] == ["2021"]
    pressed.send_keys(Keys.ENTER)
    wait_status(page, "Documents 1–10 sur 24.")


def test_one_hit_per_document_and_a_switch_to_all(page: WebDriver, server: str) -> None:
    page.get(f"{server}/?q=ravitaillement+OR+camions")
    wait_status(page, "Documents 1–10 sur 24.")
    ids = [
        item.find_element(By.CSS_SELECTOR, ".meta").text.split(" · ")[1] for item in results(page)
    ]
    assert len(set(ids)) == 10
    assert page.find_element(By.ID, "per-document").is_selected()
    page.find_element(By.ID, "per-document").click()
    wait_status(page, "Résultats 1–10 sur 48.")
    assert query_of(page)["one"] == ["0"]
    page.refresh()
    wait_status(page, "Résultats 1–10 sur 48.")  # the URL keeps the choice
    assert not page.find_element(By.ID, "per-document").is_selected()


def test_keyboard_opens_the_document_at_the_matched_paragraph(page: WebDriver) -> None:
    page.set_window_size(700, 500)
    box = page.find_element(By.ID, "q")
    box.send_keys("muni")
    wait_status(page, "2 documents.")
    links = page.find_elements(By.CSS_SELECTOR, "a.hit")
    for key, focused in [
        (Keys.ARROW_DOWN, links[0]),
        (Keys.ARROW_DOWN, links[1]),
        (Keys.ARROW_UP, links[0]),
        (Keys.ARROW_UP, box),
        (Keys.ARROW_DOWN, links[0]),
        (Keys.ARROW_DOWN, links[1]),
    ]:
        page.switch_to.active_element.send_keys(key)
        assert page.switch_to.active_element == focused
    page.switch_to.active_element.send_keys(Keys.ENTER)
    wait(page, lambda d: "/documents/" in d.current_url, "the document view")
    assert page.find_element(By.CSS_SELECTOR, ".meta").text == "3 avril 2024 · 002_3378df031dd4d962"
    current = page.find_element(By.CSS_SELECTOR, "p.current")
    assert current.get_attribute("id") == "p-1"
    assert [m.text for m in current.find_elements(By.TAG_NAME, "mark")] == ["munitions"]
    top = page.execute_script("return arguments[0].getBoundingClientRect().top", current)
    assert page.execute_script("return window.scrollY") > 0 and 0 <= top < 100
    page.back()
    wait_status(page, "2 documents.")
    assert page.find_element(By.ID, "q").get_attribute("value") == "muni"


def test_a_query_url_survives_a_reload(browser: WebDriver, server: str) -> None:
    browser.get(f"{server}/?q=munitions")
    wait_status(browser, "2 documents.")
    before = [item.text for item in results(browser)]
    browser.refresh()
    wait_status(browser, "2 documents.")
    assert [item.text for item in results(browser)] == before
    assert browser.find_element(By.ID, "q").get_attribute("value") == "munitions"


def test_markup_in_a_document_shows_as_text(page: WebDriver, server: str) -> None:
    page.find_element(By.ID, "q").send_keys("piégé balise")
    wait(page, lambda d: query_of(d).get("q") == ["piégé balise"], "the query in the URL")
    wait(page, lambda d: status(d).endswith(" document.") and results(d), "the hostile document")
    item = results(page)[0]
    assert item.find_element(By.CSS_SELECTOR, "a.hit").text == web_fixture.HOSTILE_TITLE
    assert (
        "<script>document.title='pwned'</script>"
        in item.find_element(By.CSS_SELECTOR, ".snippet").text
    )
    assert not page.find_elements(By.CSS_SELECTOR, "#results script, #results img, #results b")
    assert not item.find_elements(By.CSS_SELECTOR, "a.source")  # a javascript: url is no link
    item.find_element(By.CSS_SELECTOR, "a.hit").click()
    wait(page, lambda d: "/documents/" in d.current_url, "the document view")
    assert page.find_element(By.TAG_NAME, "h1").text == web_fixture.HOSTILE_TITLE
    assert page.find_element(By.CSS_SELECTOR, "p.current").text == web_fixture.HOSTILE_TEXT
    assert not page.find_elements(
        By.CSS_SELECTOR, "article script, article img, article b, article i"
    )
    assert page.title != "pwned"


def test_a_bad_query_says_why(page: WebDriver, server: str) -> None:
    page.get(f"{server}/?q=ravitaillement")
    wait_status(page, "Documents 1–10 sur 24.")
    box = page.find_element(By.ID, "q")
    box.send_keys(" date:2024-02-30")
    alert = page.find_element(By.ID, "error")
    wait(page, lambda d: alert.is_displayed(), "the error")
    assert alert.text == (
        "La date « date:2024-02-30 » n’existe pas ou ne s’écrit pas AAAA, AAAA-MM ou AAAA-MM-JJ."
    )
    assert not results(page) and status(page) == ""


def test_readable_at_phone_width(page: WebDriver, server: str) -> None:
    page.set_window_size(390, 800)
    page.get(f"{server}/?q=ravitaillement")
    wait_status(page, "Documents 1–10 sur 24.")
    assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def test_before_a_query_the_newest_documents_show(page: WebDriver) -> None:
    newest = sorted(
        (d for d in web_fixture.documents() if d.date), key=lambda d: (d.date, d.id), reverse=True
    )
    total = len(web_fixture.documents())
    wait_status(page, f"{total} documents, les plus récents d’abord.")
    titles = [item.find_element(By.CSS_SELECTOR, "a.hit").text for item in results(page)]
    assert titles[:3] == [d.title for d in newest[:3]]
    assert not page.find_elements(By.CSS_SELECTOR, "#results mark")  # nothing was searched
    if folder := os.environ.get("NATO_SEARCH_SCREENSHOT"):
        page.save_screenshot(str(Path(folder) / "search-page-browse.png"))


def test_a_metadata_facet_filters_and_toggles_off(page: WebDriver, server: str) -> None:
    page.get(f"{server}/?q=ravitaillement")
    wait_status(page, "Documents 1–10 sur 24.")
    sources = [
        b.text for b in page.find_elements(By.CSS_SELECTOR, 'nav[data-facet="source"] button')
    ]
    assert sources == ["AFP (12)", "Reuters (12)"]
    tags = [b.text for b in page.find_elements(By.CSS_SELECTOR, 'nav[data-facet="tags"] button')]
    assert tags == ["convoi (24)", "lot-0 (8)", "lot-1 (8)", "lot-2 (8)"]
    page.find_element(By.CSS_SELECTOR, 'button[data-facet="source"][data-value="AFP"]').click()
    wait_status(page, "Documents 1–10 sur 12.")
    assert query_of(page)["f.source"] == ["AFP"]
    page.find_element(By.CSS_SELECTOR, 'button[data-facet="tags"][data-value="lot-1"]').click()
    wait_status(page, "4 documents.")  # odd numbers 1 to 23 that are 1 modulo 3: 1, 7, 13, 19
    numbers = sorted(
        int(item.find_element(By.CSS_SELECTOR, "a.hit").text.split()[-1]) for item in results(page)
    )
    assert numbers == [1, 7, 13, 19]
    pressed = page.find_element(By.CSS_SELECTOR, 'button[data-facet="source"][data-value="AFP"]')
    assert pressed.get_attribute("aria-pressed") == "true"
    pressed.click()
    wait_status(page, "8 documents.")
    assert "f.source" not in query_of(page)


def test_a_title_only_match_shows_the_first_paragraph(page: WebDriver, server: str) -> None:
    page.get(f"{server}/?q=numéro")  # in the convoys' titles, in none of their paragraphs
    wait_status(page, "Documents 1–10 sur 24.")
    item = results(page)[0]
    assert [m.text for m in item.find_elements(By.CSS_SELECTOR, "a.hit mark")] == ["numéro"]
    snippet = item.find_element(By.CSS_SELECTOR, ".snippet").text
    assert snippet.startswith("Le convoi de ravitaillement ")
    assert item.find_element(By.CSS_SELECTOR, ".meta").text.split(" · ")[2] == "paragraphe 1"
    item.find_element(By.CSS_SELECTOR, "a.hit").click()
    wait(page, lambda d: "/documents/" in d.current_url, "the document view")
    assert page.find_element(By.CSS_SELECTOR, "p.current").get_attribute("id") == "p-0"
