"""A failover under the real server (tests/reliability/failover.py): the app under
gunicorn on a Sentinel group of its own, a primary, two replicas and three sentinels on
free loopback ports, with search and page-view traffic and a writer of confirmed writes.

Two failovers, in order, each a module fixture that runs it and keeps what happened:
the primary killed (SIGKILL, then started again: it returns as a replica), then the new
primary frozen (SIGSTOP) until the sentinels have replaced it, and resumed (a stopped
process keeps its sockets open, so clients wait for their timeout instead of failing at
once). Through both, every search answers 200; afterwards /health/redis answers 200,
page views are recorded on the new primary, and no write confirmed by WAIT
(`redis_stores.confirm_replicated`, as import batches, acknowledgements and threshold
changes are) is lost.
"""

import pytest

from tests.reliability.failover import (
    freeze,
    freeze_each_replica,
    kill,
    resume,
    run_failover,
    served_group,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def group_app(tmp_path_factory):
    with served_group(tmp_path_factory.mktemp("failover"), pytest.MonkeyPatch()) as app:
        yield app


@pytest.fixture(scope="module")
def killed(group_app):
    """The primary killed; started again afterwards, it returns as a replica."""
    outcome = run_failover(group_app, fail=kill)
    group_app.redis.start()  # waits until the replicas are in sync again
    return outcome


@pytest.fixture(scope="module")
def frozen(killed, group_app):
    """The primary (the one elected after the kill) frozen, then resumed once replaced."""
    return run_failover(group_app, fail=freeze, recover=resume)


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


def test_a_resumed_old_primary_refuses_writes_until_it_rejoins_as_a_replica(frozen):
    """With two replicas every node has min-replicas-to-write 1: the old primary, whose
    replicas left it, refuses a write it would otherwise acknowledge and then discard."""
    assert frozen.recovery is True


@pytest.fixture(scope="module")
def replica_frozen(frozen, group_app):
    return freeze_each_replica(group_app)


def test_a_frozen_replica_leaves_every_search_answering_200(replica_frozen):
    """Each replica in turn: reads on it time out after 2 s and move to the other one;
    new connections skip it once the sentinels mark it down."""
    assert replica_frozen.marked_down
    assert replica_frozen.answers >= 66
    assert replica_frozen.failed_answers == []
