"""Headless Chromium for UI tests: Debian's chromium and chromedriver, driven by Selenium.

Selenium is given the driver's path, so Selenium Manager never downloads anything; the
browser runs headless, with a fresh profile and without background networking. It keeps a
performance log, so a test can read what the page sent to the API server and what it got back.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)


def chromium(profile: Path) -> Any:
    """A new headless browser; skips the test (only) when no browser could be installed."""
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        pytest.skip(
            f"no {CHROMIUM} and {CHROMEDRIVER}: `make test` installs Debian's chromium and "
            "chromium-driver with apt-get as root; install them to run the UI tests"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def exchanges(driver: Any, method: str, path: str) -> list[tuple[Any, int, str]]:
    """The page's `method` requests to `path` answered since the last call to this function
    (which drains the browser's log): each one's JSON body, the answer's status and body."""
    sent: dict[str, Any] = {}
    statuses: dict[str, int] = {}
    for entry in driver.get_log("performance"):
        event = json.loads(entry["message"])["message"]
        params = event["params"]
        if event["method"] == "Network.requestWillBeSent":
            request = params["request"]
            if request["method"] == method and request["url"].endswith(path):
                sent[params["requestId"]] = json.loads(request.get("postData") or "null")
        elif event["method"] == "Network.responseReceived" and params["requestId"] in sent:
            statuses[params["requestId"]] = params["response"]["status"]
    return [
        (sent[request_id], status, _response_body(driver, request_id))
        for request_id, status in statuses.items()
    ]


def _response_body(driver: Any, request_id: str) -> str:
    answer = driver.execute_cdp_cmd("Network.getResponseBody", {"requestId": request_id})
    return str(answer["body"])


class Steps:
    """Screenshots of each step in `folder`, named in the message of a failed check."""

    def __init__(self, driver: Any, folder: Path) -> None:
        self.driver = driver
        self.folder = folder
        self.shots: list[Path] = []
        self.pages: list[str] = []

    def shot(self, name: str) -> None:
        path = self.folder / f"{len(self.shots):02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        self.shots.append(path)
        self.pages.append(self.driver.page_source)

    def wait(self, what: str, find: Callable[[], Any], timeout: float = 60) -> Any:
        """Poll `find` until it returns something truthy (the UI renders asynchronously)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        def found(_: Any) -> Any:
            try:
                return find()
            except WebDriverException:
                return None

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.25).until(found)
        except Exception as error:
            self.shot("failed")
            raise AssertionError(f"{what}: not seen within {timeout:.0f} s. {self}") from error

    def __str__(self) -> str:
        return "Screenshots: " + ", ".join(map(str, self.shots))


def remove_profile(profile: Path) -> None:
    shutil.rmtree(profile, ignore_errors=True)
