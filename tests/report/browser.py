"""Open a page in real headless Chromium over the DevTools protocol (test helper).

Launches Debian's ``chromium`` with ``--remote-debugging-port=0``, reads the DevTools address from
its stderr, attaches to the page over a websocket (``websocket-client``), loads the file, and
returns the console errors, the box of every plot and a full-page PNG screenshot.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
_LISTENING = re.compile(r"DevTools listening on (ws://[^\s]+)")

PLOTS_JS = """
JSON.stringify(Array.from(document.querySelectorAll('svg.plot')).map(function (svg) {
  var box = svg.getBoundingClientRect();
  var style = getComputedStyle(svg);
  var title = svg.querySelector('title');
  var desc = svg.querySelector('desc');
  return {width: box.width, height: box.height, display: style.display,
          visibility: style.visibility, opacity: style.opacity,
          title: title ? title.textContent : '', desc: desc ? desc.textContent : '',
          labelledby: svg.getAttribute('aria-labelledby') || '',
          shapes: svg.querySelectorAll('path, rect, line, use').length};
}))
"""


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


@dataclass
class PageReport:
    errors: list[str] = field(default_factory=list)
    plots: list[dict[str, Any]] = field(default_factory=list)
    height: int = 0
    screenshot: Path | None = None


class _DevTools:
    def __init__(self, url: str) -> None:
        import websocket  # websocket-client, in the test extra

        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout_s}s")
            self.events.append(json.loads(self.ws.recv()))


def _launch(chromium: str, profile: str) -> tuple[subprocess.Popen[str], str]:
    args = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
        f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank",
    ]  # fmt: skip
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        found = _LISTENING.search(line)
        if found:
            return proc, found.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("chromium did not start its DevTools endpoint")


def _page_url(browser_ws: str) -> str:
    port = re.search(r":(\d+)/", browser_ws).group(1)  # type: ignore[union-attr]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
        targets = json.load(response)
    return next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")


def open_page(chromium: str, page: Path, screenshot: Path, width: int = 1280) -> PageReport:
    """Load ``page`` and report console errors, plot boxes and a full-page screenshot."""
    with tempfile.TemporaryDirectory(
        ignore_cleanup_errors=True
    ) as profile:  # a child may still be writing
        proc, browser_ws = _launch(chromium, profile)
        try:
            tools = _DevTools(_page_url(browser_ws))
            for domain in ("Runtime", "Log", "Page"):
                tools.call(f"{domain}.enable")
            tools.call("Emulation.setDeviceMetricsOverride", width=width, height=1000,
                       deviceScaleFactor=1, mobile=False)  # fmt: skip
            tools.call("Page.navigate", url=page.resolve().as_uri())
            tools.wait_for("Page.loadEventFired")
            report = PageReport(errors=_errors(tools.events))
            result = tools.call("Runtime.evaluate", expression=PLOTS_JS, returnByValue=True)
            report.plots = json.loads(result["result"]["value"])
            height = tools.call(
                "Runtime.evaluate",
                returnByValue=True,
                expression="document.documentElement.scrollHeight",
            )
            report.height = int(height["result"]["value"])
            shot = tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                              clip={"x": 0, "y": 0, "width": width, "height": report.height,
                                    "scale": 1})  # fmt: skip
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            report.screenshot = screenshot
            report.errors += _errors(tools.events)[len(report.errors) :]
            tools.ws.close()
            return report
        finally:
            proc.kill()
            proc.wait(timeout=30)


def _errors(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.exceptionThrown":
            out.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            out.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
    return out
