"""axe-core in the browser tests: every page a test opens is checked, with no test asking for it.

The check runs at two moments. Every document a test's browser context loads runs axe-core in
its `load` event, before the browser reports the page as loaded, so `goto`, `expect_navigation`
and the like return only once the page has been checked; results come back through an exposed
binding. And at the end of the test every page still open is checked again as the test left it
(the screenshot point). axe-core waits between rules with `setTimeout(0)`; during its run in
`load` that wait becomes a microtask, so the whole run finishes before anything else can happen
(a click, a navigation away) and no page goes unchecked.

axe-core comes from the npm registry, pinned by package.json and package-lock.json beside this
file; `ensure_axe_installed` runs `npm ci` when node_modules is missing or holds another version.
Nothing of axe-core is kept in the repository.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parent
AXE_SCRIPT = E2E_DIR / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
_BINDING = "__lmsReportAxeFindings"

# Defines `window.__lmsAxeFindings()`: axe on the whole document, only what blocks: rule,
# impact, help text and, per offending element, its selector and axe's explanation (say the
# contrast ratio). null for what is not an HTML page (a PDF, a CSV, a JSON answer).
_FINDINGS_FUNCTION = """
window.__lmsAxeFindings = (impacts) => {
  if (document.contentType !== "text/html") { return Promise.resolve(null); }
  return axe.run(document, { resultTypes: ["violations"], preload: false }).then((results) =>
    results.violations
      .filter((v) => impacts.includes(v.impact))
      .map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => ({
          target: n.target.map(String).join(" "),
          summary: (n.failureSummary || "").replace(/\\s+/g, " ").trim(),
        })),
      })));
};
"""

# Run in every top-level document's `load` (registered before the page's own scripts run).
_ON_LOAD = """
if (window.top === window) {
  window.addEventListener("load", () => {
    const realSetTimeout = window.setTimeout;
    window.setTimeout = (callback, delay, ...args) => {
      queueMicrotask(() => callback(...args));
      return 0;
    };
    window.__lmsAxeFindings(IMPACTS)
      .then((violations) => window.BINDING({ url: location.href, violations }),
            (error) => window.BINDING({ url: location.href, error: String(error) }))
      .finally(() => { window.setTimeout = realSetTimeout; });
  });
}
""".replace("IMPACTS", json.dumps(list(BLOCKING_IMPACTS))).replace("BINDING", _BINDING)


class AxeUnavailable(RuntimeError):
    """npm is missing or `npm ci` failed: the message says which and what to do."""


def ensure_axe_installed() -> str:
    """axe-core's script, installed with `npm ci` first when missing or not the locked version."""
    if _installed_version() != _locked_version():
        npm = shutil.which("npm")
        if npm is None:
            raise AxeUnavailable(
                "npm is not installed, so the browser tests cannot install axe-core (the "
                "accessibility check every page gets). Install Node.js and npm, say "
                "`sudo apt-get install -y nodejs npm`, or run `npm ci` in tests/e2e/.")
        try:
            result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=E2E_DIR,
                                    capture_output=True, text=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise AxeUnavailable(f"`npm ci` in {E2E_DIR} failed: {error}") from error
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()[-1500:]
            raise AxeUnavailable(f"`npm ci` in {E2E_DIR} exited with {result.returncode}:\n"
                                 f"{output}")
        if _installed_version() != _locked_version():
            raise AxeUnavailable(f"`npm ci` ran but {AXE_SCRIPT} is still missing or not "
                                 f"axe-core {_locked_version()}.")
    return AXE_SCRIPT.read_text(encoding="utf-8")


def _locked_version() -> str:
    lock = json.loads((E2E_DIR / "package-lock.json").read_text(encoding="utf-8"))
    return lock["packages"]["node_modules/axe-core"]["version"]


def _installed_version() -> str | None:
    manifest = AXE_SCRIPT.parent / "package.json"
    if not AXE_SCRIPT.exists() or not manifest.exists():
        return None
    return json.loads(manifest.read_text(encoding="utf-8")).get("version")


@dataclass
class Finding:
    url: str
    moment: str  # "as it loaded" or "at the end of the test"
    rule: str
    impact: str
    help: str
    target: str
    summary: str

    def __str__(self) -> str:
        return (f"{self.url} ({self.moment}): {self.rule} [{self.impact}] {self.help}\n"
                f"    at {self.target}: {self.summary}")


@dataclass
class Auditor:
    """Collects axe-core's serious and critical findings for the pages of one test."""

    axe_source: str
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def attach(self, context) -> None:
        """Check every page this browser context loads, as it loads."""
        context.expose_binding(_BINDING, self._receive)
        context.add_init_script(script=self.axe_source + _FINDINGS_FUNCTION + _ON_LOAD)

    def _receive(self, _source, report: dict) -> None:
        if "error" in report:
            self.problems.append(f"{report['url']}: axe-core could not run: {report['error']}")
        else:
            self._record(report["url"], "as it loaded", report["violations"])

    def check(self, page, moment: str = "at the end of the test") -> None:
        """Check the page as it is now (the end-of-test check; tests may call it mid-way)."""
        if page.is_closed() or not page.url.startswith(("http://", "https://")):
            return
        from playwright.sync_api import Error as PlaywrightError

        try:
            if not page.evaluate("() => typeof window.__lmsAxeFindings === 'function'"):
                page.evaluate(self.axe_source + _FINDINGS_FUNCTION)
            violations = page.evaluate("(impacts) => window.__lmsAxeFindings(impacts)",
                                       list(BLOCKING_IMPACTS))
        except PlaywrightError as error:
            if _gone(error):  # a script navigated away under the check
                return
            raise
        self._record(page.url, moment, violations)

    def _record(self, url: str, moment: str, violations: list[dict] | None) -> None:
        if violations is None:
            return  # not an HTML page
        self.checked.append(url)
        for violation in violations:
            for node in violation["nodes"]:
                self.findings.append(Finding(
                    url=url, moment=moment, rule=violation["id"], impact=violation["impact"],
                    help=violation["help"], target=node["target"], summary=node["summary"]))

    def report(self) -> str:
        pages = sorted({finding.url for finding in self.findings})
        lines = [f"axe-core found {len(self.findings)} serious or critical accessibility "
                 f"problem(s) on {len(pages)} page(s) this test opened:"]
        lines += [str(finding) for finding in self.findings]
        lines += self.problems
        return "\n".join(lines)


def _gone(error: Exception) -> bool:
    message = str(error)
    return any(text in message for text in (
        "Execution context was destroyed", "Target page, context or browser has been closed",
        "Target closed", "frame was detached"))
