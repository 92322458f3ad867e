"""The shared pieces: the events stream, staff-only access, the outage middleware."""

import pytest
import redis
from django.http import HttpResponse
from django.test import RequestFactory

from config import events
from config.access import staff_required, staff_required_api
from config.middleware import RedisOutageMiddleware
from config.redis_stores import get_redis


def test_events_are_appended_capped_and_read_newest_first():
    for n in range(5):
        events.append_event("import", n=n)
    events.append_event("alert", state="firing")
    pipe = get_redis("events").pipeline()
    events.append_event("page", pipeline=pipe, path="/")
    pipe.execute()
    newest = events.recent_events(count=3)
    assert [e["kind"] for e in newest] == ["page", "alert", "import"]
    assert newest[2]["data"] == {"n": 4}
    imports = events.recent_events(count=10, kinds={"import"})
    assert [e["data"]["n"] for e in imports] == [4, 3, 2, 1, 0]
    assert events.stream_length() == 7
    info = get_redis("events").xinfo_stream(events.events_key())
    assert info["length"] == 7


@staff_required
def page(request):
    return HttpResponse("secret page")


@staff_required_api
def api(request):
    return HttpResponse("secret api")


@pytest.mark.django_db
def test_staff_only_page_and_api(django_user_model):
    from django.contrib.auth.models import AnonymousUser

    factory = RequestFactory()
    request = factory.get("/insights/?range=7d")
    request.user = AnonymousUser()
    response = page(request)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/insights/%3Frange%3D7d"
    assert api(request).status_code == 401

    request.user = django_user_model.objects.create_user("u", password="pw-pw-pw-1")
    assert page(request).status_code == 403
    assert api(request).status_code == 403

    request.user.is_staff = True
    assert page(request).content == b"secret page"
    assert api(request).content == b"secret api"


def test_outage_middleware_turns_redis_errors_into_503():
    middleware = RedisOutageMiddleware(lambda request: HttpResponse("ok"))
    factory = RequestFactory()
    page_response = middleware.process_exception(
        factory.get("/"), redis.ConnectionError("Connection refused")
    )
    assert page_response.status_code == 503
    assert b"right back" in page_response.content
    api_response = middleware.process_exception(
        factory.get("/api/search"), redis.TimeoutError("timed out")
    )
    assert api_response.status_code == 503
    assert api_response["Content-Type"] == "application/json"
    assert middleware.process_exception(factory.get("/"), ValueError("bug")) is None
