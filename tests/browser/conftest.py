"""Headless Chromium for the browser tests, started once per session."""

import os
from collections.abc import Iterator

import pytest

from aelab.reports.browser import HeadlessChromium, find_chromium


@pytest.fixture(scope="session")
def browser() -> Iterator[HeadlessChromium]:
    chromium = find_chromium()
    if chromium is None:
        message = (
            "no Chromium for the browser tests (looked for $AELAB_CHROMIUM, then chromium on "
            "PATH); install it with scripts/install-browser.sh"
        )
        required = os.environ.get("AELAB_REQUIRE_BROWSER") == "1"
        on_ci = os.environ.get("CI", "").lower() not in ("", "0", "false")
        if required or on_ci:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with HeadlessChromium(chromium, timeout=60) as running:
        yield running
