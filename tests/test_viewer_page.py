"""The interactive viewer (``recon view``): the page served by viser draws the body in headless
Chromium (software WebGL), plays, loads nothing from the network; and the command's one-line
errors."""

import io
import json
import re
import shutil
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from typer.testing import CliRunner

from motion_recon.result_file import write_result
from pipelines.cli import app

from posed_results import posed_result

runner = CliRunner()
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--window-size=1280,800", "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
)  # fmt: skip


@pytest.fixture(scope="module")
def result_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("viewer") / "slide.h5"
    write_result(path, posed_result(30))
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(condition, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _page_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _drawn(driver) -> dict | None:
    """three.js's renderer statistics once it has drawn 20 frames holding the body's meshes."""
    info = driver.execute_script("const t = window.__viserTestpoints; return t && JSON.stringify(t.rendererInfo)")
    info = json.loads(info) if info else None
    return info if info and info["render"]["frame"] > 20 and info["memory"]["geometries"] >= 20 else None


def _view_pixels(driver) -> tuple[int, int]:
    """Distinct colours and pixels of the body's blue in a screenshot of the 3D view (left of the
    GUI panel, below the software-WebGL notice)."""
    from PIL import Image
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.TAG_NAME, "canvas").rect
    assert canvas["width"] > 800 and canvas["height"] > 500
    image = np.asarray(Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")).astype(int)
    scale = image.shape[1] / driver.execute_script("return window.innerWidth")
    top, left = int(canvas["y"] * scale), int(canvas["x"] * scale)
    bottom, right = top + int(canvas["height"] * scale), left + int((canvas["width"] - 420) * scale)
    view = image[top + int(200 * scale) : bottom, left:right]
    blue = (view[..., 2] - view[..., 0] > 60) & (view[..., 2] > 150)
    return len(np.unique(view.reshape(-1, 3), axis=0)), int(blue.sum())


@pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                    reason="needs Chromium and chromedriver (apt-get install chromium chromium-driver)")  # fmt: skip
def test_page_draws_the_body_plays_and_fetches_nothing_remote(result_path, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    from viewer.interactive import serve

    port, stop = _free_port(), threading.Event()
    server = threading.Thread(target=serve, args=(result_path,), kwargs={"port": port, "stop": stop}, daemon=True)
    server.start()
    url = f"http://127.0.0.1:{port}"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        _wait(lambda: _page_up(url), 30, "the viewer's page")
        driver.get(url)
        info = _wait(lambda: _drawn(driver), 20, "WebGL frames with the body's meshes")
        assert info["render"]["triangles"] > 10_000
        page = lambda: driver.find_element(By.TAG_NAME, "body").text  # noqa: E731
        _wait(lambda: "frame 0 / 29" in page(), 10, "the frame line")
        assert "glide" in page() and "window 1 / 3" in page() and "Window losses" in page()

        driver.find_element(By.XPATH, "//button[normalize-space()='Play']").click()
        shown = lambda: int(re.search(r"frame (\d+) / 29", page()).group(1))  # noqa: E731
        _wait(lambda: shown() >= 12, 10, "playback to reach the second window")
        driver.find_element(By.XPATH, "//button[normalize-space()='Pause']").click()

        colours, body = _view_pixels(driver)
        assert colours > 200 and body > 2000, (colours, body)
        driver.find_element(By.XPATH, "//label[normalize-space()='Body']").click()  # the body layer's toggle
        _wait(lambda: _view_pixels(driver)[1] < body / 10, 10, "the body to disappear")

        log = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
        requests = {m["params"].get("url") or m["params"]["request"]["url"]  # what went on the wire
                    for m in log if m["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated")}  # fmt: skip
        remote = [u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss")
                  and urlparse(u).hostname != "127.0.0.1"]  # fmt: skip
        assert url + "/" in requests and not remote, remote
    finally:
        driver.quit()
        stop.set()
        server.join(10)
    assert not server.is_alive()


def test_view_names_a_missing_file_or_a_missing_viser_in_one_line(result_path, tmp_path, monkeypatch):
    result = runner.invoke(app, ["view", str(tmp_path / "missing.h5")])
    assert result.exit_code == 2 and "missing.h5: no such file" in result.output
    assert len(result.output.strip().splitlines()) == 1
    (tmp_path / "foreign.h5").write_text("not hdf5")
    result = runner.invoke(app, ["view", str(tmp_path / "foreign.h5"), "--port", "8080"])
    assert result.exit_code == 2 and "foreign.h5: not an HDF5 file" in result.output
    result = runner.invoke(app, ["view", str(result_path), "--port", "eighty"])
    assert result.exit_code == 2 and "--port takes an integer" in result.output
    monkeypatch.setitem(sys.modules, "viser", None)  # as if not installed
    result = runner.invoke(app, ["view", str(result_path)])
    assert result.exit_code == 2 and 'pip install "motion-recon[viewer]"' in result.output
    assert len(result.output.strip().splitlines()) == 1
