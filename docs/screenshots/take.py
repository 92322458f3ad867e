"""Retake the README's screenshots: docs/screenshots/{search,insights,operations}.png.

Starts the product as the browser tests do (`manage.py serve` on free loopback ports,
everything in a temporary directory, never `var/` or `.env`), makes a little traffic so
the dashboards have figures (and one alert, fired by lowering a threshold in the admin and
acknowledged), logs in as staff and writes 1280x800 PNGs with Playwright
and Debian's Chromium. Run from the checkout: `.venv/bin/python docs/screenshots/take.py`.
"""

import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))  # run as a script: the project's packages come first

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.browser.chromium import CHROMIUM, LAUNCH_ARGS  # noqa: E402
from tests.browser.conftest import CREATE_USERS, Account, log_in  # noqa: E402
from tests.browser.server import ServedApp  # noqa: E402
from tests.browser.test_dashboards import CHART_HAS_DATA_JS  # noqa: E402

OUTPUT = Path(__file__).resolve().parent
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 60_000
# What a visitor does before the shots: searches (one that finds nothing) and films.
SEARCHES = ("star wars", "heat", "casablanca", "terminator", "love", "qzxv")
MOVIES = ("The Terminator", "Casablanca", "Heat")


def user_agent(browser):
    """A desktop browser's own string: insights counts "HeadlessChrome" as a bot."""
    major = browser.version.split(".")[0]
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{major}.0.0.0 Safari/537.36"
    )


def make_traffic(page):
    for query in SEARCHES:
        page.goto("/")
        page.locator("#q").fill(query)
        page.locator("#q").press("Enter")  # a submitted search is recorded
        expect(page.locator("#search-results .summary")).to_be_visible()
    for title in MOVIES:
        page.goto(f"/?q={title}")
        page.locator(".movie-list").get_by_role("link", name=title, exact=True).first.click()
        expect(page.locator("h1")).to_contain_text(title)


def wait_for_charts(page, *chart_ids):
    for chart in chart_ids:
        page.wait_for_function(CHART_HAS_DATA_JS, arg=chart, timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)  # Chart.js animates the first drawing


def fire_and_acknowledge_an_alert(page):
    """Memory usage held above 1 % for a second: the next collector pass fires it."""
    page.goto("/admin/operations/alertthreshold/")
    page.get_by_role("link", name="Memory usage").click()
    page.get_by_label("Threshold").fill("1")
    page.get_by_label("Hold for (seconds)").fill("1")
    page.get_by_label("Hysteresis").fill("0.5")
    page.get_by_role("button", name="Save", exact=True).click()
    page.goto("/operations/")
    acknowledge = page.locator("#active-alerts").get_by_role("button", name="Acknowledge")
    acknowledge.click()
    expect(page.locator("ul.messages")).to_contain_text("Alert acknowledged")
    page.goto("/operations/")  # as staff see it later, without the one-off message


def take(served, staff_username, staff_password):
    staff = Account(staff_username, staff_password)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        context = browser.new_context(
            base_url=served.url, user_agent=user_agent(browser), locale="en-US", viewport=VIEWPORT
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        make_traffic(page)

        page.goto("/?q=star+wars")
        expect(page.locator("#search-results .summary")).to_contain_text("of")
        page.screenshot(path=OUTPUT / "search.png")

        log_in(page, staff, "/insights/?range=realtime")
        time.sleep(2)  # hits are written by a background thread a moment after the answer
        page.reload()
        wait_for_charts(page, "views-chart", "countries-chart")
        page.screenshot(path=OUTPUT / "insights.png")

        fire_and_acknowledge_an_alert(page)
        wait_for_charts(page, "chart-system", "chart-requests", "chart-redis")
        page.screenshot(path=OUTPUT / "operations.png")
        context.close()
        browser.close()


def main():
    workdir = Path(tempfile.mkdtemp(prefix="screenshots-"))
    served = ServedApp(workdir)
    staff_username, staff_password = "staff", secrets.token_urlsafe(18)
    print(f"starting manage.py serve on {served.url} (imports the catalogue, about a minute)")
    served.start()
    try:
        served.manage("shell", "-c", CREATE_USERS, env={
            "BT_STAFF_USERNAME": staff_username, "BT_STAFF_PASSWORD": staff_password,
            "BT_VIEWER_USERNAME": "viewer", "BT_VIEWER_PASSWORD": secrets.token_urlsafe(18),
        })  # fmt: skip
        take(served, staff_username, staff_password)
    finally:
        leaked = served.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if leaked:
        sys.exit(f"still running after SIGTERM (killed now): {leaked}")
    for name in ("search", "insights", "operations"):
        print(OUTPUT / f"{name}.png")


if __name__ == "__main__":
    main()
