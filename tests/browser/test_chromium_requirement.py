"""Without Chromium the browser tests skip, saying why; under CI they fail instead."""

import pytest

from tests.browser.chromium import ci_is_set, require_chromium


@pytest.fixture
def no_browser(tmp_path):
    return tmp_path / "chromium"  # never created


def test_missing_chromium_skips_with_the_reason(no_browser):
    with pytest.raises(pytest.skip.Exception, match=r"Chromium at .*chromium.*not installed"):
        require_chromium(no_browser, environ={})


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_missing_chromium_fails_under_ci(no_browser, value):
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require_chromium(no_browser, environ={"CI": value})


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_ci_switched_off_still_skips(no_browser, value):
    assert not ci_is_set({"CI": value})
    with pytest.raises(pytest.skip.Exception):
        require_chromium(no_browser, environ={"CI": value})


def test_the_real_environment_is_read_by_default(no_browser, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        require_chromium(no_browser)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require_chromium(no_browser)


def test_an_executable_browser_is_returned(tmp_path):
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    assert require_chromium(browser, environ={"CI": "true"}) == str(browser)


def test_a_file_that_is_not_executable_does_not_count(tmp_path):
    browser = tmp_path / "chromium"
    browser.write_text("not a program")
    browser.chmod(0o644)
    with pytest.raises(pytest.skip.Exception):
        require_chromium(browser, environ={})
