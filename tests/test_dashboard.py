"""`/dashboard` in a real headless Chromium (Debian's chromium + chromedriver, driven by selenium).

The page is loaded, a key typed into its sign-in form, and the test reads what a
person would see: the queue numbers, the batch's progress bar, the failed job's
error code, the cooldown. A screenshot is kept in tests/artifacts/dashboard.png.
Also: the JSON feed's keys (admin sees every caller, another key its own work).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from litellm_claude.fake_anthropic import FakeUpstream
from tests.conftest import API_KEY, REPO, Factory, Service
from tests.ops_scene import FAILED_CODE, SLOW_MACHINE, Scene, bearer, build_scene, end_scene

ADMIN_KEY = "sk-test-admin-key-5566778899aabbcc"
OTHER_KEY = "sk-test-other-caller-99887766554433"
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium (test extra)")
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip(
        "needs Debian's chromium and chromium-driver (scripts/test.sh installs them: "
        "apt-get install -y chromium chromium-driver)",
        allow_module_level=True,
    )

from selenium.webdriver.chrome.service import Service as DriverService  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    profile = tempfile.mkdtemp(prefix="lc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=DriverService(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def busy(service_factory: Factory, fake_upstream: FakeUpstream) -> Iterator[tuple[Service, Scene]]:
    svc = service_factory(
        API_KEYS=f"{API_KEY},{OTHER_KEY}", ADMIN_API_KEYS=ADMIN_KEY, GLOBAL_MAX_CLI="3", **SLOW_MACHINE
    )
    scene = build_scene(svc, fake_upstream)
    try:
        yield svc, scene
    finally:
        end_scene(svc, fake_upstream, scene)


BATCH_ROW = """
for (const tr of document.querySelectorAll('#batches tbody tr')) {
  const code = tr.querySelector('code');
  if (code && code.textContent === arguments[0]) {
    const bar = tr.querySelector('progress');
    return {text: tr.innerText, value: bar.value, max: bar.max, width: bar.getBoundingClientRect().width};
  }
}
return null;
"""


def read(driver: WebDriver, script: str, *args: object) -> Any:
    return driver.execute_script(script, *args)


def text_of(driver: WebDriver, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def test_dashboard_in_chromium(browser: WebDriver, busy: tuple[Service, Scene]) -> None:
    svc, scene = busy
    browser.get(f"{svc.url}/dashboard")
    wait = WebDriverWait(browser, 60, poll_frequency=0.2)
    wait.until(lambda d: d.find_element(By.ID, "login").is_displayed())

    browser.find_element(By.ID, "key").send_keys("sk-wrong-key-000000000000")
    browser.find_element(By.ID, "sign-in").click()
    wait.until(lambda d: "Incorrect API key" in text_of(d, "login-error"))

    browser.find_element(By.ID, "key").send_keys(API_KEY)
    browser.find_element(By.ID, "sign-in").click()
    wait.until(lambda d: d.find_element(By.ID, "board").is_displayed())
    # the worker reports its CLI processes every few seconds: wait for the hanging one
    wait.until(lambda d: text_of(d, "cli") == "1" and "MB" in text_of(d, "workers"))

    assert text_of(browser, "scope") == "your work"
    assert text_of(browser, "waiting") == "0"
    assert text_of(browser, "running") == "1"
    assert text_of(browser, "workers-count") == "1"
    assert text_of(browser, "cli-cap") == "cap 3 across workers"
    assert text_of(browser, "failed-hour") == "1"
    assert FAILED_CODE in text_of(browser, "failed-codes")

    # rows and charts are redrawn on every poll: read each in one script, not element by element
    batch = read(browser, BATCH_ROW, scene.batch_id)
    assert batch is not None, text_of(browser, "batches")
    assert (batch["value"], batch["max"]) == (2, 3) and batch["width"] > 100
    assert "in progress" in batch["text"] and "2/3" in batch["text"]
    failure = read(browser, "return document.querySelector('#failures tbody tr').innerText")
    assert FAILED_CODE in failure and "401" in failure
    assert "opus" in text_of(browser, "accounts")
    heights = read(
        browser,
        "return [...document.querySelectorAll('#chart-throughput rect')].map(r => +r.getAttribute('height'))",
    )
    assert any(h > 0 for h in heights)
    assert read(browser, "return document.querySelectorAll('#chart-latency path').length") > 0

    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))

    # live: the batch finishes (cancelled) and the page follows without a reload
    httpx.post(f"{svc.url}/v1/batches/{scene.batch_id}/cancel", headers=bearer(), timeout=30)
    wait.until(
        lambda d: "cancelled" in d.find_element(By.ID, "batches").text and text_of(d, "running") == "0"
    )
    assert browser.execute_script("return performance.getEntriesByType('navigation').length") == 1

    browser.find_element(By.ID, "logout").click()
    wait.until(lambda d: d.find_element(By.ID, "login").is_displayed())
    assert browser.execute_script("return sessionStorage.length") == 0


def test_dashboard_feed_scopes_by_key(busy: tuple[Service, Scene]) -> None:
    svc, scene = busy
    feed = f"{svc.url}/dashboard/api/snapshot"
    assert httpx.get(feed, timeout=30).status_code == 401
    assert httpx.get(feed, headers=bearer("sk-unknown-key-0000000000"), timeout=30).status_code == 401

    admin = httpx.get(feed, headers=bearer(ADMIN_KEY), timeout=30).json()
    own = httpx.get(feed, headers=bearer(API_KEY), timeout=30).json()
    other = httpx.get(feed, headers=bearer(OTHER_KEY), timeout=30).json()
    assert (admin["admin"], admin["scope"]) == (True, "all")
    assert (own["admin"], own["scope"], other["scope"]) == (False, "own", "own")
    for snap in (admin, own):  # the admin sees every caller's work, a caller its own
        assert scene.batch_id in [b["id"] for b in snap["batches"]]
        assert snap["failures_by_code"] == {FAILED_CODE: 1}
    assert other["batches"] == [] and other["recent_failures"] == [] and other["failures_by_code"] == {}
    # the service itself is everyone's to see; whose jobs run is not
    assert other["queue"]["running"] == admin["queue"]["running"]
    assert all(job["owner"] is None for w in other["workers"] for job in w["jobs"])

    page = httpx.get(f"{svc.url}/dashboard", timeout=30)
    assert page.status_code == 200 and "dashboard.js" in page.text
    assert httpx.get(f"{svc.url}/dashboard/assets/dashboard.js", timeout=30).status_code == 200
    assert httpx.get(f"{svc.url}/dashboard/assets/index.py", timeout=30).status_code == 404
