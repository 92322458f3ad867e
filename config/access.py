"""Staff-only access for dashboards and their APIs.

Pages: anonymous users are redirected to the login page; logged-in non-staff get 403.
APIs: 401 JSON for anonymous users, 403 JSON for non-staff (no redirect to HTML).
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            return render(request, "403.html", {"reason": "This page is for staff only."},
                          status=403)  # fmt: skip
        return view(request, *args, **kwargs)

    return wrapped


def staff_required_api(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"error": "authentication required"}, status=401)
        if not request.user.is_staff:
            return JsonResponse({"error": "staff only"}, status=403)
        return view(request, *args, **kwargs)

    return wrapped
