"""The HTML report in a real browser: headless Chromium renders it (not blank) and it loads
nothing from the network.

The network check reads Chromium's NetLog (``--log-net-log``): every request the *page*
starts carries the page's ``file://`` origin in its network isolation key, while Chromium's
own background traffic (update checks, ...) has none.  DNS is disabled
(``--host-resolver-rules``) so nothing leaves the machine even if the report were wrong.  A
control page with an external image and stylesheet proves the check catches requests.

Skipped when Chromium is missing, unless ``AUGSTUDY_REQUIRE_BROWSER=1`` (CI), then it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from augstudy.report import build_report
from report_study_factory import make_study

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        if os.environ.get("AUGSTUDY_REQUIRE_BROWSER") == "1":
            pytest.fail("AUGSTUDY_REQUIRE_BROWSER=1 but no Chromium found (apt-get install chromium)")
        pytest.skip("Chromium is not installed (set AUGSTUDY_REQUIRE_BROWSER=1 to make this a failure)")
    return path


def open_in_chromium(chromium: str, page: Path, workdir: Path, height: int = 2000) -> tuple[Image.Image, list[str]]:
    """Screenshot ``page`` at 1280 x ``height`` and return it with the URLs the page requested."""
    workdir.mkdir(parents=True, exist_ok=True)
    shot, netlog = workdir / "shot.png", workdir / "netlog.json"
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={workdir / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND",
           f"--log-net-log={netlog}", f"--screenshot={shot}", f"--window-size=1280,{height}",
           page.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert shot.is_file(), f"chromium wrote no screenshot (rc {done.returncode}): {done.stderr[-2000:]}"
    image = Image.open(shot).convert("RGB")
    return image, page_requests(netlog)


def page_requests(netlog: Path) -> list[str]:
    """URLs of the network requests a page started (file:// origin), from a Chromium NetLog."""
    log = json.loads(netlog.read_text(encoding="utf-8", errors="replace"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log.get("events", []):
        params = event.get("params") or {}
        if event.get("type") != start_job or "url" not in params:
            continue
        from_page = "file://" in str(params.get("network_isolation_key", "")) or \
            params.get("initiator") not in (None, "not an origin")
        if from_page and not params["url"].startswith(("file:", "data:")):
            urls.append(params["url"])
    return urls


def test_control_page_with_external_resources_is_caught(chromium, tmp_path):
    page = tmp_path / "external.html"
    page.write_text('<!DOCTYPE html><html><head><link rel="stylesheet" href="https://cdn.example.invalid/s.css">'
                    '</head><body><h1>x</h1><img src="http://example.invalid/a.png"></body></html>')
    _, requests = open_in_chromium(chromium, page, tmp_path / "run")
    assert "http://example.invalid/a.png" in requests
    assert "https://cdn.example.invalid/s.css" in requests


def test_report_renders_and_loads_nothing_external(chromium, tmp_path):
    study = make_study(tmp_path / "study", data_check=["val has 2 near-duplicate images"])
    html_path = build_report(study, fmt="html")["html"]
    text = html_path.read_text()
    for needle in ('src="http', "src='http", 'href="http', "href='http", "src=\"//", "href=\"//", "<script"):
        assert needle not in text, needle

    image, requests = open_in_chromium(chromium, html_path, tmp_path / "run")
    assert requests == [], f"the report requested {requests}"
    pixels = np.asarray(image, dtype=np.float32)
    assert image.size == (1280, 2000)
    assert pixels.std() > 20, "the screenshot is (nearly) blank"
    colours = {tuple(c) for c in np.asarray(image)[::4, ::4].reshape(-1, 3) // 16}
    assert len(colours) > 40, f"only {len(colours)} distinct colours: the page did not render its content"
    # the effect table's green/red rows are on the first screen
    rgb = np.asarray(image).reshape(-1, 3).astype(int)
    greenish = ((rgb[:, 1] - rgb[:, 0] > 15) & (rgb[:, 1] - rgb[:, 2] > 10)).sum()
    reddish = ((rgb[:, 0] - rgb[:, 1] > 15) & (rgb[:, 0] - rgb[:, 2] > 10)).sum()
    assert greenish > 500 and reddish > 500
