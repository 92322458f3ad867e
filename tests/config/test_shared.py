"""The shared pieces: the events stream, staff-only access, the outage middleware."""

import pytest
import redis
from django.http import HttpResponse
from django.test import RequestFactory

from config import events
from config.access import staff_required, staff_required_api
from config.middleware import RedisOutageMiddleware
from config.redis_stores import get_redis


def test_recent_events_come_newest_first_with_their_data():
    for n in range(5):
        events.append_event("import", n=n)
    events.append_event("alert", state="firing")
    newest = events.recent_events(count=2)
    assert [e["kind"] for e in newest] == ["alert", "import"]
    assert newest[1]["data"] == {"n": 4}


def test_recent_events_of_some_kinds_only():
    for n in range(5):
        events.append_event("import", n=n)
    events.append_event("alert", state="firing")
    imports = events.recent_events(count=10, kinds={"import"})
    assert [e["data"]["n"] for e in imports] == [4, 3, 2, 1, 0]


def test_an_event_can_be_appended_in_a_pipeline():
    pipe = get_redis("events").pipeline()
    events.append_event("page", pipeline=pipe, path="/")
    assert events.recent_events(count=1) == []  # nothing until the pipeline runs
    pipe.execute()
    assert [e["kind"] for e in events.recent_events(count=1)] == ["page"]


def test_stream_length_counts_the_events_in_the_stream():
    for n in range(7):
        events.append_event("import", n=n)
    assert events.stream_length() == 7
    assert get_redis("events").xinfo_stream(events.events_key())["length"] == 7


@staff_required
def page(request):
    return HttpResponse("secret page")


@staff_required_api
def api(request):
    return HttpResponse("secret api")


def request_as(user):
    request = RequestFactory().get("/insights/?range=7d")
    request.user = user
    return request


def test_an_anonymous_visitor_of_a_staff_page_is_sent_to_log_in():
    from django.contrib.auth.models import AnonymousUser

    response = page(request_as(AnonymousUser()))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/insights/%3Frange%3D7d"


def test_an_anonymous_caller_of_a_staff_api_gets_401():
    from django.contrib.auth.models import AnonymousUser

    assert api(request_as(AnonymousUser())).status_code == 401


@pytest.mark.django_db
def test_a_user_who_is_not_staff_gets_403_from_page_and_api(django_user_model):
    request = request_as(django_user_model.objects.create_user("u", password="pw-pw-pw-1"))
    assert page(request).status_code == 403
    assert api(request).status_code == 403


@pytest.mark.django_db
def test_staff_reach_the_page_and_the_api(django_user_model):
    user = django_user_model.objects.create_user("u", password="pw-pw-pw-1", is_staff=True)
    assert page(request_as(user)).content == b"secret page"
    assert api(request_as(user)).content == b"secret api"


def outage_middleware():
    return RedisOutageMiddleware(lambda request: HttpResponse("ok"))


def test_a_redis_outage_on_a_page_is_a_503_page():
    response = outage_middleware().process_exception(
        RequestFactory().get("/"), redis.ConnectionError("Connection refused")
    )
    assert response.status_code == 503
    assert b"right back" in response.content


def test_a_redis_outage_on_an_api_is_a_503_json_answer():
    response = outage_middleware().process_exception(
        RequestFactory().get("/api/search"), redis.TimeoutError("timed out")
    )
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"


def test_an_error_that_is_not_an_outage_is_left_to_django():
    middleware = outage_middleware()
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("bug")) is None
