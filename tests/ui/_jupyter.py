"""Start JupyterLab on a free loopback port and drive it in headless Chromium (Playwright).

Used by the browser tests and ``benchmarks/bench_labeler_browser.py``. Never downloads a
browser: it uses Debian's ``/usr/bin/chromium``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
#: The notebook in the visible tab.
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code cells (no outputs) with the python3 kernel."""
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{k}",
                     "metadata": {}, "outputs": [], "source": src}
                    for k, src in enumerate(cells)],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                      "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))


@contextlib.contextmanager
def jupyter_lab(root_dir: Path, *, timeout: float = 90.0):
    """Run ``jupyter lab`` serving ``root_dir``; yields ``(base_url, token)``."""
    port, token = free_port(), secrets.token_hex(16)
    rt = root_dir / ".jupyter-runtime"
    rt.mkdir(exist_ok=True)
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(rt), MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
           "--ip=127.0.0.1", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root_dir}",
           "--ServerApp.port_retries=0", "--LabApp.news_url=",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           f"--LabApp.workspaces_dir={root_dir / '.workspaces'}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(root_dir / "jupyter.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                            cwd=str(root_dir))
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            if proc.poll() is not None:
                raise RuntimeError("jupyter lab exited: "
                                   + (root_dir / "jupyter.log").read_text()[-2000:])
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if time.monotonic() - t0 > timeout:
                    raise RuntimeError("jupyter lab did not start in time") from None
                time.sleep(0.3)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextlib.contextmanager
def chromium_page(*, width: int = 1400, height: int = 1000):
    """A Playwright page in headless Debian Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def open_and_run(page, base: str, token: str, name: str, *, timeout_ms: int = 120_000):
    """Open notebook ``name`` in JupyterLab (accepting the kernel dialog if it shows) and
    run all its cells."""
    page.set_default_timeout(timeout_ms)
    ws = Path(name).stem.replace(".", "-")
    page.goto(f"{base}/lab/workspaces/{ws}/tree/{name}?reset&token={token}")
    page.wait_for_selector(f"{NOTEBOOK} .jp-Cell")
    accept_kernel_dialog(page, wait_ms=4000)
    page.locator(f"{NOTEBOOK} .jp-Cell .jp-InputPrompt").first.click()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    accept_kernel_dialog(page, wait_ms=1500)


def accept_kernel_dialog(page, *, wait_ms: int) -> None:
    """Click "Select" on JupyterLab's kernel dialog if it appears within ``wait_ms``."""
    try:
        page.wait_for_selector(".jp-Dialog .jp-mod-accept", timeout=wait_ms)
    except Exception:  # noqa: BLE001 - no dialog: nothing to do
        return
    page.locator(".jp-Dialog .jp-mod-accept").first.click()
    page.wait_for_selector(".jp-Dialog", state="detached")


def command_mode_state(page) -> dict:
    """Number of cells and markdown cells of the open notebook, and the notebook mode."""
    return page.evaluate("""() => {
        const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
        return {n: nb.querySelectorAll('.jp-Cell').length,
                md: nb.querySelectorAll('.jp-MarkdownCell').length,
                mode: nb.dataset.jpMode || (nb.classList.contains('jp-mod-editMode') ? 'edit' : 'command')};
    }""")


def browser_marks() -> list:
    """Marks for a browser test module: ``browser``, and a skip (with the reason) where
    Debian's chromium is not installed."""
    import pytest

    return [pytest.mark.browser,
            pytest.mark.skipif(not Path(CHROMIUM).exists(),
                               reason=f"{CHROMIUM} is missing (install Debian's chromium: "
                                      "apt-get install -y chromium)")]
