"""Browser tests: Debian's Chromium, driven by Playwright, against the product started
as a user starts it (`manage.py serve`: gunicorn, the collector, the embedded Redis
Stack and the bundled catalogue), once per session.

Every page is watched (watch.py); a failing test leaves full-page screenshots in
var/test-artifacts/browser/<test name>.png, and the server's output is kept there as
serve.log.
"""

import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.browser.chromium import LAUNCH_ARGS, require_chromium
from tests.browser.server import ServedApp
from tests.browser.watch import PageWatcher

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "browser"
TIMEOUT_MS = 20_000  # a slow shared 2-core machine; expect() polls until then

# Run by `manage.py shell` against the served app's database: one staff (superuser)
# account for the dashboards and the admin, one plain account. Passwords come from the
# environment, so they never show in `ps`.
CREATE_USERS = """
import os
from django.contrib.auth import get_user_model
users = get_user_model().objects
users.create_superuser(os.environ["BT_STAFF_USERNAME"], "", os.environ["BT_STAFF_PASSWORD"])
users.create_user(os.environ["BT_VIEWER_USERNAME"], "", os.environ["BT_VIEWER_PASSWORD"])
"""


@dataclass(frozen=True)
class Account:
    username: str
    password: str


@dataclass(frozen=True)
class App:
    served: ServedApp
    staff: Account
    viewer: Account

    @property
    def url(self):
        return self.served.url


@pytest.fixture(scope="session")
def chromium_path():
    return require_chromium()


@pytest.fixture(scope="session")
def served_app(chromium_path, tmp_path_factory):
    served = ServedApp(tmp_path_factory.mktemp("served-app"))
    staff = Account("staff-tester", secrets.token_urlsafe(18))
    viewer = Account("viewer-tester", secrets.token_urlsafe(18))
    served.start()
    try:
        served.manage("shell", "-c", CREATE_USERS, env={
            "BT_STAFF_USERNAME": staff.username, "BT_STAFF_PASSWORD": staff.password,
            "BT_VIEWER_USERNAME": viewer.username, "BT_VIEWER_PASSWORD": viewer.password,
        })  # fmt: skip
        yield App(served, staff, viewer)
    finally:
        leaked = served.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(served.log_path, ARTIFACTS / "serve.log")  # the last run's output
    assert not leaked, f"still running after SIGTERM to manage.py serve (killed now): {leaked}"
    shutil.rmtree(served.redis_dir, ignore_errors=True)  # ~100 MB of catalogue


@pytest.fixture(scope="session")
def browser(chromium_path, served_app):
    """Closed before the server stops, as a person closes the tabs first: gunicorn's
    graceful stop would otherwise wait on the browser's keep-alive connections."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=LAUNCH_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def user_agent(browser):
    """Headless Chromium says "HeadlessChrome", which insights rightly counts as a bot;
    these tests play a person, so they send the desktop browser's own string."""
    major = browser.version.split(".")[0]
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{major}.0.0.0 Safari/537.36"
    )


@pytest.fixture
def watcher():
    return PageWatcher()


@pytest.fixture
def context(request, browser, served_app, user_agent, watcher):
    """A fresh browser profile (no cookies) whose every page is watched; the test fails
    on any problem the watcher saw."""
    for old in ARTIFACTS.glob(f"{artifact_name(request.node.name)}*.png"):
        old.unlink()
    context = browser.new_context(
        base_url=served_app.url,
        user_agent=user_agent,
        locale="en-US",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.on("page", watcher.watch)
    yield context
    problems = list(watcher.problems)
    if problems:
        save_screenshots(context, request.node.name)
    context.close()
    if problems:
        pytest.fail("problems seen in the browser:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def page(context):
    return context.new_page()


def log_in(page, account, next_path):
    """Through the real login form, as a person would."""
    page.goto(f"/accounts/login/?next={quote(next_path)}")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Log in").click()


def artifact_name(test_name):
    return re.sub(r"[^\w.-]+", "_", test_name)


def save_screenshots(context, test_name):
    """A full-page PNG of each open page; never raises (it must not hide the failure)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for number, open_page in enumerate(context.pages, start=1):
        suffix = "" if number == 1 else f"-{number}"
        try:
            open_page.screenshot(
                path=ARTIFACTS / f"{artifact_name(test_name)}{suffix}.png",
                full_page=True,
                timeout=10_000,
            )
        except Exception:  # noqa: S112 - best effort: the test's failure is the news
            continue


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        context = item.funcargs.get("context")
        if context is not None:
            save_screenshots(context, item.name)
    return report
