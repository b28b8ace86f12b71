"""axe-core on every page state a browser test visits.

``watch(context, report)`` loads axe-core (bundled by axe-playwright-python, so it works
offline) into every page of a browser context, before the app's own scripts. In each page a
small watcher runs ``axe.run`` whenever the page settles (250 ms without a DOM change) in a
state it has not checked yet: a state is the address, the title, the headings, the open
dialogs, the alerts and the fields marked invalid, so a new page, a dialog, an error shown
at a field or a new section of the live view are each checked once, and a ticking clock is
not checked again and again. Every violation found goes to ``report``; the browser tests'
``open_session`` fails the test on any. ``check_now(page)`` checks the page as it is at once
(for a state that a test wants checked before it moves on).

Playwright runs init scripts through the DevTools protocol, so the page's strict
Content-Security-Policy does not stop axe from loading, and axe needs no eval.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import BrowserContext, Page

Violation = dict[str, Any]

_WATCHER = """
(() => {
  if (window.top !== window || location.protocol === "about:") return;
  let last = null;
  let timer = null;
  let running = null;
  const visible = (el) => el.tagName === "DIALOG" || el.getClientRects().length > 0;
  const count = (selector) => [...document.querySelectorAll(selector)].filter(visible).length;
  function state() {
    const headings = [...document.querySelectorAll("h1, h2, h3, [role=heading]")]
      .filter(visible)
      .map((el) => el.textContent.trim().slice(0, 80));
    return JSON.stringify([
      location.hash, document.title, headings, count("dialog[open]"), count("[role=alert]"),
      count("[aria-invalid=true]"), innerWidth,
    ]);
  }
  async function check(force) {
    while (running) await running;
    const now = state();
    if (!force && now === last) return [];
    last = now;
    let done;
    running = new Promise((resolve) => (done = resolve));
    try {
      const result = await axe.run(document, { resultTypes: ["violations"] });
      const violations = result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
      }));
      if (violations.length) {
        window.__openhireAxeReport({ url: location.href, state: now, violations });
      }
      return violations;
    } finally {
      running = null;
      done();
    }
  }
  window.__openhireAxeCheck = () => check(true);
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => check(false).catch((e) => console.warn("axe:", e)), 250);
  };
  const start = () => {
    new MutationObserver(schedule).observe(document.documentElement, {
      subtree: true, childList: true, attributes: true, characterData: true,
    });
    addEventListener("hashchange", schedule);
    schedule();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
"""


def watch(context: BrowserContext, report: Callable[[Violation], None]) -> None:
    """Check every page state of every page of ``context``; each violation goes to ``report``."""

    def received(_source: Any, found: dict[str, Any]) -> None:
        for violation in found["violations"]:
            report({**violation, "url": found["url"]})

    context.expose_binding("__openhireAxeReport", received)
    context.add_init_script(script=AXE_SCRIPT + "\n" + _WATCHER)


def check_now(page: Page) -> list[Violation]:
    """Run axe on the page as it is now; its violations (also reported to ``watch``'s report)."""
    found: list[Violation] = page.evaluate("() => window.__openhireAxeCheck()")
    return found


def describe(violations: list[Violation]) -> str:
    return json.dumps(violations, indent=1, ensure_ascii=False)
