"""The client address the whole project uses (config.client_ip)."""

from django.conf import settings as django_settings
from django.test import RequestFactory
from django.utils.module_loading import import_string

from config.client_ip import client_ip, header_meta_key

BEHIND_A_PROXY = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.4, 10.0.0.1"}


def test_without_a_configured_header_the_address_is_remote_addr(settings):
    settings.INSIGHTS_CLIENT_IP_HEADER = ""
    assert client_ip(RequestFactory().get("/", **BEHIND_A_PROXY)) == "10.0.0.1"


def test_with_a_configured_header_the_address_is_its_first_entry(settings):
    settings.INSIGHTS_CLIENT_IP_HEADER = "X-Forwarded-For"
    assert client_ip(RequestFactory().get("/", **BEHIND_A_PROXY)) == "198.51.100.4"


def test_an_empty_configured_header_falls_back_to_remote_addr(settings):
    settings.INSIGHTS_CLIENT_IP_HEADER = "X-Forwarded-For"
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="10.0.0.1")) == "10.0.0.1"


def test_the_login_throttle_counts_the_same_address():
    assert import_string(django_settings.AXES_CLIENT_IP_CALLABLE) is client_ip


def test_a_header_name_maps_to_its_meta_key():
    assert header_meta_key("CF-Connecting-IP") == "HTTP_CF_CONNECTING_IP"
