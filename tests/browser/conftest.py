"""Browser journeys: real Chromium (Debian's /usr/bin/chromium) driven by Playwright.

pytest-playwright cannot find the system Chromium by channel, so the launch arguments point at
it. Playwright's sync API runs an event loop in the test thread; Django refuses database access
from a thread with a running loop unless told it is safe, which it is here (one test thread).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # A laptop-sized window; the copy button may use the clipboard.
    return {
        **browser_context_args,
        "viewport": {"width": 1366, "height": 900},
        "permissions": ["clipboard-read", "clipboard-write"],
    }


@pytest.fixture(scope="session")
def results_dir() -> Path:
    """Where screenshots go (git-ignored)."""
    RESULTS_DIR.mkdir(exist_ok=True)
    return RESULTS_DIR
