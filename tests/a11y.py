"""axe-core (WCAG 2.1 A and AA rules) for the browser tests: `assert_accessible(page, where)`.

axe.min.js comes bundled in the pinned PyPI package axe-playwright-python (MPL-2.0); nothing is fetched.
Playwright evaluates it through the DevTools protocol, so the page's CSP stays as strict as it is.
"""
from __future__ import annotations

from axe_playwright_python.base import AXE_SCRIPT

WCAG21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
OPTIONS = {"runOnly": {"type": "tag", "values": WCAG21_AA}, "resultTypes": ["violations"]}


def resize(page, size: dict) -> None:
    """Change the viewport and let the page's resize handlers run (they fire on the next frame)."""
    page.set_viewport_size(size)
    page.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def violations(page, context=None) -> list[str]:
    """One line per failing node: rule, impact, selector and axe's summary of what is wrong."""
    if not page.evaluate("typeof window.axe === 'object'"):  # once per document, not once per run
        page.evaluate(AXE_SCRIPT)
    response = page.evaluate("([context, options]) => axe.run(context || document, options)", [context, OPTIONS])
    lines = []
    for violation in response["violations"]:
        for node in violation["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")[:240]
            lines.append(f"{violation['id']} ({violation['impact']}) {node['target']}: {summary}")
    return lines


def assert_accessible(page, where: str, context=None) -> None:
    found = violations(page, context)
    assert not found, f"axe-core on {where}:\n  " + "\n  ".join(found)
