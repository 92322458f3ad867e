"""The setup step's `.env`: a random SECRET_KEY and REDIS_PASSWORD, added to an older file
without touching what is there, on every run."""

import shutil
import subprocess

import pytest

from config.envfile import ensure_secrets
from config.settings import BASE_DIR


def values(env_file):
    return dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)


def test_a_fresh_clone_gets_both_secrets(tmp_path):
    env_file = tmp_path / ".env"
    assert ensure_secrets(env_file, environ={}) == ["SECRET_KEY", "REDIS_PASSWORD"]
    written = values(env_file)
    assert len(written["SECRET_KEY"]) >= 50
    assert len(written["REDIS_PASSWORD"]) >= 40  # token_urlsafe(32): 256 random bits


def test_the_new_env_file_is_readable_by_its_owner_only(tmp_path):
    env_file = tmp_path / ".env"
    ensure_secrets(env_file, environ={})
    assert oct(env_file.stat().st_mode)[-3:] == "600"


def test_each_clone_gets_a_password_of_its_own(tmp_path):
    first, other = tmp_path / ".env", tmp_path / "other.env"
    ensure_secrets(first, environ={})
    ensure_secrets(other, environ={})
    assert values(other)["REDIS_PASSWORD"] != values(first)["REDIS_PASSWORD"]


OLDER_ENV = "# mine\nSECRET_KEY=kept-key\nDEBUG=false\nREDIS_PORT=6380"  # no final newline


def older_env_file(directory):
    env_file = directory / ".env"
    env_file.write_text(OLDER_ENV)
    env_file.chmod(0o644)
    return env_file


def test_an_existing_env_without_a_password_gets_one_and_keeps_its_lines(tmp_path):
    env_file = older_env_file(tmp_path)
    assert ensure_secrets(env_file, environ={}) == ["REDIS_PASSWORD"]
    lines = env_file.read_text().splitlines()
    assert lines[:4] == OLDER_ENV.splitlines()
    assert lines[4].startswith("REDIS_PASSWORD=") and len(lines) == 5


def test_an_existing_env_given_a_secret_becomes_private(tmp_path):
    env_file = older_env_file(tmp_path)
    ensure_secrets(env_file, environ={})
    assert oct(env_file.stat().st_mode)[-3:] == "600"  # it holds a secret now


def test_a_second_run_changes_nothing(tmp_path):
    env_file = older_env_file(tmp_path)
    ensure_secrets(env_file, environ={})
    first = env_file.read_text()
    assert ensure_secrets(env_file, environ={}) == []  # idempotent: run on every setup
    assert env_file.read_text() == first


def test_an_empty_assignment_is_filled_in_place(tmp_path):
    """django-environ takes a name's first line, so the value must go on that line."""
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=kept-key\nREDIS_PASSWORD=\nREDIS_HOST=127.0.0.1\n")
    assert ensure_secrets(env_file, environ={}) == ["REDIS_PASSWORD"]
    lines = env_file.read_text().splitlines()
    assert lines[0] == "SECRET_KEY=kept-key" and lines[2] == "REDIS_HOST=127.0.0.1"
    assert lines[1].startswith("REDIS_PASSWORD=") and len(lines[1]) > 40
    assert len(lines) == 3


def test_values_from_the_environment_or_the_file_are_never_replaced(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("export REDIS_PASSWORD='their-own'\n")
    assert ensure_secrets(env_file, environ={"SECRET_KEY": "exported"}) == []
    assert env_file.read_text() == "export REDIS_PASSWORD='their-own'\n"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_setup_step_runs_even_when_env_exists():
    """`make run` and `make test` must reach an older `.env` too, not only a missing one."""
    done = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", ".env"],
        cwd=BASE_DIR, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "python -m config.envfile" in done.stdout
