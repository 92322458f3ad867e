"""The pure rules of tracking: bots, pages, countries, visitor hashes, recorded searches."""

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


HTML = HttpResponse("<p>x</p>")


def test_a_successful_html_get_of_a_named_view_is_a_page_view():
    assert tracking.is_page_view(_request("/movies/3/"), HTML)


def test_a_page_is_named_by_its_url_name_not_its_path():
    assert tracking.page_name(_request("/movies/3/")) == "movie-detail"


def test_a_post_is_not_a_page_view():
    assert not tracking.is_page_view(_request("/movies/3/", method="post"), HTML)


def test_an_error_response_is_not_a_page_view():
    assert not tracking.is_page_view(_request("/movies/3/"), HttpResponse(status=500))


@pytest.mark.parametrize(
    ("path", "response"),
    [
        ("/plain/", HttpResponse("x", content_type="text/plain")),
        ("/", JsonResponse({})),
    ],
)
def test_a_response_that_is_not_html_is_not_a_page_view(path, response):
    assert not tracking.is_page_view(_request(path), response)


@pytest.mark.parametrize("path", ["/admin/fake/", "/static/fake.css", "/health/fake", "/insights/"])
def test_admin_static_health_and_dashboard_pages_are_not_page_views(path):
    assert not tracking.is_page_view(_request(path), HTML)


def test_a_prefetch_is_not_a_page_view():
    assert not tracking.is_page_view(_request("/", HTTP_SEC_PURPOSE="prefetch"), HTML)


def test_an_htmx_request_is_not_a_page_view():
    assert not tracking.is_page_view(_request("/", HTTP_HX_REQUEST="true"), HTML)


def test_results_a_script_refreshes_while_typing_are_not_a_page_view():
    typing = _request("/", HTTP_X_REQUESTED_WITH="fetch")
    assert not tracking.is_page_view(typing, HTML)


def test_a_fragment_a_script_fetches_for_a_new_history_entry_is_a_page_view():
    navigation = _request("/", HTTP_X_REQUESTED_WITH="fetch", HTTP_X_PAGE_VIEW="navigation")
    assert tracking.is_page_view(navigation, HTML)


@pytest.mark.parametrize("prefix", settings.INSIGHTS_UNTRACKED_PATH_PREFIXES)
def test_paths_under_an_untracked_prefix_are_never_page_views(prefix):
    request = RequestFactory().get(f"{prefix}page/")
    request.resolver_match = resolve("/")  # a named HTML view, as any page there could be
    assert not tracking.is_page_view(request, HTML)


def test_the_untracked_prefixes_come_from_the_setting(settings):
    settings.INSIGHTS_UNTRACKED_PATH_PREFIXES = ("/movies/",)
    assert not tracking.is_page_view(_request("/movies/3/"), HTML)
    assert tracking.is_page_view(_request("/admin/fake/"), HTML)


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


def test_a_country_header_is_ignored_unless_configured(settings):
    request = _request("/", HTTP_CF_IPCOUNTRY="jp", HTTP_ACCEPT_LANGUAGE="en-GB")
    settings.INSIGHTS_COUNTRY_HEADER = ""
    assert tracking.country_code(request) == "GB"  # not trusted: anyone can send it


def test_the_configured_country_header_wins_over_accept_language(settings):
    request = _request("/", HTTP_CF_IPCOUNTRY="jp", HTTP_ACCEPT_LANGUAGE="en-GB")
    settings.INSIGHTS_COUNTRY_HEADER = "CF-IPCountry"
    assert tracking.country_code(request) == "JP"


def test_any_header_name_can_be_configured(settings):
    settings.INSIGHTS_COUNTRY_HEADER = "CloudFront-Viewer-Country"
    assert tracking.country_code(_request("/", HTTP_CLOUDFRONT_VIEWER_COUNTRY="US")) == "US"


def test_a_header_value_that_is_no_country_is_unknown(settings):
    # Cloudflare's "XX" (unknown) and "T1" (Tor) fall back to Accept-Language
    settings.INSIGHTS_COUNTRY_HEADER = "CF-IPCountry"
    assert tracking.country_code(_request("/", HTTP_CF_IPCOUNTRY="T1")) == "ZZ"


@pytest.mark.parametrize(
    ("code", "name"), [("JP", "Japan"), ("US", "United States"), ("ZZ", "Unknown")]
)
def test_a_country_is_shown_by_its_short_english_name(code, name):
    assert tracking.country_name(code) == name


VISITOR = ("salt-a", "203.0.113.7", BROWSER_UA)


def test_the_same_visitor_on_the_same_day_has_the_same_hash():
    assert tracking.visitor_hash(*VISITOR) == tracking.visitor_hash(*VISITOR)


@pytest.mark.parametrize(
    "other",
    [
        ("salt-b", "203.0.113.7", BROWSER_UA),
        ("salt-a", "203.0.113.8", BROWSER_UA),
        ("salt-a", "203.0.113.7", BROWSER_UA + "x"),
    ],
)
def test_another_salt_address_or_user_agent_gives_another_hash(other):
    assert tracking.visitor_hash(*other) != tracking.visitor_hash(*VISITOR)


def test_a_visitor_hash_does_not_show_the_address():
    one = tracking.visitor_hash(*VISITOR)
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


def _salt(timestamp_ms):
    return "s"


def test_a_bot_records_nothing():
    bot = _request("/", HTTP_USER_AGENT="Googlebot/2.1")
    assert tracking.hit_for(bot, HTML, 0, salt_for=_salt) is None


def test_a_static_file_records_nothing():
    static = _request("/static/fake.css", HTTP_USER_AGENT=BROWSER_UA)
    assert tracking.hit_for(static, HTML, 0, salt_for=_salt) is None


def test_a_page_view_records_its_page_country_and_time():
    page = _request("/movies/1/", HTTP_USER_AGENT=BROWSER_UA, HTTP_ACCEPT_LANGUAGE="it-IT")
    hit = tracking.hit_for(page, HTML, 123, salt_for=_salt)
    assert (hit.page, hit.country_name, hit.timestamp_ms) == ("movie-detail", "Italy", 123)


def test_a_page_view_records_the_salted_hash_of_its_visitor():
    page = _request("/movies/1/", HTTP_USER_AGENT=BROWSER_UA)
    hit = tracking.hit_for(page, HTML, 123, salt_for=_salt)
    assert hit.visitor == tracking.visitor_hash("s", page.META["REMOTE_ADDR"], BROWSER_UA)
