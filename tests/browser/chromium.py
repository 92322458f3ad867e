"""Whether the browser tests can run: Debian's Chromium, never a downloaded browser."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Besides headless (Playwright adds --headless): no sandbox (containers run as root), no
# GPU, and nothing that reaches out to the network by itself.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ci_is_set(environ):
    return environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_chromium(path=CHROMIUM, environ=None):
    """The browser's path; skips the test when it is missing, or fails it under CI,
    where a missing browser means the browser tests silently stopped running."""
    environ = os.environ if environ is None else environ
    path = Path(path)
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    reason = (
        f"browser tests need Debian's Chromium at {path} (apt-get install chromium); "
        "it is not installed"
    )
    if ci_is_set(environ):
        pytest.fail(f"{reason}, and CI is set: the browser tests must run in CI", pytrace=False)
    pytest.skip(reason)
