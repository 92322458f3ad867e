"""The first admin account: random password, printed once, never a default one."""

import re
import subprocess
from io import StringIO

import pytest
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import RequestFactory

from config.management.commands import serve
from config.management.commands.ensure_admin import ensure_admin
from config.settings import BASE_DIR

pytestmark = pytest.mark.django_db
PRINTED = re.compile(r"Created the admin account '(?P<user>[\w-]+)' with the password (?P<pw>\S+)")


def authenticate(username, password):
    """As the login page does: the login throttle needs the request (its client)."""
    request = RequestFactory().post("/accounts/login/")
    return auth.authenticate(request, username=username, password=password)


def test_creates_a_superuser_admin_with_a_long_random_password():
    username, password = ensure_admin()
    assert username == "admin"
    assert len(password) >= 24  # token_urlsafe(18): 144 random bits
    user = authenticate(username="admin", password=password)
    assert user is not None and user.is_superuser and user.is_staff


def test_a_second_call_creates_nothing():
    ensure_admin()
    assert ensure_admin() is None  # a superuser exists: nothing happens
    assert get_user_model().objects.count() == 1


def test_passwords_differ_between_installations():
    first = ensure_admin()[1]
    get_user_model().objects.all().delete()
    second = ensure_admin()[1]
    assert first != second


def test_the_command_prints_a_password_that_logs_in():
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    printed = PRINTED.search(out.getvalue())
    assert printed and printed["user"] == "admin"
    assert authenticate(username="admin", password=printed["pw"]) is not None


def test_the_command_prints_nothing_once_an_admin_exists():
    call_command("ensure_admin", stdout=StringIO())
    again = StringIO()
    call_command("ensure_admin", stdout=again)
    assert again.getvalue() == ""


def test_an_ordinary_account_named_admin_is_never_taken_over():
    users = get_user_model().objects
    users.create_user("admin", password="their-own-pass-99")
    username, password = ensure_admin()
    assert username.startswith("admin-") and username != "admin"
    mine = users.get(username="admin")
    assert not mine.is_superuser and mine.check_password("their-own-pass-99")
    assert authenticate(username=username, password=password).is_superuser


def test_an_existing_superuser_means_no_new_account():
    get_user_model().objects.create_superuser("owner", password="owner-pass-123")
    assert ensure_admin() is None
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["owner"]


def run_serve_preparation_twice(monkeypatch):
    """`manage.py serve`'s preparation step, twice: migrations and static files are
    stubbed, the account step is real. Returns (commands called, each run's output)."""
    ran = []

    def fake_call_command(name, *args, **kwargs):
        ran.append(name)
        if name == "ensure_admin":
            call_command(name, *args, **kwargs)

    monkeypatch.setattr(serve, "call_command", fake_call_command)
    monkeypatch.setattr(serve.Command, "prepare_search", lambda self: None)
    outputs = []
    for _ in range(2):
        out = StringIO()
        serve.Command(stdout=out).prepare()
        outputs.append(out.getvalue())
    return ran, outputs


def test_the_run_command_migrates_before_it_creates_the_account(monkeypatch):
    ran, _ = run_serve_preparation_twice(monkeypatch)
    assert ran.index("migrate") < ran.index("ensure_admin")  # the table exists first


def test_the_run_command_prints_it_on_the_first_run_only(monkeypatch):
    _, outputs = run_serve_preparation_twice(monkeypatch)
    printed = PRINTED.search(outputs[0])
    assert printed and authenticate(username="admin", password=printed["pw"]) is not None
    assert "password" not in outputs[1]


# Tracked product files (tests and benchmarks make throwaway accounts of their own).
SCANNED = re.compile(r"^(config|search|insights|operations|templates)/|^[^/]+$")
SECRET_LITERAL = re.compile(
    r"(password|passwd|secret|token)\w*[\"']?\s*[:=]\s*[\"'][^\"'{}$\s]{3,}[\"']"
    r"|requirepass[ \t]+[\"']?(?![${])[^\s\"']",  # a literal, not ${VAR} or {variable}
    re.IGNORECASE,
)


def test_no_default_password_or_secret_in_the_product():
    files = subprocess.run(
        ["git", "ls-files"], cwd=BASE_DIR, capture_output=True, text=True, check=True
    ).stdout.split()
    scanned = [f for f in files if SCANNED.search(f) and not f.endswith((".gz", ".svg"))]
    assert "config/settings.py" in scanned and "docker-compose.yml" in scanned
    found = []
    for name in scanned:
        text = (BASE_DIR / name).read_text(errors="replace")
        found += [f"{name}: {m.group(0)}" for m in SECRET_LITERAL.finditer(text)]
    assert found == []
