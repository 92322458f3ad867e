"""The client's address, the same for the whole project.

The login throttle (django-axes, AXES_CLIENT_IP_CALLABLE) counts failures per it, and
insights hashes it into the daily visitor hash. Behind a proxy,
INSIGHTS_CLIENT_IP_HEADER names the header that proxy sets.
"""

from django.conf import settings
from django.http import HttpRequest


def header_meta_key(header: str) -> str:
    """The request.META key of an HTTP header ("X-Forwarded-For" -> "HTTP_X_FORWARDED_FOR")."""
    return "HTTP_" + header.upper().replace("-", "_")


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the first address of the configured proxy header."""
    header = settings.INSIGHTS_CLIENT_IP_HEADER
    if header:
        value = request.META.get(header_meta_key(header), "")
        first = value.split(",")[0].strip()
        if first:
            return first
    return request.META.get("REMOTE_ADDR", "")
