"""A failover under the real server: the app under gunicorn (tests/reliability/live.py) on
a Sentinel group of its own, a primary, two replicas and three sentinels on free loopback
ports, with search and page-view traffic and a writer of confirmed writes.

Two failovers, in order, each a module fixture that runs it and keeps what happened:
the primary killed (SIGKILL, then started again: it returns as a replica), then the new
primary frozen (SIGSTOP) until the sentinels have replaced it, and resumed (a stopped
process keeps its sockets open, so clients wait for their timeout instead of failing at
once). Through both, every search answers 200; afterwards /health/redis answers 200,
page views are recorded on the new primary, and no write confirmed by WAIT
(`redis_stores.confirm_replicated`, as import batches, acknowledgements and threshold
changes are) is lost. Waits are bounded polls, never sleeps.
"""

import itertools
import os
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field

import pytest
import redis
from django.test import override_settings

from config import redis_stores
from config.embedded_group import EmbeddedGroup, free_port_run
from tests.conftest import sentinel_settings
from tests.reliability.live import Live

pytestmark = pytest.mark.slow

# The search page and the API, each searching, and a tracked page (its view is a write).
PATHS = ("/?q=lighthouse", "/api/search?q=keeper", "/movies/1/")
WRITES_KEY = "failover:confirmed-writes"
# Generous bounds for a loaded machine: a failover takes about 2.5 s here.
FAILOVER_BOUND_S = 60


def wait_for(check, timeout=FAILOVER_BOUND_S):
    """True once `check()` is truthy, False if `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


class GroupLive(Live):
    """The served app on an embedded Sentinel group instead of one server."""

    def make_redis(self):
        return EmbeddedGroup(
            port=free_port_run(7),
            data_dir=self.workdir / "redis",
            replicas=2,
            password=secrets.token_urlsafe(12),
            sentinel_password=secrets.token_urlsafe(12),
            service="movies-failover",
            maxmemory="256mb",
        )

    def redis_environment(self):
        group = self.redis
        return {
            "REDIS_PASSWORD": group.password,
            "REDIS_SENTINELS": ",".join(f"{h}:{p}" for h, p in group.sentinel_addresses()),
            "REDIS_SENTINEL_SERVICE": group.service,
            "REDIS_SENTINEL_PASSWORD": group.sentinel_password,
        }

    def stores(self):
        return override_settings(**sentinel_settings(self.redis))

    def elected_primary(self):
        """The primary's port as a majority of the sentinels name it now, or None."""
        named = []
        for sentinel in self.redis.sentinels():
            try:
                address = sentinel.client().sentinel_get_master_addr_by_name(self.redis.service)
            except redis.RedisError:
                continue
            named.append(int(address[1]) if address else None)
        port = max(set(named), key=named.count) if named else None
        return port if named.count(port) >= 2 else None

    def node(self, port):
        return next(node for node in self.redis.nodes() if node.port == port)


class Traffic:
    """One visitor after another: searches and tracked page views in turn until stopped,
    every answer's status kept (None: no answer at all)."""

    def __init__(self, app):
        self.app = app
        self.answers = []  # (monotonic time, path, status)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        for path in itertools.cycle(PATHS):
            if self._stop.is_set():
                return
            status, _body = self.app.get(path)
            self.answers.append((time.monotonic(), path, status))

    def answered_since(self, moment):
        return sum(1 for at, _path, status in self.answers if at > moment and status == 200)

    def failures(self):
        return [(path, status) for _at, path, status in self.answers if status != 200]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=60)


class ConfirmedWriter:
    """Numbered writes through the app's client of the primary, each then confirmed as
    the writes that must not be lost are; until stopped."""

    def __init__(self):
        self.acked = []  # (monotonic time, number, confirmed)
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        for number in itertools.count():
            if self._stop.is_set():
                return
            try:
                redis_stores.get_redis("operations").rpush(WRITES_KEY, number)
            except redis.RedisError:  # the retry window passed: not acknowledged
                self.refused += 1
            else:
                confirmed = redis_stores.confirm_replicated("operations")
                self.acked.append((time.monotonic(), number, confirmed))
            time.sleep(0.01)

    def acked_since(self, moment):
        return sum(1 for at, _number, _confirmed in self.acked if at > moment)

    def __enter__(self):
        redis_stores.get_redis("operations").delete(WRITES_KEY)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=60)


@dataclass
class Failover:
    """What one failover left: the answers that were not 200, whether health, page-view
    writes and the writer came back, and the acknowledged writes the new primary lacks."""

    old_primary: int
    new_primary: int | None = None
    failed_answers: list = field(default_factory=list)
    answers: int = 0
    health_back: bool = False
    views_resumed: bool = False
    acked: int = 0
    lost_confirmed: list = field(default_factory=list)
    lost_unconfirmed: int = 0


def run_failover(app, fail, recover=None):
    """Traffic and confirmed writes flowing, `fail(node)` on the primary, then wait until
    the sentinels elect another one and the app writes on it again; `recover(node)`
    afterwards, once the new primary takes writes."""
    with app.stores(), Traffic(app) as traffic, ConfirmedWriter() as writer:
        began = time.monotonic()
        assert wait_for(lambda: traffic.answered_since(began) >= 6 and writer.acked_since(began))
        outcome = Failover(old_primary=app.elected_primary())
        failed_at = time.monotonic()
        fail(app.node(outcome.old_primary))

        def replaced():
            outcome.new_primary = app.elected_primary()
            return outcome.new_primary not in (None, outcome.old_primary)

        if wait_for(replaced) and wait_for(lambda: writer.acked_since(failed_at) >= 10):
            outcome.health_back = wait_for(lambda: app.get("/health/redis")[0] == 200)
            views = app.views_today("movie")
            outcome.views_resumed = wait_for(lambda: app.views_today("movie") > views)
        if recover is not None:
            recover(app.node(outcome.old_primary))
        # Searches go on a little after the recovery, which moves the old node again.
        resumed = time.monotonic()
        wait_for(lambda: traffic.answered_since(resumed) >= 6)
    outcome.failed_answers, outcome.answers = traffic.failures(), len(traffic.answers)
    with app.stores():
        kept = {int(n) for n in redis_stores.get_redis("operations").lrange(WRITES_KEY, 0, -1)}
    lost = [(number, confirmed) for _at, number, confirmed in writer.acked if number not in kept]
    outcome.acked = len(writer.acked)
    outcome.lost_confirmed = [number for number, confirmed in lost if confirmed]
    outcome.lost_unconfirmed = sum(1 for _number, confirmed in lost if not confirmed)
    return outcome


@pytest.fixture(scope="module")
def group_app(tmp_path_factory):
    app = GroupLive(tmp_path_factory.mktemp("failover"))
    monkeypatch = pytest.MonkeyPatch()
    app.redis.start()
    try:
        app.seed()
        app.start(monkeypatch)
        yield app
    finally:
        app.stop()
        redis_stores.reset_pools()


@pytest.fixture(scope="module")
def killed(group_app):
    """The primary killed; started again afterwards, it returns as a replica."""
    outcome = run_failover(group_app, fail=lambda node: node.kill())
    group_app.redis.start()  # waits until the replicas are in sync again
    return outcome


@pytest.fixture(scope="module")
def frozen(killed, group_app):
    """The primary (the one elected after the kill) frozen, then resumed once replaced."""

    def resume(node):
        os.kill(node.pid(), signal.SIGCONT)
        # The sentinels turn it into a replica of the new primary.
        wait_for(lambda: node.client().execute_command("ROLE")[0] == "slave")

    return run_failover(
        group_app, fail=lambda node: os.kill(node.pid(), signal.SIGSTOP), recover=resume
    )


@pytest.fixture(params=["killed", "frozen"])
def failover(request):
    return request.getfixturevalue(request.param)


def test_through_a_failover_every_search_and_page_answers_200(failover):
    assert failover.answers >= 12
    assert failover.failed_answers == []


def test_the_sentinels_elect_another_primary(failover):
    assert failover.new_primary not in (None, failover.old_primary)


def test_after_a_failover_health_answers_200_again(failover):
    assert failover.health_back


def test_after_a_failover_page_views_are_recorded_on_the_new_primary(failover):
    assert failover.views_resumed


def test_no_write_confirmed_by_wait_is_lost_in_a_failover(failover):
    assert failover.acked > 0
    assert failover.lost_confirmed == [], (
        f"{len(failover.lost_confirmed)} confirmed and {failover.lost_unconfirmed} "
        f"unconfirmed of {failover.acked} acknowledged writes lost"
    )
