"""What a request contributes to the analytics: plain functions, no Redis.

Which requests are page views, bots, the visitor's country, the cookieless visitor
hash, and the search a view handed over with insights.searches.record_search.
"""

import hashlib
import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from config.client_ip import client_ip, header_meta_key
from insights import store
from insights.countries import COUNTRY_NAMES, UNKNOWN
from insights.searches import recorded_search

UNKNOWN_CODE = "ZZ"  # ISO's user-assigned code, used for "Unknown"

# Crawlers, monitors, link previews, HTTP libraries and headless browsers. An empty
# User-Agent is a script too. Matched case-insensitively anywhere in the header.
BOT_PATTERN = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|archiver|scrapy|curl/|wget/|httpie|python-requests|"
    r"python-urllib|aiohttp|httpx|go-http-client|java/|okhttp|libwww|lwp::|node-fetch|axios|"
    r"headless|phantomjs|lighthouse|pagespeed|pingdom|uptime|monitor|statuscake|"
    r"facebookexternalhit|embedly|preview|validator|feedfetcher|mediapartners|"
    r"bingpreview|yandex|baiduspider|petalbot|ahrefs|semrush|mj12",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    return not user_agent or BOT_PATTERN.search(user_agent) is not None


def _untracked_path(path: str) -> bool:
    static = settings.STATIC_URL or "/static/"
    if not static.startswith("/"):
        static = "/" + static
    prefixes = (*settings.INSIGHTS_UNTRACKED_PATH_PREFIXES, static)
    return path.startswith(prefixes) or path == "/favicon.ico"


# A fragment a script fetches (X-Requested-With) is a page view only when it opens a new
# history entry (filters, paging, Enter) and says so here; results refreshed while typing are not.
NAVIGATION_HEADER = "X-Page-View"
NAVIGATION_VALUE = "navigation"


def is_page_view(request: HttpRequest, response: HttpResponse) -> bool:
    """A successful GET of an HTML page served by a named view: not a prefetch, and not a
    fragment fetched by a script unless that fetch was a navigation."""
    if request.method != "GET" or not 200 <= response.status_code < 300:
        return False
    if not response.get("Content-Type", "").startswith("text/html"):
        return False
    match = getattr(request, "resolver_match", None)
    if match is None or not match.view_name:
        return False
    meta = request.META
    if meta.get("HTTP_HX_REQUEST") or "prefetch" in (
        meta.get("HTTP_SEC_PURPOSE", "") + meta.get("HTTP_PURPOSE", "")
    ):
        return False
    fetched = meta.get("HTTP_X_REQUESTED_WITH")
    if fetched and meta.get(header_meta_key(NAVIGATION_HEADER)) != NAVIGATION_VALUE:
        return False
    return not _untracked_path(request.path)


def page_name(request: HttpRequest) -> str:
    """The URL name (e.g. `search`, `movie-detail`): bounded, unlike raw paths."""
    return request.resolver_match.view_name


def country_from_header(value: str | None) -> str | None:
    code = (value or "").strip().upper()
    return code if code in COUNTRY_NAMES else None  # "XX", "T1" (Tor) etc. are unknown


_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(?:-[a-z]{4})?-([a-z]{2})(?:-|$)", re.IGNORECASE)


def country_from_accept_language(header: str | None) -> str | None:
    """The region of the most preferred language tag that has one ("en-US" -> "US")."""
    tags = []
    for position, part in enumerate((header or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        tags.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(tags):
        match = _LANGUAGE_TAG.match(tag)
        if match and match.group(1).upper() in COUNTRY_NAMES:
            return match.group(1).upper()
    return None


def country_code(request: HttpRequest) -> str:
    """The trusted proxy header when configured, else Accept-Language, else unknown."""
    header = settings.INSIGHTS_COUNTRY_HEADER
    if header:
        code = country_from_header(request.META.get(header_meta_key(header)))
        if code:
            return code
    return country_from_accept_language(request.META.get("HTTP_ACCEPT_LANGUAGE")) or UNKNOWN_CODE


def country_name(code: str) -> str:
    return COUNTRY_NAMES.get(code, UNKNOWN)


def visitor_hash(salt: str, ip: str, user_agent: str) -> str:
    """A daily-salted hash of IP and User-Agent: the same visitor counts once a day, and
    once the salt is deleted nobody can tell which IP it was. The IP is never stored."""
    digest = hashlib.blake2b(
        f"{ip}\n{user_agent}".encode(errors="replace"), key=salt.encode()[:64], digest_size=12
    )
    return digest.hexdigest()


def hit_for(
    request: HttpRequest,
    response: HttpResponse,
    timestamp_ms: int,
    salt_for: Callable[[int], str] = store.visitor_salt,
) -> store.Hit | None:
    """The Hit to record for this request/response, or None when nothing is recorded."""
    user_agent = request.META.get("HTTP_USER_AGENT", "")
    if is_bot(user_agent):
        return None
    search = None
    if response.status_code < 400:
        search = recorded_search(request)
    if not is_page_view(request, response):
        return store.Hit(timestamp_ms=timestamp_ms, search=search) if search else None
    code = country_code(request)
    salt = salt_for(timestamp_ms)
    return store.Hit(
        timestamp_ms=timestamp_ms,
        page=page_name(request),
        country_code=code,
        country_name=country_name(code),
        visitor=visitor_hash(salt, client_ip(request), user_agent),
        search=search,
    )
