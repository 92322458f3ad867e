"""Fixtures for the API contract tests: the bundled catalogue, stores holding real
figures (so the documented arrays are not all empty), and a staff session."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from insights import store as insights_store
from operations import alert_store, alerts, metrics_store
from telemetry import timeseries
from tests.insights.conftest import BROWSER_UA
from tests.operations.conftest import FakeClock
from tests.search.conftest import bundled, catalogue  # noqa: F401  (fixtures)

# Pages a browser opens: page views, searches (one finding nothing), countries, events.
VISITS = ("/", "/?q=star+wars", "/?q=qqqzzxv", "/movies/24623/", "/api/search?q=alien")


@pytest.fixture
def seeded_stores(catalogue):  # noqa: F811  (the imported fixture)
    """Analytics from real requests, one collector pass, and alerts in every state."""
    browser = Client()
    timeseries.forget_ensured()  # the stores were emptied: create the series again
    insights_store.forget_salts()
    metrics_store.forget_created_digests()
    for path in VISITS:
        browser.get(path, HTTP_USER_AGENT=BROWSER_UA, HTTP_ACCEPT_LANGUAGE="de-DE")
    call_command("collect_metrics", "--once")
    clock = FakeClock()
    evaluator = alerts.Evaluator(clock=clock)
    for rule in ("cpu_usage", "memory_usage"):
        for _ in range(8):
            evaluator.evaluate({rule: 99.0})
            clock.advance(10)
    cpu = next(a for a in alert_store.active_alerts() if a.type == "cpu_usage")
    alerts.acknowledge(cpu.id, "staff", clock=clock)
    evaluator.evaluate({"memory_usage": 1.0})  # resolves the memory alert


@pytest.fixture
def staff_session(staff_client):
    """The session cookie of a logged-in staff user."""
    return staff_client.cookies[settings.SESSION_COOKIE_NAME].value
