"""The service in a real headless browser (Debian's chromium driven by Selenium through Debian's
chromium-driver): a vendor signs in, registers a simulated test system, starts a run and watches it
finish; a KOMBIT reviewer accepts what the quick run did not verify as deviations and approves it; the
board shows the vendor's municipalities READY (a trial service: a simulated system's certificate counts);
a second vendor can see neither the system nor the run, in the browser or through the HTTP API.

The run is a real `oir certify --profile eg` in the service's worker, made quick with `--max-examples 1
--no-scenarios` (`--only` would give no certificate: a certificate states what a whole run found); what
the scenarios would have verified is then not verified, and the reviewer accepts exactly that list,
read from the review page. Screenshots of the run page, the review form and the board are saved (and
copied into `$OIR_SCREENSHOT_DIR` when that is set).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.servers import ServerThread
from harness.service import Service, Workers, create_app
from tests.support.service_world import PASSWORD, QUICK, make_service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
EG_MUNICIPALITY = "167"  # Hvidovre: an EG municipality (wave 4)
KMD_MUNICIPALITY = "101"  # Copenhagen: KMD Opus, no certificate here


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, str]]:
    service = make_service(tmp_path_factory.mktemp("service-browser"), certify_args=QUICK, poll_s=0.2, trial=True)
    server = ServerThread(create_app(service, Workers(service, 1)), name="service").start()
    try:
        yield service, server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip("no Debian chromium and chromium-driver: apt-get install chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="oir-selenium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1600",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=DriverService(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _sign_in(driver: Any, url: str, email: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{url}/login")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD[email])
    driver.find_element(By.ID, "sign-in").click()
    _wait(driver, lambda d: "/login" not in d.current_url, 30)


# What chromedriver and Chromium's inspector answer when the run page's own refresh replaced the document while
# a command was reading it
_DOCUMENT_REPLACED = (
    "aborted by navigation",
    "inspected target navigated or closed",
    "does not belong to the document",
    "no such execution context",
    "execution context was destroyed",
    "cannot find context with specified id",
    "promise was collected",
)


def _wait(driver: Any, condition: Any, timeout: float) -> Any:
    """Wait for the condition, reading a page that reloads itself while the run goes on.

    An element may vanish between finding and reading it, or the document be replaced mid-command: those
    count as "not yet"; any other browser error is raised at once.
    """
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        WebDriverException,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    def settled(d: Any) -> Any:
        try:
            return condition(d)
        except WebDriverException as error:
            if isinstance(error, (NoSuchElementException, StaleElementReferenceException)):
                return False
            if any(phrase in str(error.msg).lower() for phrase in _DOCUMENT_REPLACED):
                return False
            raise

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(
        settled, message=f"waited {timeout} s on {driver.current_url}"
    )


def _text_of(driver: Any, element_id: str) -> str | None:
    """The element's rendered text (None if absent), found and read in one script: no reload falls between."""
    script = "const e = document.getElementById(arguments[0]); return e === null ? null : e.innerText.trim();"
    text = driver.execute_script(script, element_id)
    return text if isinstance(text, str) else None


def _screenshot(driver: Any, folder: Path, name: str) -> None:
    png = folder / name
    driver.save_screenshot(str(png))
    assert png.stat().st_size > 10_000  # a rendered page, not an empty canvas
    target = os.environ.get("OIR_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(target) / name)
    print(f"screenshot: {png}")


def test_a_vendor_certifies_kombit_approves_and_the_board_shows_ready(
    served: tuple[Service, str], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    service, url = served
    driver = browser
    _sign_in(driver, url, "vendor@eg.example")
    driver.get(f"{url}/systems")
    driver.find_element(By.ID, "name").send_keys("EG test system")
    Select(driver.find_element(By.ID, "profile")).select_by_value("eg")
    assert driver.find_element(By.ID, "debtor_url").get_attribute("value") == "simulated"
    driver.find_element(By.ID, "register-system").click()
    _wait(driver, lambda d: "/systems/" in d.current_url, 30)
    system_page = driver.current_url
    driver.find_element(By.ID, "start-run").click()
    _wait(driver, lambda d: "/runs/" in d.current_url, 30)
    run_page = driver.current_url
    run_id = int(run_page.rsplit("/", 1)[1])
    # the page refreshes itself while the run goes on; the run is a real certification (seconds to minutes)
    _wait(driver, lambda d: _text_of(d, "status") in ("finished", "failed"), 600)
    assert driver.find_element(By.ID, "status").text == "finished"
    assert driver.find_element(By.ID, "verdict").text == "CERTIFIED"
    assert driver.find_element(By.ID, "review").text == "pending"
    assert "registration" in driver.find_element(By.ID, "checks").text
    _screenshot(driver, tmp_path, "service-run.png")
    driver.find_element(By.ID, "report").click()
    _wait(driver, lambda d: d.current_url.endswith("/files/index.html"), 30)
    assert "eg" in driver.page_source and "Not found" not in driver.title

    _sign_in(driver, url, "reviewer@kombit.example")
    driver.get(f"{url}/review")
    driver.find_element(By.CSS_SELECTOR, f'a[href="/runs/{run_id}"]').click()
    _wait(driver, lambda d: d.current_url == run_page, 30)
    gaps = driver.find_element(By.ID, "review-not-verified").text.split()
    assert gaps and "B01R-WRITE-OFF" in gaps  # what the scenarios left out would have verified
    driver.find_element(By.ID, "comment").send_keys("Quick run of the simulated EG system for the trial.")
    driver.find_element(By.ID, "deviation_requirements").send_keys(" ".join(gaps))
    driver.find_element(By.ID, "deviation_reason").send_keys("scenarios not run in the trial")
    expiry = (service.now().date() + timedelta(days=30)).isoformat()
    driver.find_element(By.ID, "deviation_expires").send_keys(expiry)
    _screenshot(driver, tmp_path, "service-review.png")
    driver.find_element(By.ID, "approve").click()
    _wait(driver, lambda d: _text_of(d, "review") == "approved", 60)
    certificate = driver.find_element(By.ID, "certificate").get_attribute("href")
    assert certificate.endswith(f"/runs/{run_id}/certificate.json")

    driver.get(f"{url}/board")
    row = driver.find_element(By.ID, f"m-{EG_MUNICIPALITY}")
    assert "READY" in row.text and "NOT READY" not in row.text
    assert "NOT READY" in driver.find_element(By.ID, f"m-{KMD_MUNICIPALITY}").text
    driver.execute_script("document.getElementById('wave-4').scrollIntoView()")
    _screenshot(driver, tmp_path, "service-board.png")

    _sign_in(driver, url, "vendor@kmd.example")
    driver.get(run_page)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Not found"
    driver.get(system_page)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Not found"
    driver.get(f"{url}/systems")
    assert "EG test system" not in driver.page_source
    kmd = {"Authorization": f"Bearer {service.create_token('vendor@kmd.example', 'kmd-ci')}"}
    eg = {"Authorization": f"Bearer {service.create_token('vendor@eg.example', 'eg-ci')}"}
    assert httpx.get(f"{url}/api/runs/{run_id}", headers=kmd).status_code == 404
    assert httpx.get(f"{url}/api/systems", headers=kmd).json() == []
    assert httpx.get(f"{url}/api/runs/{run_id}", headers=eg).json()["review"] == "approved"
