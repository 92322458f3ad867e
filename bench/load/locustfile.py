"""Locust users for bench/load_test.py: what visitors and staff do on the site.

Run by the driver (headless, one process); it writes the load plan this file reads
(`LOAD_PLAN`: the query log, the movies one-off queries come from, facet values, movie
ids, the staff login) and reads back what is counted here (`LOAD_PAGE_VIEWS_OUT`: page
views, the cache answers of the `Server-Timing` header, the queries drawn).

- Visitors (most users) type a query drawn from the log (bench/load/querylog.py: Zipf
  over the log's ranks, plus a share of one-off queries never drawn twice) in bursts of
  1–4 keystrokes with pauses between: as the page's script does, each keystroke asks
  `/api/search/suggest` (from 2 letters), each pause of 200 ms the results fragment,
  each pause of a second the fragment again with `record=1`; Enter loads the full
  search page. They click filters (genre, year, rating, language) and open movie
  pages, reading each page for a few seconds.
- Staff users log in once through the login form (CSRF token from the form) and keep the
  insights and operations dashboards open: the insights activity feed polls every 5 s,
  the operations page's four APIs every 10 s, and the dashboards are reloaded with
  another range about once a minute.
- A few crawlers fetch movie pages with a bot User-Agent: insights must not count them.
- `Probe` (run alone, never in the mix) sends one endpoint class without pauses.

Page views are counted the way insights' middleware counts them (insights/tracking.py):
a GET answered 2xx with an HTML page by a named view outside /api/, /insights/,
/operations/, /admin/, /health/ and static files, from a browser User-Agent.
"""

import json
import os
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, urlencode

import gevent
from locust import FastHttpUser, between, constant, events, task

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent.parent)]  # querylog, and the project it imports
from querylog import OneOffs, Source, ZipfDraw, distribution  # noqa: E402
from server_timing import cache_answer  # noqa: E402

PLAN = json.loads(open(os.environ["LOAD_PLAN"], encoding="utf-8").read())  # noqa: SIM115
BROWSERS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
]
LANGUAGES = ["en-US,en;q=0.9", "en-GB,en;q=0.8", "fr-FR,fr;q=0.9", "de-DE,de;q=0.9",
             "es-ES,es;q=0.9", "ja-JP,ja;q=0.9", "pt-BR,pt;q=0.9", "en-IN,en;q=0.8",
             "it-IT,it;q=0.9", "nl"]  # fmt: skip
CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
MOVIE_LINK = re.compile(r'href="/movies/([0-9]+)/"')

# static/js/search.js: suggestions 80 ms after a keystroke (from 2 letters), the results
# fragment after a 200 ms pause, the same again with record=1 after a 1 s pause.
SUGGEST_AFTER_S, REFRESH_AFTER_S, RECORD_AFTER_S = 0.08, 0.2, 1.0
KEY_GAP_S = (0.06, 0.18)  # between the keystrokes of one burst
PAUSE_S = (0.3, 2.5)  # after a burst: looking at the suggestions and results

# Page views this process saw answered, per page (the URL names insights records).
page_views = Counter()
page_requests_unanswered = Counter()
cache_answers = defaultdict(Counter)  # request name -> {"hit", "miss", "absent": count}
drawn = Counter()  # every query drawn (typed or filtered), one-offs included
prefixes = Counter()  # every text the typing sent as a results fragment

_seen_file = os.environ.get("LOAD_ONEOFFS_SEEN", "")
_seen = json.loads(Path(_seen_file).read_text()) if _seen_file and Path(_seen_file).exists() else []
popular = ZipfDraw(PLAN["queries"], PLAN["zipf_s"], random.Random())
one_offs = OneOffs([Source.from_json(s) for s in PLAN["sources"]],
                   [*PLAN["queries"], *_seen], random.Random())  # fmt: skip


def page_name(path):
    path = path.split("?")[0]
    if path == "/":
        return "search"
    if path.startswith("/movies/"):
        return "movie"
    if path == "/accounts/login/":
        return "login"
    return None


def pick_query():
    """A query from the log (Zipf by rank), or, for the one-off share, a query nobody
    typed before in this run."""
    query = one_offs() if random.random() < PLAN["one_off_share"] else popular()
    drawn[query] += 1
    return query


def keystrokes(text):
    """[text typed so far, pause after that keystroke] for each keystroke: bursts of 1–4
    keystrokes a fast typist's gap apart, each followed by a longer pause."""
    typed = []
    while len(typed) < len(text):
        for _ in range(random.randint(1, 4)):
            if len(typed) < len(text):
                typed.append([text[: len(typed) + 1], random.uniform(*KEY_GAP_S)])
        typed[-1][1] = random.uniform(*PAUSE_S)
    return typed


class Site(FastHttpUser):
    abstract = True
    browser = True

    def on_start(self):
        self.headers = {
            "User-Agent": random.choice(BROWSERS) if self.browser else CRAWLER,
            "Accept-Language": random.choice(LANGUAGES),
        }

    def get(self, path, name, page=False, **kwargs):
        """GET path; a page counts as a page view when it comes back as 2xx HTML."""
        counted = page and self.browser
        if counted:
            page_requests_unanswered[page_name(path)] += 1
        with self.client.get(
            path, name=name, headers={**self.headers, **kwargs.pop("headers", {})},
            catch_response=True, **kwargs,
        ) as response:  # fmt: skip
            if counted:
                page_requests_unanswered[page_name(path)] -= 1
                headers = response.headers or {}  # None when no answer came (timeout)
                html = headers.get("Content-Type", "").startswith("text/html")
                if 200 <= response.status_code < 300 and html:
                    page_views[page_name(path)] += 1
            if response.status_code == 200:
                headers = response.headers or {}
                cache_answers[name][cache_answer(headers.get("Server-Timing"))] += 1
            if response.status_code >= 400 or response.status_code == 0:
                response.failure(f"HTTP {response.status_code}")
            return response


class Visitor(Site):
    weight = 96
    wait_time = between(2, 6)  # reading the page before the next action

    def type_query(self):
        """Search-as-you-type as the page's script does it: suggestions, the results
        fragment (not a page view: typing replaces the history entry) and, after a long
        pause, the same fragment recorded; returns the query and the movie ids the last
        results showed."""
        query, shown, recorded = pick_query(), [], ""
        for typed, pause in keystrokes(query):
            if len(typed.strip()) >= 2 and pause >= SUGGEST_AFTER_S:
                self.get(f"/api/search/suggest?q={quote(typed.strip())}",
                         "/api/search/suggest?q=[prefix]")  # fmt: skip
            fragments = []
            if pause >= REFRESH_AFTER_S:
                fragments.append(("", "/?q=[prefix]&partial=1"))
            if pause >= RECORD_AFTER_S and typed != recorded:
                fragments.append(("&record=1", "/?q=[prefix]&partial=1&record=1"))
                recorded = typed
            for extra, name in fragments:
                prefixes[typed] += 1
                found = self.get(f"/?q={quote(typed)}&partial=1{extra}", name,
                                 headers={"X-Requested-With": "fetch"})  # fmt: skip
                if found.status_code == 200:
                    shown = MOVIE_LINK.findall(found.text or "")
            self.pause(pause)
        return query, shown

    def pause(self, seconds):
        gevent.sleep(seconds)  # a pause inside one task (typing, reading)

    def wait_between(self, low, high):
        self.pause(random.uniform(low, high))

    @task(5)
    def search_as_you_type(self):
        query, shown = self.type_query()
        self.get(f"/?q={quote(query)}", "/?q=[query]", page=True)  # Enter: the full page
        self.wait_between(2, 6)
        if shown and random.random() < 0.6:
            self.get(f"/movies/{random.choice(shown[:10])}/", "/movies/[id]/", page=True)
        if random.random() < 0.1:  # an API client's search
            self.get(f"/api/search?q={quote(query)}", "/api/search?q=[query]")

    @task(3)
    def filter_clicks(self):
        """Filters on a results page: each click reloads the results (a page view, as the
        page's script fetches the results fragment and the no-script form reloads)."""
        query = pick_query() if random.random() < 0.7 else ""
        params = [("q", query)] if query else []
        for _ in range(random.randint(1, 3)):
            kind = random.choice(("genre", "language", "year", "rating"))
            if kind in ("genre", "language"):
                params.append((kind, random.choice(PLAN["facets"][kind])))
            elif kind == "year":
                low = random.randint(1950, 2015)
                params += [("year_min", str(low)), ("year_max", str(low + random.choice((5, 10))))]
            else:
                params.append(("rating_min", random.choice(("6", "7", "8"))))
            url = "/?" + urlencode(params)
            if random.random() < 0.5:  # the page's script: a new history entry
                self.get(url + "&partial=1", "/?[filters]&partial=1", page=True,
                         headers={"X-Requested-With": "fetch",
                                  "X-Page-View": "navigation"})  # fmt: skip
            else:
                self.get(url, "/?[filters]", page=True)
            self.wait_between(2, 5)

    @task(3)
    def movie_page(self):
        movie_id = random.randint(PLAN["first_id"], PLAN["last_id"])
        self.get(f"/movies/{movie_id}/", "/movies/[id]/", page=True)

    @task(1)
    def browse(self):
        """The home page: the whole catalogue, facets from the cache."""
        self.get("/", "/ (browse)", page=True)


# The endpoint classes a probe sends alone (the visitors' request names).
PROBES = {
    "suggest": ("/api/search/suggest?q=[prefix]",),
    "fragment": ("/?q=[prefix]&partial=1", "/?q=[prefix]&partial=1&record=1"),
    "search page": ("/?q=[query]", "/ (browse)"),
    "filters": ("/?[filters]", "/?[filters]&partial=1"),
    "api": ("/api/search?q=[query]",),
    "movie page": ("/movies/[id]/",),
}
NOT_SENT = SimpleNamespace(status_code=0, text="", headers={})


class Probe(Visitor):
    """One endpoint class alone (`LOAD_PROBE`), for its cost per request: the visitors'
    tasks and queries without their pauses, sending only that class's requests."""

    abstract = not os.environ.get("LOAD_PROBE")  # never part of the site's mix
    wait_time = constant(0)

    def get(self, path, name, page=False, **kwargs):
        if name not in PROBES[os.environ["LOAD_PROBE"]]:
            return NOT_SENT
        return super().get(path, name, page=page, **kwargs)

    def pause(self, seconds):
        gevent.sleep(0)


class Crawler(Site):
    weight = 2
    browser = False
    wait_time = between(1, 3)

    @task
    def crawl(self):
        movie_id = random.randint(PLAN["first_id"], PLAN["last_id"])
        self.get(f"/movies/{movie_id}/", "/movies/[id]/ (crawler)", page=True)


class Staff(Site):
    weight = 2
    wait_time = constant(5)  # the insights feed's refresh interval

    def on_start(self):
        super().on_start()
        form = self.get("/accounts/login/", "/accounts/login/", page=True)
        token = CSRF_INPUT.search(form.text or "")
        with self.client.post(
            "/accounts/login/",
            data={"username": PLAN["staff_username"], "password": PLAN["staff_password"],
                  "csrfmiddlewaretoken": token.group(1) if token else "", "next": "/insights/"},
            headers={**self.headers, "Referer": f"{self.host}/accounts/login/"},
            name="/accounts/login/ (POST)", allow_redirects=False, catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code != 302:
                response.failure(f"login: HTTP {response.status_code}")
        self.polls = 0
        self.range = "realtime"
        self.get("/insights/", "/insights/")
        self.get("/operations/", "/operations/")

    @task
    def poll(self):
        self.polls += 1
        self.get(f"/api/analytics/page-activities?range={self.range}&limit=20",
                 "/api/analytics/page-activities")  # fmt: skip
        if self.polls % 2 == 0:  # the operations page refreshes every 10 s
            for api in ("system-metrics", "performance-metrics"):
                self.get(f"/api/operations/{api}?range=1h", f"/api/operations/{api}")
            self.get("/api/operations/alerts?limit=30", "/api/operations/alerts")
            self.get("/api/operations/redis-info", "/api/operations/redis-info")
        if self.polls % 12 == 0:  # about once a minute: another range, page reloaded
            self.range = random.choice(("realtime", "24h", "7d", "30d"))
            self.get(f"/insights/?range={self.range}", "/insights/?range=[range]")
            self.get("/operations/", "/operations/")


@events.spawning_complete.add_listener
def mark_spawned(**_kwargs):
    """Tell the driver every user is running: a capacity step's figures start here, the
    cache answers too when locust resets its stats (page views count the whole run)."""
    if os.environ.get("LOAD_RESET_STATS"):
        cache_answers.clear()
    out = os.environ.get("LOAD_SPAWNED_OUT")
    if out:
        Path(out).touch()


@events.test_stop.add_listener
def write_page_views(**_kwargs):
    out = os.environ.get("LOAD_PAGE_VIEWS_OUT")
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            queries = distribution(drawn, one_offs.made, len(PLAN["queries"]), PLAN["zipf_s"])
            json.dump({"page_views": dict(page_views),
                       "unanswered": {k: v for k, v in page_requests_unanswered.items() if v},
                       "cache": {name: dict(counts) for name, counts in cache_answers.items()},
                       "queries": queries.to_json(),
                       "top_queries": drawn.most_common(10),
                       "prefixes": {"sent": sum(prefixes.values()), "distinct": len(prefixes)},
                       "one_offs_made": [*_seen, *one_offs.made]}, handle)  # fmt: skip
