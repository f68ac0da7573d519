"""The report in a real headless Chromium: it loads offline, logs no error, and every plot draws.

Chromium (Debian's ``chromium`` package; ``make browser`` installs it) is driven over the
Chrome DevTools protocol through ``--remote-debugging-pipe`` (file descriptors 3 and 4,
NUL-separated JSON), so no port, no websocket library and no network are involved.
A full-page screenshot is saved as ``test-artifacts/report.png``.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_report import make_run  # tests/report is on sys.path (pytest's rootdir-relative import)

from datafactors.recipes import RecipeResult, save_verdicts
from datafactors.report import build_report

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORT = (1366, 768)  # a common laptop screen
TIMEOUT = 60.0

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(),
    reason=f"{CHROMIUM} is absent: install Debian's chromium package (`make browser`, as root) to run the browser test",
)

CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]


class CDP:
    """A minimal Chrome DevTools protocol client over ``--remote-debugging-pipe``."""

    def __init__(self, user_data_dir: Path) -> None:
        # The browser reads commands on fd 3 and writes replies on fd 4; park our ends above 10 first
        # so the dup2 calls in the child cannot overwrite one another.
        cmd_r, cmd_w = os.pipe()
        out_r, out_w = os.pipe()
        child_in = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(out_w, fcntl.F_DUPFD, 10)
        os.close(cmd_r)
        os.close(out_w)

        def wire() -> None:
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *CHROME_FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=wire,  # only two dup2 calls between fork and exec: no locks taken
        )
        os.close(child_in)
        os.close(child_out)
        self._w = os.fdopen(cmd_w, "wb", buffering=0)
        self._r = os.fdopen(out_r, "rb", buffering=0)
        self._next = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._cv = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session: str | None = None

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self._r.read(1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cv:
                    self._cv.notify_all()
                return
            buf += chunk
            *messages, buf = buf.split(b"\0")
            with self._cv:
                for raw in messages:
                    msg = json.loads(raw)
                    if "id" in msg:
                        self._replies[msg["id"]] = msg
                    else:
                        self.events.append(msg)
                self._cv.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True) -> dict[str, Any]:
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self._w.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        with self._cv:
            while self._next not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError(f"no reply to {method} (chromium exit code {self.proc.poll()})")
                self._cv.wait(min(left, 0.5))
            reply = self._replies.pop(self._next)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def wait_event(self, method: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for e in self.events:
                    if e.get("method") == method:
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {method} event within {timeout} s")
                self._cv.wait(min(left, 0.5))

    def evaluate(self, expression: str) -> Any:
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in res:
            raise RuntimeError(f"page script failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False)
        except (RuntimeError, OSError, ValueError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for f in (self._w, self._r):
            try:
                f.close()
            except OSError:
                pass


def _write_extras(run: Path) -> None:
    """The optional parts of a run folder a real run also has: a profile and recipe verdicts."""
    pd.DataFrame(
        [
            dict(family="size", factor="n_examples", key="", value=1000.0, text="", note="rows of the training set"),
            dict(family="size", factor="n_classes", key="", value=3.0, text="", note="distinct labels"),
            dict(
                family="balance", factor="class_entropy_normalized", key="", value=0.98, text="", note="entropy / log C"
            ),
            dict(family="duplication", factor="exact_duplicate_rate", key="", value=0.01, text="", note="hash of X"),
        ]
    ).to_parquet(run / "profile.parquet")
    results = [
        RecipeResult("data-diet", "Paul et al. (2021)", "EL2N keeps accuracy at 50%", {"gap (points)": 1.2}, True),
        RecipeResult("calibration-bins", "Benchmark", "ECE grows with bins", {"ece@15": 0.031, "n": 3}, False),
    ]
    save_verdicts(results, run, seed=0, quick=True)


# Per figure: its box, its parent's box, the SVG layers and canvases plotly drew, and how many traces it drew.
FIGURES_JS = """
Array.from(document.querySelectorAll('.plotly-graph-div')).map(el => {
  const box = el.getBoundingClientRect(), parent = el.parentElement.getBoundingClientRect();
  const svg = el.querySelector('.main-svg');
  const sbox = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {
    id: el.id, width: box.width, parentWidth: parent.width, svgWidth: sbox.width, svgHeight: sbox.height,
    svgs: el.querySelectorAll('.main-svg').length,
    drawn: el.querySelectorAll('g.trace, g.hm, .heatmaplayer image, path.point, .bars path').length,
    canvases: Array.from(el.querySelectorAll('canvas')).filter(c => c.width > 0 && c.height > 0).length,
    traces: (el.data || []).length,
  };
})
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("browser")
    run = make_run(base)
    _write_extras(run)
    report = build_report(run)
    cdp = CDP(base / "chromium-profile")
    try:
        target = cdp.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        cdp.session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            cdp.send(f"{domain}.enable")
        width, height = VIEWPORT
        cdp.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        cdp.send("Page.navigate", {"url": report.resolve().as_uri()})
        cdp.wait_event("Page.loadEventFired")
        # Plotly draws synchronously, then the load handler refits every figure; wait until that settles.
        deadline = time.monotonic() + 20
        previous = None
        while time.monotonic() < deadline:
            figs = cdp.evaluate(FIGURES_JS)
            if figs == previous and all(f["svgs"] for f in figs):
                break
            previous = figs
            time.sleep(0.3)
        yield cdp, run, report
    finally:
        cdp.close()


def test_no_console_errors_and_no_network(page):
    cdp, _, _ = page
    errors = []
    for e in list(cdp.events):
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append(("console", [a.get("value", a.get("description")) for a in p.get("args", [])]))
        elif m == "Runtime.exceptionThrown":
            errors.append(("exception", p.get("exceptionDetails", {}).get("text")))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            errors.append(("log", p["entry"].get("text")))
    assert errors == []
    urls = [e["params"]["request"]["url"] for e in cdp.events if e.get("method") == "Network.requestWillBeSent"]
    assert urls and all(u.startswith(("file:", "data:", "about:", "blob:")) for u in urls), urls


def test_every_plot_renders_inside_its_box(page):
    cdp, _, report = page
    figs = cdp.evaluate(FIGURES_JS)
    expected = report.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    assert len(figs) == expected >= 8
    for f in figs:
        assert f["svgs"] >= 1 and f["svgWidth"] > 200 and f["svgHeight"] > 200, f
        assert f["traces"] >= 1 and (f["drawn"] + f["canvases"]) >= 1, f
        # drawn at the width of its column (a figure drawn before its grid existed overflows it)
        assert f["svgWidth"] <= f["parentWidth"] + 1, f


def test_readable_on_a_laptop_screen(page):
    cdp, _, _ = page
    layout = cdp.evaluate(
        "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
        " nav: document.querySelector('nav.toc').getBoundingClientRect().height,"
        " summaryTop: document.getElementById('summary').getBoundingClientRect().top,"
        " cards: document.querySelectorAll('#summary .card').length,"
        " font: parseFloat(getComputedStyle(document.body).fontSize)})"
    )
    assert layout["scroll"] <= layout["inner"], "the page scrolls sideways at 1366 px"
    assert layout["nav"] < 80, "the table of contents should fit in one or two lines"
    assert layout["summaryTop"] < VIEWPORT[1] / 2, "the summary should be on the first screen"
    assert layout["cards"] == 2 and layout["font"] >= 14


def test_cartography_hover_shows_example_id(page):
    cdp, _, _ = page
    text = cdp.evaluate(
        "(() => { const el = document.getElementById('fig-cartography');"
        " Plotly.Fx.hover(el, [{curveNumber: 0, pointNumber: 5}]);"
        " return el.querySelector('.hoverlayer').textContent; })()"
    )
    assert "id: ex-005" in text and "confidence" in text


def test_recipe_verdicts_and_summary_are_shown(page):
    cdp, _, _ = page
    text = cdp.evaluate("document.getElementById('recipes').innerText")
    assert "data-diet" in text and "calibration-bins" in text and "1 of 2" in text
    assert "held" in text and "not held" in text
    summary = cdp.evaluate("document.getElementById('summary').innerText")
    assert "Which data should I keep?" in summary and "How much more data do I need?" in summary


def test_screenshot_saved(page):
    cdp, _, _ = page
    height = int(cdp.evaluate("document.documentElement.scrollHeight"))
    shot = cdp.send(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": VIEWPORT[0], "height": height, "scale": 1},
        },
    )
    data = base64.b64decode(shot["data"])
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    ARTIFACTS.mkdir(exist_ok=True)
    tmp = ARTIFACTS / ".report.png.tmp"
    tmp.write_bytes(data)
    shutil.move(tmp, ARTIFACTS / "report.png")
