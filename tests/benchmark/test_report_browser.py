"""The HTML report of a small run, rendered in headless Chromium.

Never skipped: without Chromium and its driver the test fails with the command that
installs them (``make test`` runs it as root in CI).
"""

import re
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from healthbalance._small_counts import suppress
from healthbalance.benchmark import write_html_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = (
    "sudo apt-get install -y chromium chromium-driver  (or: sudo make ensure-chromium)"
)
WIDTH, MAX_HEIGHT, MAX_BYTES = 1400, 22_500, 1_000_000
UNDEFINED = re.compile(r"\b(nan|inf|infinity)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def browser():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: install them with {INSTALL}")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={WIDTH},900",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def report(results, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "benchmark.html"
    write_html_report(results, path)
    return path


@pytest.fixture(scope="module")
def page(browser, report):
    browser.get(report.as_uri())
    return browser


def test_every_image_decodes(page):
    images = page.execute_script(
        "return Array.from(document.images, i => [i.complete, i.naturalWidth]);"
    )
    assert len(images) >= 3
    assert all(complete and width > 0 for complete, width in images), images


def test_no_undefined_numbers_in_the_visible_text(page):
    text = page.execute_script("return document.body.innerText;")
    assert not UNDEFINED.findall(text), UNDEFINED.findall(text)[:5]
    assert "n/a" in text  # the small groups' masked entries, with their footnote
    assert "n/a: the value is undefined" in text


def test_no_empty_table_rows_or_cells(page):
    rows = page.execute_script(
        "return Array.from(document.querySelectorAll('tr'),"
        " r => Array.from(r.cells, c => c.innerText.trim()));"
    )
    assert rows
    assert all(any(rows_cells) for rows_cells in rows)
    assert not [r for r in rows if "" in r], "a table has an empty cell"


def test_no_external_resources(page):
    links = page.execute_script(
        "return Array.from(document.querySelectorAll('[src],[href]'),"
        " e => e.getAttribute('src') || e.getAttribute('href'));"
    )
    assert not [u for u in links if re.match(r"(https?:)?//", u)], links
    loaded = page.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    assert all(name.startswith("data:") for name in loaded), loaded


def test_the_bottom_line_names_the_worst_off_group(page, results):
    # independently of the report: the lowest AUROC under plain training among the
    # groups of the training attribute that are reliable and released
    m = suppress(results.metrics, 11)
    rows = m[
        (m["strategy"] == "erm")
        & (m["metric"] == "roc_auc")
        & (m["attribute"] == "race_ethnicity")
        & m["reliable"].astype(bool)
        & m["estimate"].notna()
    ]
    worst = rows.loc[rows["estimate"].idxmin(), "group"]
    section = page.execute_script(
        "const s = document.getElementById('bottom-line'); "
        "return [s.innerText, s.getBoundingClientRect().top];"
    )
    text, top = section
    expected = "the worst-off group under plain training (erm) is"
    assert f"race_ethnicity, logistic: {expected} {worst}," in text
    assert top < 400  # on the first screen
    race = m[
        (m["strategy"] == "erm")
        & (m["metric"] == "roc_auc")
        & (m["attribute"] == "race_ethnicity")
    ]
    small = race.loc[~race["reliable"].astype(bool), "group"]
    assert len(small) >= 1
    for group in small:
        assert group in text.split("Too small to rank:")[1]


def test_calibration_of_a_randomized_classifier_is_not_a_number(page):
    text = page.execute_script("return document.body.innerText;")
    assert "not a probability model" in text
    assert not re.search(r"\+3\d\.\d", text)  # fairlearn_eg's +31 intercepts


def test_page_height_and_size_within_the_limits(page, report):
    page.set_window_size(WIDTH, 900)
    width = page.execute_script("return window.innerWidth;")
    assert abs(width - WIDTH) < 20
    height = page.execute_script("return document.body.scrollHeight;")
    assert height <= MAX_HEIGHT
    # no table wider than the window: no sideways scrolling
    width, visible = page.execute_script(
        "const e = document.documentElement; return [e.scrollWidth, e.clientWidth];"
    )
    assert width <= visible
    assert report.stat().st_size < MAX_BYTES
