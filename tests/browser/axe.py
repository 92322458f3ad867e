"""Accessibility checked by axe-core (Deque's engine, vendored in vendor/axe-core/ for the
tests only): `assert_accessible(page)` fails with a readable list of every WCAG 2 A/AA
violation on the page as it is now.

axe is handed to the page through Playwright's evaluate (the DevTools protocol), not a
<script> tag: the site's Content-Security-Policy refuses inline scripts, and the
watcher's "no CSP violation" check must keep meaning something on the same pages.
"""

import json
import re
from functools import cache
from pathlib import Path

AXE_DIR = Path(__file__).resolve().parent / "vendor" / "axe-core"
# WCAG 2.0, 2.1 and 2.2, levels A and AA: the rules axe tags with these.
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")

RUN_AXE_JS = """(tags) => axe.run(document, {
  runOnly: {type: "tag", values: tags},
  resultTypes: ["violations"],
})"""


@cache
def axe_source():
    return (AXE_DIR / "axe.min.js").read_text(encoding="utf-8")


@cache
def axe_version():
    found = re.search(r"axe v(\d+\.\d+\.\d+)", axe_source()[:200])
    return found.group(1) if found else "unknown version"


def axe_violations(page):
    """axe's violations on the page (a list of its result objects)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())  # gone again after each navigation
    return page.evaluate(RUN_AXE_JS, list(WCAG_TAGS))["violations"]


def describe(violations):
    """One paragraph per rule: id, impact, what it wants, where, and the help page."""
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact') or 'no impact given'}): "
            f"{violation['help']}"
        )
        for node in violation["nodes"]:
            target = " ".join(json.dumps(part) for part in node["target"])
            lines.append(f"    at {target}")
            summary = (node.get("failureSummary") or "").strip()
            for line in summary.splitlines():
                lines.append(f"      {line.strip()}")
        lines.append(f"    help: {violation['helpUrl']}")
    return "\n".join(lines)


def assert_accessible(page, what=None):
    """Fails when axe finds any WCAG 2 A/AA violation on the page as it is now; wait for
    what the page draws later (fragments, charts) before calling it."""
    violations = axe_violations(page)
    assert not violations, (
        f"{what or page.url}: {len(violations)} WCAG 2 A/AA rule(s) violated "
        f"(axe-core {axe_version()}):\n{describe(violations)}"
    )
