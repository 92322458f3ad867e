"""A failover of the served app's Sentinel group, run and recorded: the app under gunicorn
(tests/reliability/live.py) on an embedded group of its own (a primary, two replicas,
three sentinels on free loopback ports), search and page-view traffic, and a writer of
confirmed writes, while the primary is killed or frozen. Used by
tests/reliability/test_failover_live.py (what must hold) and bench/failover_live.py (the
figures in docs/RELIABILITY.md). Waits are bounded polls, never sleeps."""

import contextlib
import itertools
import os
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.test import override_settings

from config import redis_stores
from config.embedded_group import EmbeddedGroup, free_port_run
from tests.conftest import sentinel_settings
from tests.reliability.live import Live, served

# The search page and the API, each searching, and a tracked page (its view is a write).
PATHS = ("/?q=lighthouse", "/api/search?q=keeper", "/movies/1/")
WRITES_KEY = "failover:confirmed-writes"
# Not among the numbered writes, which are read back as numbers.
LATE_WRITE_KEY = "failover:late-write"
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


@contextlib.contextmanager
def served_group(workdir, monkeypatch):
    """The app served on its own group, seeded; stopped on leaving."""
    try:
        with served(GroupLive(workdir), monkeypatch) as app:
            yield app
    finally:
        redis_stores.reset_pools()


class Background:
    """A thread running `_run` from entering the block until leaving it (`_stop` set)."""

    def __init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=60)


class Traffic(Background):
    """One visitor after another: searches and tracked page views in turn until stopped,
    every answer kept with its status (None: no answer at all) and how long it took."""

    def __init__(self, app):
        super().__init__()
        self.app = app
        self.answers = []  # (monotonic end, seconds taken, path, status)

    def _run(self):
        for path in itertools.cycle(PATHS):
            if self._stop.is_set():
                return
            began = time.monotonic()
            status, _body = self.app.get(path)
            ended = time.monotonic()
            self.answers.append((ended, ended - began, path, status))

    def answered_since(self, moment):
        return sum(1 for at, _took, _path, status in self.answers if at > moment and status == 200)

    def failures(self):
        return [(path, status) for _at, _took, path, status in self.answers if status != 200]

    def longest_s(self):
        return max(took for _at, took, _path, _status in self.answers)


class ConfirmedWriter(Background):
    """Numbered writes through the app's client of the primary, each then confirmed as
    the writes that must not be lost are; until stopped."""

    def __init__(self):
        super().__init__()
        self.acked = []  # (monotonic time, number, confirmed)
        self.refused = 0

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

    def first_ack_after(self, moment):
        return min((at for at, _n, _c in self.acked if at > moment), default=None)

    def __enter__(self):
        redis_stores.get_redis("operations").delete(WRITES_KEY)
        return super().__enter__()


@dataclass
class Failover:
    """What one failover left: the answers that were not 200, whether health, page-view
    writes and the writer came back, and the acknowledged writes the new primary lacks."""

    old_primary: int
    new_primary: int | None = None
    answers: int = 0
    failed_answers: list = field(default_factory=list)
    longest_answer_s: float = 0.0
    writes_paused_s: float | None = None  # from the failure to the next acknowledged write
    health_back: bool = False
    views_resumed: bool = False
    acked: int = 0
    refused: int = 0
    lost_confirmed: list = field(default_factory=list)
    lost_unconfirmed: int = 0
    recovery: object = None  # what `recover` returned


def kill(node):
    node.kill()


def freeze(node):
    os.kill(node.pid(), signal.SIGSTOP)


def resume(node):
    """A frozen node resumed; the sentinels turn it into a replica of the new primary
    some seconds later. A write sent to it meanwhile, still a primary, would be
    discarded then: True when it refused the write (min-replicas-to-write)."""
    os.kill(node.pid(), signal.SIGCONT)
    try:
        node.client(db=settings.REDIS_STORE_DBS["operations"]).set(LATE_WRITE_KEY, "late")
        refused = False
    except redis.ResponseError as exc:
        refused = str(exc).startswith("NOREPLICAS")
    wait_for(lambda: node.client().execute_command("ROLE")[0] == "slave")
    return refused


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
            outcome.recovery = recover(app.node(outcome.old_primary))
        # Searches go on a little after the recovery, which moves the old node again.
        resumed = time.monotonic()
        wait_for(lambda: traffic.answered_since(resumed) >= 6)
    outcome.answers, outcome.failed_answers = len(traffic.answers), traffic.failures()
    outcome.longest_answer_s = traffic.longest_s()
    first_ack = writer.first_ack_after(failed_at)
    outcome.writes_paused_s = None if first_ack is None else first_ack - failed_at
    with app.stores():
        kept = {int(n) for n in redis_stores.get_redis("operations").lrange(WRITES_KEY, 0, -1)}
    lost = [(number, confirmed) for _at, number, confirmed in writer.acked if number not in kept]
    outcome.acked, outcome.refused = len(writer.acked), writer.refused
    outcome.lost_confirmed = [number for number, confirmed in lost if confirmed]
    outcome.lost_unconfirmed = sum(1 for _number, confirmed in lost if not confirmed)
    return outcome


@dataclass
class ReplicaFreeze:
    """What freezing each replica in turn left: the answers that were not 200, and
    whether the sentinels marked each one down meanwhile."""

    answers: int
    failed_answers: list
    longest_answer_s: float
    marked_down: bool


def freeze_each_replica(app):
    """Traffic flowing, each replica in turn frozen until the sentinels mark it down and
    searches went on for a while, then resumed and back up: whichever replica the app's
    connections read from, one of the freezes meets them."""
    with app.stores(), Traffic(app) as traffic:
        began = time.monotonic()
        assert wait_for(lambda: traffic.answered_since(began) >= 6)
        primary = app.elected_primary()
        sentinel = app.redis.sentinels()[0].client()

        def down(replica):
            replicas = sentinel.sentinel_slaves(app.redis.service)
            return any(r["port"] == replica.port and r["is_sdown"] for r in replicas)

        marked = []
        for replica in [n for n in app.redis.nodes() if n.port != primary and n.pid()]:
            freeze(replica)
            frozen_at = time.monotonic()
            try:
                marked.append(wait_for(lambda r=replica: down(r)))
                wait_for(lambda t=frozen_at: traffic.answered_since(t) >= 30)
            finally:
                os.kill(replica.pid(), signal.SIGCONT)
            wait_for(lambda r=replica: not down(r))
    return ReplicaFreeze(
        len(traffic.answers), traffic.failures(), traffic.longest_s(), bool(marked) and all(marked)
    )
