"""Debian's chromium (headless, driven by Selenium through Debian's chromedriver; nothing downloads a browser or a
driver) against ``praktijkregister serve`` on a free loopback port, for the browser tests.

The browser runs with every host but 127.0.0.1 unresolvable, so nothing can load from outside the registry.
Screenshots go to ``.cache/screenshots/`` (git-ignored)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.serve import free_port, serve_env, start_serve, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / ".cache" / "screenshots"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

needs_chromium = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="Debian's chromium and chromium-driver are not installed (ops/test installs them)",
)


@dataclass
class Site:
    base: str
    landelijk: str  # a key with scope landelijk
    browser: Any

    def api(self, path: str) -> Any:
        resp = httpx.get(self.base + path, headers={"Authorization": f"Bearer {self.landelijk}"}, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def api_publiek(self, path: str, key: str) -> Any:
        return httpx.get(self.base + path, headers={"Authorization": f"Bearer {key}"}, timeout=30).json()

    def open(self, path: str, shot: str | None = None) -> Any:
        self.browser.get(self.base + path)
        if shot:
            self.screenshot(shot)
        return self.browser

    def screenshot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.browser.save_screenshot(str(path))
        return path

    def text(self, css: str) -> str:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        # after a click or submit the next page may still be loading: wait for the element, not a fixed time
        WebDriverWait(self.browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))
        return str(self.browser.find_element(By.CSS_SELECTOR, css).text).strip()


def start_chromium(profile: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
        # no network beyond the registry: every other host name fails to resolve
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


@contextlib.contextmanager
def site_on(database_url: str, kafka_bootstrap: str, schema: str, landelijk: str = "") -> Iterator[Site]:
    """``serve`` over the read models in ``schema`` and one browser session on it; both stopped afterwards."""
    port = free_port()
    proc = start_serve(serve_env(database_url, kafka_bootstrap, port), schema)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(proc, base)
        with tempfile.TemporaryDirectory(prefix="praktijk-chromium-") as profile:
            browser = start_chromium(profile)
            try:
                browser.set_page_load_timeout(60)
                yield Site(base, landelijk, browser)
            finally:
                browser.quit()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
