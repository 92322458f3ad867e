"""The pure rules of tracking: bots, pages, countries, visitor hashes, search annotations."""

import pytest
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory
from django.urls import resolve

from insights import searches, tracking

from .conftest import BROWSER_UA

pytestmark = pytest.mark.urls("tests.insights.urls")


@pytest.mark.parametrize(
    "ua",
    [
        "",
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "curl/8.5.0",
        "python-requests/2.32",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/126.0",
        "facebookexternalhit/1.1",
        "UptimeRobot/2.0",
    ],
)
def test_bots_are_recognised(ua):
    assert tracking.is_bot(ua)


@pytest.mark.parametrize(
    "ua",
    [
        BROWSER_UA,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Mozilla/5.0 (X11; Linux x86_64) Robotica/1.0",  # "bot" inside a word is not a bot
    ],
)
def test_browsers_are_not_bots(ua):
    assert not tracking.is_bot(ua)


def _request(path, method="get", **meta):
    request = getattr(RequestFactory(), method)(path, **meta)
    request.resolver_match = resolve(path)
    return request


def test_page_views_are_successful_html_gets_of_named_views():
    html = HttpResponse("<p>x</p>")
    assert tracking.is_page_view(_request("/movies/3/"), html)
    assert tracking.page_name(_request("/movies/3/")) == "movie-detail"  # not the raw path
    assert not tracking.is_page_view(_request("/movies/3/", method="post"), html)
    assert not tracking.is_page_view(_request("/movies/3/"), HttpResponse(status=500))
    assert not tracking.is_page_view(
        _request("/plain/"), HttpResponse("x", content_type="text/plain")
    )
    assert not tracking.is_page_view(_request("/"), JsonResponse({}))
    for path in ("/admin/fake/", "/static/fake.css", "/health/fake", "/insights/"):
        assert not tracking.is_page_view(_request(path), html), path
    assert not tracking.is_page_view(_request("/", HTTP_SEC_PURPOSE="prefetch"), html)
    assert not tracking.is_page_view(_request("/", HTTP_HX_REQUEST="true"), html)
    # The search page's script: results refreshed while typing are not page views; a
    # fetch that opens a new history entry (a filter, a page, Enter) is one.
    typing = _request("/", HTTP_X_REQUESTED_WITH="fetch")
    assert not tracking.is_page_view(typing, html)
    navigation = _request("/", HTTP_X_REQUESTED_WITH="fetch", HTTP_X_PAGE_VIEW="navigation")
    assert tracking.is_page_view(navigation, html)


@pytest.mark.parametrize("prefix", settings.INSIGHTS_UNTRACKED_PATH_PREFIXES)
def test_paths_under_an_untracked_prefix_are_never_page_views(prefix):
    request = RequestFactory().get(f"{prefix}page/")
    request.resolver_match = resolve("/")  # a named HTML view, as any page there could be
    assert not tracking.is_page_view(request, HttpResponse("<p>x</p>"))


def test_the_untracked_prefixes_come_from_the_setting(settings):
    html = HttpResponse("<p>x</p>")
    settings.INSIGHTS_UNTRACKED_PATH_PREFIXES = ("/movies/",)
    assert not tracking.is_page_view(_request("/movies/3/"), html)
    assert tracking.is_page_view(_request("/admin/fake/"), html)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "US"),
        ("de-DE", "DE"),
        ("en;q=0.9, fr-CA;q=0.8", "CA"),  # the preferred tag has no region: take the next
        ("fr-FR;q=0.5, pt-BR;q=0.9", "BR"),  # ordered by q, not position
        ("zh-Hant-TW", "TW"),  # script subtag
        ("es-419", None),  # a numeric region (Latin America) is no country
        ("en", None),
        ("", None),
        ("xx-QQ", None),  # not a country
        ("en-US;q=abc", "US"),
    ],
)
def test_country_from_accept_language(header, expected):
    assert tracking.country_from_accept_language(header) == expected


def test_country_header_is_used_only_when_configured(settings):
    request = _request("/", HTTP_CF_IPCOUNTRY="jp", HTTP_ACCEPT_LANGUAGE="en-GB")
    settings.INSIGHTS_COUNTRY_HEADER = ""
    assert tracking.country_code(request) == "GB"  # not trusted: anyone can send it
    settings.INSIGHTS_COUNTRY_HEADER = "CF-IPCountry"
    assert tracking.country_code(request) == "JP"
    assert tracking.country_name("JP") == "Japan"
    # Cloudflare's "XX" (unknown) and "T1" (Tor) fall back to Accept-Language
    assert tracking.country_code(_request("/", HTTP_CF_IPCOUNTRY="T1")) == "ZZ"
    assert tracking.country_name("ZZ") == "Unknown"
    settings.INSIGHTS_COUNTRY_HEADER = "CloudFront-Viewer-Country"
    assert tracking.country_code(_request("/", HTTP_CLOUDFRONT_VIEWER_COUNTRY="US")) == "US"
    assert tracking.country_name("US") == "United States"


def test_visitor_hash_is_salted_and_hides_the_ip():
    one = tracking.visitor_hash("salt-a", "203.0.113.7", BROWSER_UA)
    assert one == tracking.visitor_hash("salt-a", "203.0.113.7", BROWSER_UA)
    assert one != tracking.visitor_hash("salt-b", "203.0.113.7", BROWSER_UA)
    assert one != tracking.visitor_hash("salt-a", "203.0.113.8", BROWSER_UA)
    assert one != tracking.visitor_hash("salt-a", "203.0.113.7", BROWSER_UA + "x")
    assert "203" not in one and len(one) == 24


def test_a_recorded_search_is_normalised():
    hit = searches.search_hit("  Star   WARS ", 4, 2)
    assert (hit.query, hit.result_count, hit.response_ms) == ("star wars", 4, 2.0)


def test_a_recorded_query_is_cut_to_the_longest_kept():
    hit = searches.search_hit("x" * 500, 0, 1)
    assert hit.query == "x" * searches.MAX_QUERY_LENGTH


@pytest.mark.parametrize(
    ("query", "result_count", "server_ms"),
    [("", 1, 1), (5, 1, 1), ("a", "many", 1), ("a", -1, 1), ("a", 1, None), ("a", 1, 4e6)],
)
def test_values_that_are_not_a_search_are_not_recorded(query, result_count, server_ms):
    assert searches.search_hit(query, result_count, server_ms) is None


def test_hit_for_a_bot_or_a_static_file_is_none():
    html = HttpResponse("<p>x</p>")
    bot = _request("/", HTTP_USER_AGENT="Googlebot/2.1")
    assert tracking.hit_for(bot, html, 0, salt_for=lambda t: "s") is None
    static = _request("/static/fake.css", HTTP_USER_AGENT=BROWSER_UA)
    assert tracking.hit_for(static, html, 0, salt_for=lambda t: "s") is None
    page = _request("/movies/1/", HTTP_USER_AGENT=BROWSER_UA, HTTP_ACCEPT_LANGUAGE="it-IT")
    hit = tracking.hit_for(page, html, 123, salt_for=lambda t: "s")
    assert (hit.page, hit.country_name, hit.timestamp_ms) == ("movie-detail", "Italy", 123)
    assert hit.visitor == tracking.visitor_hash("s", "127.0.0.1", BROWSER_UA)
