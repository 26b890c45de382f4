"""Render pages in headless Chromium by its command line: a screenshot, and what laid out.

Chromium runs with no network, sync or component updates; a private profile
directory per call. :func:`measure` loads a copy of the page with a script added
at its end that records, after layout, each chart's size and numbers and every
``data-stat`` figure as shown, and reads them back from ``--dump-dom``. The page
itself needs no script. ``python -m pageviews.testing.browser PAGE.html OUT.png``
takes a full-page screenshot (how ``docs/summary.png`` is made).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--mute-audio", "--force-device-scale-factor=1",
)  # fmt: skip
_MEASURE = """<script>
(() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
  const charts = [...document.querySelectorAll("svg.chart")].map((s) => ({
    kind: s.classList[1], title: s.querySelector("title").textContent,
    label: s.getAttribute("aria-labelledby"), size: box(s),
    values: [...s.querySelectorAll("[data-value]")].map(
      (e) => [e.getAttribute("data-label"), Number(e.getAttribute("data-value")), box(e)]),
  }));
  const stats = [...document.querySelectorAll("[data-stat]")].map((e) => ({
    stat: e.dataset.stat, value: e.dataset.value, shown: e.textContent.trim(),
    row: e.closest("tr") ? e.closest("tr").dataset.course : null, size: box(e),
  }));
  const links = [...document.querySelectorAll("a[href]")].map((a) => a.getAttribute("href"));
  const out = document.createElement("pre");
  out.id = "pageviews-measure";
  out.textContent = JSON.stringify({charts, stats, links, title: document.title,
    height: document.documentElement.scrollHeight});
  document.body.appendChild(out);
})();
</script>"""
_OUT = re.compile(r'<pre id="pageviews-measure">(.*?)</pre>', re.DOTALL)


def chromium() -> str | None:
    """The Chromium binary, or None where it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(args: list[str], timeout: float) -> str:
    binary = chromium()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="pageviews-chromium-") as profile:
        done = subprocess.run(
            [binary, *_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    return done.stdout


def measure(page: Path, *, width: int = 1100, timeout: float = 60.0) -> dict[str, Any]:
    """Load ``page`` and return its charts, figures, links and height as laid out."""
    copy = page.with_name(f".measure-{page.name}")
    copy.write_text(page.read_text(encoding="utf-8") + _MEASURE, encoding="utf-8")
    try:
        dom = _run([f"--window-size={width},1200", "--dump-dom", copy.as_uri()], timeout)
    finally:
        copy.unlink(missing_ok=True)
    found = _OUT.search(dom)
    if found is None:
        raise RuntimeError(f"Chromium ran no measurement on {page}")
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


def screenshot(page: Path, png: Path, *, width: int = 1100, timeout: float = 60.0) -> Path:
    """A PNG of the whole page, as tall as its content."""
    height = int(measure(page, width=width, timeout=timeout)["height"]) + 16
    _run([f"--window-size={width},{height}", f"--screenshot={png.resolve()}", page.as_uri()],
         timeout)  # fmt: skip
    return png


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]).resolve(), Path(sys.argv[2]))
    print(sys.argv[2])
