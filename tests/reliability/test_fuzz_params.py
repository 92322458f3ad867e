"""Every page and API, every GET parameter, random input: never a 500, and every 4xx says
why. The URL list comes from the resolver and the parameter list is checked against what
the views actually read, so a new page or parameter without fuzzing fails here."""

import html
import json
from urllib.parse import quote, urlencode

import pytest
from django.http import QueryDict
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from search import importer, indexing, store
from search.synthetic import MovieFactory

SEARCH_PARAMS = ["q", "genre", "subgenre", "language", "country", "year_min", "year_max",
                 "rating_min", "rating_max", "sort", "page", "size"]  # fmt: skip
RANGE = ["range"]
RANGE_LIMIT = ["range", "limit"]

# URL name -> (a path for it, the GET parameters its view reads). Admin pages are
# Django's own; POST-only views are fuzzed with GET too (they must answer 405).
PAGES = {
    "search": ("/", [*SEARCH_PARAMS, "partial", "record", "default_sort"]),
    "movie": ("/movies/{id}/", []),
    "api-search": ("/api/search", SEARCH_PARAMS),
    "api-suggest": ("/api/search/suggest", ["q"]),
    "api-openapi": ("/api/openapi.json", []),
    "health-redis": ("/health/redis", []),
    "metrics": ("/metrics", []),
    "favicon": ("/favicon.ico", []),
    "login": ("/accounts/login/", ["next"]),
    "logout": ("/accounts/logout/", ["next"]),
    "insights:dashboard": ("/insights/", RANGE),
    "insights:export": ("/insights/export/{table}.csv", RANGE),
    "insights_api:page-views": ("/api/analytics/page-views", RANGE_LIMIT),
    "insights_api:search-activities": ("/api/analytics/search-activities", RANGE_LIMIT),
    "insights_api:user-countries": ("/api/analytics/user-countries", RANGE_LIMIT),
    "insights_api:page-activities": ("/api/analytics/page-activities", RANGE_LIMIT),
    "operations:dashboard": ("/operations/", []),
    "operations:acknowledge": ("/operations/alerts/{alert}/acknowledge", []),
    "operations_api:system-metrics": ("/api/operations/system-metrics", RANGE),
    "operations_api:performance-metrics": ("/api/operations/performance-metrics", RANGE),
    "operations_api:alerts": ("/api/operations/alerts", ["limit"]),
    "operations_api:redis-info": ("/api/operations/redis-info", []),
    "operations_api:configuration": ("/api/operations/configuration", []),
}
VALID_STATUSES = {200, 302, 400, 404, 405}
FUZZ_ID_BASE = 930_000_000

# Values people and scripts actually send, beside random text: numbers at and past every
# edge, non-ASCII digits ("²".isdigit() is True, int("²") fails), NaN and infinities,
# control characters, RediSearch syntax, markup, very long values.
TRICKY = ["", " ", "0", "1", "-1", "01", "1.5", "1e309", "-1e309", "nan", "NaN", "inf",
          "-inf", "9" * 30, "²", "٣", "１０", "\x00", "\x1b[31m", "\ud7ff", "😀" * 3,
          "*", "@title:{x}", "%", "-(", '"', "\\", "<script>alert(1)</script>", "'; --",
          "a" * 5000, "drama", "Drama", "relevance", "year_desc", "20", "7d", "realtime",
          "24h", "90d", "100", "101", "1000", "1001", "//evil.example", "/insights/",
          "https://example.com/"]  # fmt: skip
values = st.one_of(
    st.sampled_from(TRICKY),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=40),
)


def route_names(patterns=None, namespace=""):
    names = set()
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            names |= route_names(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(namespace + entry.name)
    return names


@pytest.fixture(scope="module")
def fuzz_movies(redis_settings, tmp_path_factory):
    """A few movies of our own (so filters have values), removed afterwards."""
    indexing.ensure_indexes()
    path = tmp_path_factory.mktemp("fuzz") / "movies.jsonl"
    movies = list(MovieFactory(seed=9, start_id=FUZZ_ID_BASE).movies(200))
    path.write_text("".join(json.dumps(m) + "\n" for m in movies))
    importer.import_file(path)
    yield [m["id"] for m in movies]
    store.delete_movies(m["id"] for m in movies)
    store.bump_generation()


def path_for(name, movie_id):
    return PAGES[name][0].format(id=movie_id, table="pages", alert="0" * 16)


def check(response, url):
    status = response.status_code
    assert status in VALID_STATUSES, f"{url} answered {status}"
    if 400 <= status < 500 and status != 405:
        body = response.content.decode(errors="replace")
        if response["Content-Type"].startswith("application/json"):
            assert json.loads(body).get("error"), f"{url}: a {status} without a reason"
        elif response["Content-Type"].startswith("text/html") and status == 400:
            context = response.context or {}
            reason = context.get("error") or context.get("reason")
            # (pages may capitalise the reason's first letter)
            assert reason and html.escape(str(reason))[1:] in body, f"{url}: no reason shown"
        else:
            assert body.strip(), f"{url}: an empty {status}"


def test_every_url_is_fuzzed():
    assert route_names() == set(PAGES)


def test_views_read_no_parameter_the_fuzzer_does_not_know(staff_client, fuzz_movies,
                                                          monkeypatch):  # fmt: skip
    read = set()
    for method in ("get", "getlist", "__getitem__", "__contains__"):
        original = getattr(QueryDict, method)

        def recording(self, key, *args, _original=original, **kwargs):
            read.add(key)
            return _original(self, key, *args, **kwargs)

        monkeypatch.setattr(QueryDict, method, recording)
    seen = {}
    for name, (_, params) in PAGES.items():
        read.clear()
        url = path_for(name, fuzz_movies[0])
        staff_client.get(url, dict.fromkeys(params, "1"))
        assert read <= set(params), f"{name} reads {sorted(read - set(params))}"
        seen[name] = set(read)
    # The recording itself works: these views are known to read these.
    assert {"q", "page", "partial"} <= seen["search"] and "limit" in seen["operations_api:alerts"]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PAGES))
def test_random_parameters_never_give_a_500(name, staff_client, fuzz_movies):
    params = PAGES[name][1] or ["q"]  # pages without parameters get stray ones anyway

    @settings(max_examples=12, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])  # fmt: skip
    @given(
        pairs=st.lists(st.tuples(st.sampled_from([*params, "unknown"]), values), max_size=6),
        movie_id=st.sampled_from([*fuzz_movies[:3], 1, 10**30]),
    )
    @example(pairs=[(p, "²") for p in params], movie_id=fuzz_movies[0])
    @example(pairs=[(p, "-1") for p in params] * 2, movie_id=fuzz_movies[0])
    def fuzz(pairs, movie_id):
        url = path_for(name, movie_id) + "?" + urlencode(pairs)
        check(staff_client.get(url), url)

    fuzz()


@pytest.mark.parametrize("name", ["search", "api-search", "api-suggest", "insights:dashboard",
                                  "insights_api:page-views", "operations_api:alerts"])  # fmt: skip
def test_raw_undecodable_query_strings_never_give_a_500(name, staff_client, fuzz_movies):
    """Bytes that are not UTF-8, broken percent escapes, NUL, a bare key."""
    base = path_for(name, fuzz_movies[0])
    key = (PAGES[name][1] or ["q"])[0]
    for raw in ("%ff%fe", "%", "%zz", "%00", "&&&", "=", quote("é", encoding="latin-1")):
        url = f"{base}?{key}={raw}&{raw}"
        check(staff_client.get(url), url)
