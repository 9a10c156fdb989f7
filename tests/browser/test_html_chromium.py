"""The HTML report in a real browser: headless Chromium loads the reports of a passing, a
failing and an empty run from file:// and is driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: no port, no extra dependency).

Asserted: no console message, exception or browser log error (a blocked request would be
one, since the report's CSP forbids them all); the verdict is visible at the top; the chart
has drawn its bars and the script has run; the keyboard moves through the chart and the
heat table; the page reads without JavaScript; print media hides the navigation; and a
screenshot is not blank (decoded here with zlib, and showing the verdict's colour).

Skipped, with the reason, when no Chromium is installed (Debian: apt-get install chromium;
.ci/run installs it).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "unit" / "reporters"))
import html_runs

from validator.reporters.html import render

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="headless Chromium not installed (Debian: apt-get install chromium)")

REPLY_TIMEOUT = 60.0
VIEW_W, VIEW_H = 1000, 760
STATUS_RGB = {"passed": (0x1A, 0x7F, 0x37), "failed": (0xCF, 0x22, 0x2E),
              "nothing tested": (0x9A, 0x67, 0x00)}


class DevTools:
    """A minimal DevTools-protocol client over Chromium's pipe (fd 3 in, fd 4 out,
    messages separated by NUL bytes)."""

    def __init__(self, profile: Path):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Above 4, so that the dup2 onto 3 and 4 in the child cannot clobber them.
        high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
        for fd in (to_browser_r, from_browser_w):
            os.close(fd)

        def wire():
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire, close_fds=False)
        os.close(high_r)
        os.close(high_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.session: str | None = None

    def close(self) -> None:
        try:
            self.call("Browser.close", session=False)
        except Exception:  # noqa: BLE001 - already gone: nothing more to close
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            os.close(fd)

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], REPLY_TIMEOUT)
            if not ready:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise EOFError("Chromium closed its pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, *, session: bool = True) -> dict:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        for i, event in enumerate(self.events):
            if event["method"] == method:
                return self.events.pop(i)
        while True:
            event = self._read()
            if event.get("method") == method:
                return event
            if "method" in event:
                self.events.append(event)

    def open_page(self) -> None:
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target["targetId"], "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": VIEW_W, "height": VIEW_H, "deviceScaleFactor": 1, "mobile": False})

    def load(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def key(self, key: str, code: int) -> None:
        for kind in ("rawKeyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": key,
                                                 "windowsVirtualKeyCode": code})

    def complaints(self) -> list[dict]:
        """Console messages, uncaught exceptions, and browser log warnings or errors."""
        self.js("0")  # a round trip, so that events sent during the load have arrived
        out = []
        for e in self.events:
            if e["method"] in ("Runtime.consoleAPICalled", "Runtime.exceptionThrown") or e["method"] == "Log.entryAdded" and \
                    e["params"]["entry"]["level"] in ("warning", "error"):
                out.append(e)
        return out


def png_pixels(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, rows) of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, []
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + size]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6)
        elif kind == b"IDAT":
            idat.append(chunk)
        pos += 12 + size
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                up, corner = prev[i], (prev[i - bpp] if i >= bpp else 0)
                if kind == 1:
                    line[i] = (line[i] + left) & 255
                elif kind == 3:
                    line[i] = (line[i] + (left + up) // 2) & 255
                else:
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                    line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    tools = DevTools(tmp_path_factory.mktemp("chromium-profile"))
    try:
        tools.open_page()
        yield tools
    finally:
        tools.close()


@pytest.fixture(scope="module")
def report_urls(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    urls = {}
    for name, make in (("passing", html_runs.passing_run), ("failing", html_runs.failing_run),
                       ("empty", html_runs.empty_run)):
        summary = make()
        path = folder / f"{name}.html"
        path.write_text(render(summary), encoding="utf-8")
        urls[name] = (path.as_uri(), summary)
    return urls


@pytest.mark.parametrize("run", ["passing", "failing", "empty"])
def test_report_loads_cleanly_shows_the_verdict_and_draws(browser, report_urls, run):
    url, summary = report_urls[run]
    browser.load(url)
    assert browser.complaints() == []
    assert browser.js("document.documentElement.dataset.report") == "ready"
    verdict = browser.js("""(() => {
        const h = document.getElementById('verdict'), r = h.getBoundingClientRect();
        return {text: h.innerText, top: r.top, height: r.height,
                shown: getComputedStyle(h).visibility === 'visible'};
    })()""")
    status = {"passed": "PASSED", "failed": "FAILED", "nothing tested": "NOTHING TESTED"}
    assert status[summary.status] in verdict["text"]
    assert f"exit status {summary.exit_code}" in verdict["text"]
    assert verdict["shown"] and verdict["top"] < 40 and verdict["height"] > 60
    chart = browser.js("""(() => {
        const svg = document.getElementById('tl-chart'), r = svg.getBoundingClientRect();
        return {drawn: svg.dataset.drawn, bars: svg.querySelectorAll('g.b').length,
                width: r.width, height: r.height};
    })()""")
    bars = sum(1 for m, _ in summary.timeline.as_dict()["buckets"] if m)
    assert chart["drawn"] == str(bars) and chart["bars"] == bars
    assert chart["width"] > 500 and chart["height"] > 100
    if bars:
        tallest = browser.js("Math.max(...[...document.querySelectorAll('#tl-chart rect.m')]"
                             ".map(r => r.getBoundingClientRect().height))")
        assert tallest > 50

    shot = base64.b64decode(browser.call("Page.captureScreenshot", {"format": "png"})["data"])
    width, height, bpp, rows = png_pixels(shot)
    assert (width, height) == (VIEW_W, VIEW_H)
    colours = {row[x:x + 3] for row in rows[::7] for x in range(0, width * bpp, bpp * 5)}
    assert len(colours) > 20, "the screenshot is (nearly) blank"
    verdict_rgb = bytes(STATUS_RGB[summary.status])
    assert any(verdict_rgb in {row[x:x + 3] for x in range(0, 40 * bpp, bpp)}
               for row in rows[:200]), "the verdict's colour bar is not on screen"


def test_keyboard_moves_through_the_chart_and_the_heat_table(browser, report_urls):
    url, _ = report_urls["failing"]
    browser.load(url)
    titles = browser.js("[...document.querySelectorAll('#tl-chart g.b > title')]"
                        ".map(t => t.textContent)")
    browser.js("document.getElementById('tl-chart').focus()")
    first_failing = browser.js("document.getElementById('tl-readout').textContent")
    assert "failing" in first_failing
    browser.key("End", 35)
    assert browser.js("document.getElementById('tl-readout').textContent") == titles[-1]
    browser.key("Home", 36)
    browser.key("ArrowRight", 39)
    assert browser.js("document.getElementById('tl-readout').textContent") == titles[1]

    # the heat table: from the first count, right to the next count in its row, back left
    where = ("(() => { const c = document.activeElement.closest('td');"
             " return c ? [c.parentNode.rowIndex, c.cellIndex] : null; })()")
    browser.js("document.querySelector('#heat-table tbody a').focus()")
    start = browser.js(where)
    browser.key("ArrowRight", 39)
    moved = browser.js(where)
    assert moved[0] == start[0] and moved[1] > start[1]
    browser.key("ArrowLeft", 37)
    assert browser.js(where) == start
    # and down a column that has counts in two rows
    column = browser.js("""(() => {
        const rows = [...document.querySelectorAll('#heat-table tbody tr')];
        for (let c = 1; c < rows[0].cells.length; c++) {
            const hits = rows.filter(r => r.cells[c].querySelector('a'));
            if (hits.length > 1) { hits[0].cells[c].querySelector('a').focus();
                                   return [hits[0].rowIndex, hits[1].rowIndex, c]; }
        }
    })()""")
    browser.key("ArrowDown", 40)
    assert browser.js(where) == [column[1], column[2]]
    browser.key("Tab", 9)
    assert browser.js("document.activeElement.tagName") == "A"
    assert browser.complaints() == []


def test_the_report_reads_without_javascript_and_prints_without_navigation(browser, report_urls):
    url, _ = report_urls["failing"]
    browser.call("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.load(url)
        assert browser.complaints() == []
        assert browser.js("document.documentElement.dataset.report") is None  # no script ran
    finally:
        browser.call("Emulation.setScriptExecutionDisabled", {"value": False})
    # Runtime.evaluate still works with page scripts disabled: read what a reader sees
    text = browser.js("document.body.innerText")
    assert "FAILED" in text and "Events × finding codes" in text
    assert browser.js("document.querySelectorAll('#tl-chart g.b').length") > 0
    browser.call("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert browser.js("getComputedStyle(document.querySelector('nav')).display") == "none"
        pdf = base64.b64decode(browser.call("Page.printToPDF", {})["data"])
        assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    finally:
        browser.call("Emulation.setEmulatedMedia", {"media": ""})
