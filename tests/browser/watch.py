"""What every browser test checks on every page it opens: no console errors, no uncaught
exceptions, no failed requests and no HTTP error the test did not announce."""

import re

STATUS_IN_CONSOLE = re.compile(r"status of (\d{3})")


class PageWatcher:
    """Collects problems from every page of one browser context; the `context` fixture
    fails the test when any were seen."""

    def __init__(self):
        self.problems = []
        self.allowed = []

    def allow(self, status, url_pattern):
        """An HTTP error the test expects, e.g. allow(403, r"/insights/$")."""
        self.allowed.append((status, re.compile(url_pattern)))

    def _allowed(self, status, url):
        return any(status == s and pattern.search(url) for s, pattern in self.allowed)

    def watch(self, page):
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.problems.append(
            f"uncaught exception on {page.url}: {error}"))  # fmt: skip
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _console(self, page, message):
        if message.type != "error":
            return
        source = (message.location or {}).get("url", "")
        status = STATUS_IN_CONSOLE.search(message.text)
        if status and self._allowed(int(status.group(1)), source):
            return  # Chromium's "Failed to load resource" line for an announced status
        self.problems.append(f"console error on {page.url}: {message.text} [{source}]")

    def _request_failed(self, request):
        failure = request.failure or ""
        # ERR_ABORTED: cancelled by the page itself (search.js aborts the fetch of an
        # older keystroke) or by leaving the page while a poll was in flight.
        if "ERR_ABORTED" in failure:
            return
        self.problems.append(f"request failed: {request.method} {request.url}: {failure}")

    def _response(self, response):
        if response.status >= 400 and not self._allowed(response.status, response.url):
            self.problems.append(
                f"HTTP {response.status} for {response.request.method} {response.url}"
            )
