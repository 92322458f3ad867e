"""Dashboard, APIs, acknowledge, /metrics and the middleware through the real stack."""

import json
import re

import pytest
from django.test import Client

from config.redis_stores import get_redis, reset_pools
from operations import alert_store, metrics_store
from operations.alert_types import Alert, AlertState, AlertStatus, RuleState, iso_utc
from operations.alerts import Evaluator
from operations.series import SYSTEM_SERIES

pytestmark = pytest.mark.django_db

APIS = ["system-metrics", "performance-metrics", "alerts", "redis-info", "configuration"]


def fire_cpu_alert(clock, message_value=99.0):
    evaluator = Evaluator(clock=clock)
    for _ in range(8):
        evaluator.evaluate({"cpu_usage": message_value})
        clock.advance(10)
    return alert_store.active_alerts()[0]


# --- access ---------------------------------------------------------------------------


def test_the_dashboard_is_staff_only(user_client):
    anonymous = Client()
    assert anonymous.get("/operations/").status_code == 302
    assert "/accounts/login/" in anonymous.get("/operations/")["Location"]
    assert user_client.get("/operations/").status_code == 403


@pytest.mark.parametrize("api", APIS)
def test_the_apis_are_staff_only(user_client, api):
    assert Client().get(f"/api/operations/{api}").status_code == 401
    response = user_client.get(f"/api/operations/{api}")
    assert response.status_code == 403
    assert response.json() == {"error": "staff only"}


# --- the dashboard ----------------------------------------------------------------------


def test_the_dashboard_shows_every_panel(staff_client, clock):
    fire_cpu_alert(clock)
    response = staff_client.get("/operations/")
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("System metrics", "Requests per second", "Latency p50 / p95 / p99",
                 "Error rate", "Alerts", "Acknowledge", "Redis", "volatile-lru",
                 "Keys per store", "AOF on", "Alert thresholds", "CPU usage",
                 "/admin/operations/alertthreshold/", "vendor/chartjs/chart.umd.min.js",
                 "js/operations.js"):  # fmt: skip
        assert text in page, text
    assert 'id="ops-outage" role="alert" hidden' in page
    assert "cdn" not in page.lower()


def test_alert_text_is_escaped(staff_client, clock):
    alert = Alert("b" * 16, "cpu_usage", "<script>alert(1)</script>", "t", 1, "warning", 1, 2,
                  AlertStatus.ACTIVE)  # fmt: skip
    alert_store.open_alert(alert, RuleState(AlertState.FIRING), now_ms=int(clock() * 1000))
    page = staff_client.get("/operations/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.fixture
def csrf_staff_client(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    return client


def test_acknowledge_refuses_get(csrf_staff_client, clock):
    alert = fire_cpu_alert(clock)
    assert csrf_staff_client.get(f"/operations/alerts/{alert.id}/acknowledge").status_code == 405


def test_acknowledge_refuses_a_post_without_the_csrf_token(csrf_staff_client, clock):
    alert = fire_cpu_alert(clock)
    url = f"/operations/alerts/{alert.id}/acknowledge"
    assert csrf_staff_client.post(url).status_code == 403  # no CSRF token
    assert alert_store.get_active_alert(alert.id).acknowledged_by is None


def test_acknowledge_with_the_token_marks_the_alert_and_the_page_shows_it(csrf_staff_client, clock):
    alert = fire_cpu_alert(clock)
    url = f"/operations/alerts/{alert.id}/acknowledge"
    page = csrf_staff_client.get("/operations/")
    token = page.cookies["csrftoken"].value
    response = csrf_staff_client.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/operations/"
    acked = alert_store.get_active_alert(alert.id)
    assert acked.acknowledged_by == "staff" and acked.acknowledged_at
    page = csrf_staff_client.get("/operations/").content.decode()
    assert "acknowledged" in page and "by staff" in page


def test_acknowledge_refuses_non_staff(user_client, clock):
    alert = fire_cpu_alert(clock)
    url = f"/operations/alerts/{alert.id}/acknowledge"
    assert user_client.post(url).status_code == 403
    assert Client().post(url).status_code == 302  # anonymous: to the login page
    assert alert_store.get_active_alert(alert.id).acknowledged_by is None


def test_acknowledge_refuses_bad_ids(staff_client):
    bad = staff_client.post("/operations/alerts/not-an-id/acknowledge")
    assert bad.status_code == 400 and b"16 hexadecimal" in bad.content


def test_acknowledging_an_alert_no_longer_active_says_so(staff_client):
    gone = staff_client.post(f"/operations/alerts/{'c' * 16}/acknowledge", follow=True)
    assert "no longer active" in gone.content.decode()


# --- the APIs ------------------------------------------------------------------------------


def test_system_metrics_api(staff_client):
    from operations.collector import Collector

    Collector().run_pass()
    for name, points in (("1h", 60), ("24h", 288), ("7d", 168)):
        body = staff_client.get(f"/api/operations/system-metrics?range={name}").json()
        assert body["range"] == name
        assert len(body["labels"]) == len(body["timestamps"]) == points
        assert set(body["series"]) == set(SYSTEM_SERIES)
        assert all(len(v) == points for v in body["series"].values())
    body = staff_client.get("/api/operations/system-metrics").json()
    assert body["series"]["cpu_usage"][-1] is not None  # the pass landed in the last bucket
    assert body["latest"]["memory_usage"] > 0


def test_the_ops_per_sec_tile_table_and_apis_show_one_figure(staff_client, clock):
    """One known state: the collector's newest samples. INFO's instantaneous figure (the
    dashboard's own polling, at another moment) appears nowhere."""
    now_ms = int(clock() * 1000)
    metrics_store.ensure_series()
    metrics_store.write_samples(
        now_ms, {"redis_ops_per_sec": 1234.5, "redis_clients": 17.0}, None, {}
    )
    page = staff_client.get("/operations/").content.decode()
    shown = re.findall(r'data-latest(?:-of)?="redis_ops_per_sec" data-unit="">([^<]*)<', page)
    assert shown == ["1234.5", "1234.5"]  # the tile, then the Redis table
    clients = re.findall(r'data-latest(?:-of)?="redis_clients" data-unit="">([^<]*)<', page)
    assert clients == ["17", "17"]
    system = staff_client.get("/api/operations/system-metrics").json()
    info = staff_client.get("/api/operations/redis-info").json()
    assert system["latest"]["redis_ops_per_sec"] == info["stats"]["ops_per_sec"] == 1234.5
    assert info["stats"]["ops_per_sec_measured_at"] == iso_utc(now_ms)


def test_before_the_first_measure_ops_per_sec_is_unknown_everywhere(staff_client):
    page = staff_client.get("/operations/").content.decode()
    shown = re.findall(r'data-latest(?:-of)?="redis_ops_per_sec" data-unit="">([^<]*)<', page)
    assert shown == ["–", "–"]
    assert staff_client.get("/api/operations/redis-info").json()["stats"]["ops_per_sec"] is None


@pytest.mark.parametrize("api", ["system-metrics", "performance-metrics"])
@pytest.mark.parametrize("bad", ["2h", "", "1h;DROP", "%00"])
def test_a_bad_range_is_a_400_with_the_reason(staff_client, api, bad):
    response = staff_client.get(f"/api/operations/{api}", {"range": bad} if bad else {"range": ""})
    if bad == "":
        assert response.status_code == 200  # empty means the default
        return
    assert response.status_code == 400
    assert "range must be one of 1h, 24h, 7d" in response.json()["error"]


def test_performance_metrics_api_counts_requests(staff_client):
    for _ in range(5):
        staff_client.get("/health/redis")
    body = staff_client.get("/api/operations/performance-metrics?range=1h").json()
    assert body["totals"]["requests"] >= 5
    assert sum(body["requests_per_second"]) > 0
    assert set(body["latency_ms"]) == {"p50", "p95", "p99"}
    assert body["error_rate"][-1] == 0.0


def test_alerts_api_lists_the_active_alerts_and_the_history(staff_client, clock):
    alert = fire_cpu_alert(clock)
    body = staff_client.get("/api/operations/alerts").json()
    assert [a["id"] for a in body["active"]] == [alert.id]
    assert body["history"][0]["type"] == "cpu_usage"


def test_alerts_api_answers_the_json_the_store_holds(staff_client, clock):
    fire_cpu_alert(clock)
    raw = get_redis("operations")
    body = staff_client.get("/api/operations/alerts").json()
    assert body["active"] == [json.loads(v) for v in raw.hvals("operations:alerts:active")]
    assert body["history"] == [json.loads(v) for v in raw.lrange("operations:alerts", 0, -1)]


@pytest.mark.parametrize("bad", ["0", "-1", "x", "1001"])
def test_alerts_api_refuses_a_bad_limit(staff_client, bad):
    response = staff_client.get("/api/operations/alerts", {"limit": bad})
    assert response.status_code == 400 and "limit" in response.json()["error"]


def test_redis_info_api(staff_client):
    body = staff_client.get("/api/operations/redis-info").json()
    assert body["version"].startswith("7.")
    assert any(m.startswith("timeseries") for m in body["modules"])
    assert body["memory"]["policy"] == "volatile-lru"
    assert set(body["keys_per_store"]) == {"search", "analytics", "operations", "cache",
                                           "metrics", "events"}  # fmt: skip
    assert body["persistence"]["aof_enabled"] is True
    assert body["persistence"]["rdb_last_bgsave_status"] == "ok"


def test_configuration_api(staff_client):
    body = staff_client.get("/api/operations/configuration").json()
    rules = {r["rule"]: r for r in body["rules"]}
    assert rules["cpu_usage"]["threshold"] == 80.0
    assert rules["response_time"]["unit"] == "ms"
    assert rules["error_rate"]["resolves_below"] == 4.0
    assert body["admin_url"] == "/admin/operations/alertthreshold/"


# --- Redis down -------------------------------------------------------------------------


def test_with_redis_down_the_dashboard_shows_the_outage(staff_client, stopped_redis):
    response = staff_client.get("/operations/")
    assert response.status_code == 503
    page = response.content.decode()
    assert "Redis is unavailable" in page and 'id="ops-outage" role="alert" >' in page
    assert "Operations" in page and "Edit thresholds in the admin" in page  # its own layout
    assert "Traceback" not in page
    api = staff_client.get("/api/operations/system-metrics")
    assert api.status_code == 503 and "unavailable" in api.json()["error"]
    assert staff_client.get("/health/redis").status_code == 503


def test_with_redis_down_requests_still_succeed(client, stopped_redis):
    response = client.get("/accounts/login/")
    assert response.status_code == 200  # the metrics middleware swallowed the failure


@pytest.fixture
def stopped_redis(stoppable_server):
    stoppable_server.stop(save=False)
    reset_pools()
    return stoppable_server


# --- the middleware ------------------------------------------------------------------------


def test_the_middleware_records_requests_and_5xx(client, settings):
    client.get("/accounts/login/")
    client.get("/static/css/app.css")  # skipped: not the application's performance
    assert metrics_store.request_totals()["requests"] == 1
    metrics = get_redis("metrics")
    assert metrics.ts().range("app_metrics:requests", "-", "+")[0][1] == 1.0


def test_the_middleware_counts_server_errors(rf):
    from django.http import HttpResponseServerError

    from operations.middleware import RequestMetricsMiddleware

    middleware = RequestMetricsMiddleware(lambda request: HttpResponseServerError("boom"))
    assert middleware(rf.get("/broken")).status_code == 500
    assert metrics_store.request_totals()["errors"] == 1


def test_a_failing_store_never_fails_the_request(rf, monkeypatch, caplog):
    import redis
    from django.http import HttpResponse

    from operations.middleware import RequestMetricsMiddleware

    def broken(*args, **kwargs):
        raise redis.ConnectionError("down")

    monkeypatch.setattr(metrics_store, "record_requests", broken)
    middleware = RequestMetricsMiddleware(lambda request: HttpResponse("ok"))
    for _ in range(3):
        assert middleware(rf.get("/")).content == b"ok"
    warnings = [r for r in caplog.records if "request metrics not recorded" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited, not one line per request


def test_the_middleware_can_be_switched_off(settings):
    from django.core.exceptions import MiddlewareNotUsed

    from operations.middleware import RequestMetricsMiddleware

    settings.OPERATIONS_REQUEST_METRICS = False
    with pytest.raises(MiddlewareNotUsed):
        RequestMetricsMiddleware(lambda request: None)


# --- /metrics -------------------------------------------------------------------------------


def test_metrics_from_loopback_in_prometheus_format(client, clock):
    from prometheus_client.parser import text_string_to_metric_families

    fire_cpu_alert(clock)
    client.get("/accounts/login/")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}
    assert families["movie_explorer_http_requests"].samples[0].value >= 1
    duration = {
        s.name: s.value for s in families["movie_explorer_http_request_duration_seconds"].samples
    }
    assert duration["movie_explorer_http_request_duration_seconds_count"] >= 1
    assert duration["movie_explorer_http_request_duration_seconds_sum"] > 0
    active = {s.labels["rule"]: s.value for s in families["movie_explorer_alert_active"].samples}
    assert active["cpu_usage"] == 1 and active["memory_usage"] == 0
    assert families["movie_explorer_redis_memory_used_bytes"].samples[0].value > 0
    assert families["movie_explorer_redis_up"].samples[0].value == 1


def test_metrics_refuses_remote_callers_without_the_token(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", **remote).status_code == 403
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope", **remote)
    assert wrong.status_code == 403
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token", **remote)
    assert right.status_code == 200
    settings.METRICS_ALLOW_LOOPBACK = False
    assert client.get("/metrics").status_code == 403


def test_metrics_with_redis_down_reports_it(client, stopped_redis):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "movie_explorer_redis_up 0.0" in response.content.decode()


# --- /health/redis ----------------------------------------------------------------------


def test_health_reports_the_collector_and_active_alerts(client, clock):
    from operations.collector import Collector

    body = client.get("/health/redis").json()
    assert body["services"]["operations"]["collector_last_pass_age_s"] is None
    Collector().run_pass()
    fire_cpu_alert(clock)
    response = client.get("/health/redis")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy" and body["timestamp"]
    assert body["services"]["analytics"]["status"] == "up"
    operations = body["services"]["operations"]
    assert operations["status"] == "up"
    assert operations["active_alerts"] == 1
    assert operations["collector_last_pass_age_s"] >= 0


# --- background writing (the default) ------------------------------------------------------


def test_background_mode_queues_and_a_flush_writes_one_batch(client, settings):
    from operations.recorder import RequestRecorder, recorder

    settings.OPERATIONS_REQUEST_METRICS_BACKGROUND = True
    recorder.flush()
    for _ in range(3):
        assert client.get("/accounts/login/").status_code == 200
    recorder.flush()  # the writer thread may have flushed some already: the rest now
    assert metrics_store.request_totals()["requests"] == 3
    assert recorder.thread is not None and recorder.thread.daemon

    own = RequestRecorder(flush_interval=3600)  # its thread will not flush during the test
    now_ms = 1_800_000_000_000
    for index in range(50):
        own.record(float(index), index < 5, now_ms=now_ms + index)
    assert own.flush() == 50
    assert own.flush() == 0
    metrics = get_redis("metrics")
    assert metrics.ts().range("app_metrics:requests", now_ms, now_ms + 10_000) == [(now_ms, 50.0)]
    assert metrics.ts().range("app_metrics:errors", now_ms, now_ms + 10_000) == [(now_ms, 5.0)]
    assert metrics_store.digest_quantiles([now_ms])[now_ms]["count"] == 50


def test_background_flush_survives_redis_down(stopped_redis, caplog):
    from operations.recorder import RequestRecorder

    own = RequestRecorder(flush_interval=3600)
    own.record(5.0, False)
    assert own.flush() == 0  # dropped and logged, never raised
    assert any("request metrics not recorded" in r.getMessage() for r in caplog.records)
