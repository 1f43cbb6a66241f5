"""The Labeler and Gallery in a real client: JupyterLab in headless Chromium (Playwright).

Labels radio items with the keyboard and by clicking components and a host on the canvas,
then checks the label store holds exactly those annotations, that JupyterLab's own
shortcuts did not fire while the widget had focus and work again outside it, and that
catalog text holding ``<script>`` is shown as text. Screenshots go to the test's tmp_path
(or ``--screenshots DIR``).
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "widgets"))

from _jupyter import (  # noqa: E402
    NOTEBOOK,
    browser_marks,
    chromium_page,
    command_mode_state,
    jupyter_lab,
    open_and_run,
    write_notebook,
)

pytestmark = browser_marks()

SIZE = 48
EVIL = "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\">"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pytest.importorskip("playwright")
    import tiny

    root = tmp_path_factory.mktemp("lab")
    tiny.radio_collection(root / "radio", n=5, size=SIZE, seed=1)
    tiny.radio_collection(root / "evil", n=3, size=SIZE, seed=2,
                          extra={"note": [EVIL, "fine", EVIL]})
    widgets_dir = str(HERE.parent / "widgets")
    write_notebook(root / "label.ipynb", [
        textwrap.dedent(f"""\
            import sys; sys.path.insert(0, {widgets_dir!r})
            import workbench
            from workbench.widgets import Labeler
            from workbench.io.labels import open_store
            coll = workbench.open("radio")
            L = Labeler(coll, scheme="rgz", store=open_store(coll), annotator="browser", size=360)
            L"""),
        "print('after the labeler')",
    ])
    write_notebook(root / "evil.ipynb", [
        textwrap.dedent("""\
            import workbench
            from workbench.widgets import Gallery, Labeler
            from workbench.io.labels import open_store
            coll = workbench.open("evil")
            Gallery(coll, badges=["note"], page_size=10)"""),
        "Labeler(coll, scheme='rgz', store=open_store(coll), annotator='x')",
    ])
    with jupyter_lab(root) as (base, token):
        yield root, base, token


def _run_all(page, base, token, name):
    open_and_run(page, base, token, name)


class _Driver:
    """Keys and clicks on the Labeler, each waiting for the kernel's answer."""

    def __init__(self, page):
        self.page = page
        self.root = page.locator(".wb-labeler").first

    def seq(self) -> int:
        return int(self.root.get_attribute("data-seq") or 0)

    def _wait(self, before: int):
        self.page.wait_for_function(
            "(b) => +document.querySelector('.wb-labeler').dataset.seq > b", arg=before,
            timeout=30_000)

    def key(self, key: str, *, wait: bool = True):
        before = self.seq()
        self.page.keyboard.press(key)
        if wait:
            self._wait(before)

    def click_array(self, row: float, col: float):
        """Click the first panel's canvas at array element (row, col)."""
        canvas = self.root.locator(".wb-canvas").first
        box = canvas.bounding_box()
        width = canvas.evaluate("c => c.width")
        css = box["width"] / width
        scale = max(1.0, 360 / SIZE)
        x = box["x"] + (col + 0.5) * scale * css
        y = box["y"] + (SIZE - row - 0.5) * scale * css
        before = self.seq()
        self.page.mouse.click(x, y)
        self._wait(before)

    def item(self) -> str:
        return self.root.get_attribute("data-item-id")

    def question(self) -> str:
        return self.root.get_attribute("data-question")


def test_label_with_keyboard_and_clicks(lab, screenshot):
    import numpy as np
    import tiny

    import workbench
    from workbench.imaging.islands import find_components
    from workbench.io.labels import open_store

    root, base, token = lab
    coll = workbench.open(root / "radio")
    with chromium_page() as page:
        _run_all(page, base, token, "label.ipynb")
        page.wait_for_selector(".wb-labeler[data-item-id='rg000']")
        page.wait_for_selector(".jp-OutputArea-output >> text=after the labeler")
        d = _Driver(page)
        d.root.locator(".wb-question").click()
        before = command_mode_state(page)
        screenshot(page, "labeler_start")

        # rg000: two components, host, FR II
        lab0 = find_components(coll[0].images["radio"][0])[0]
        c0 = [int(lab0[int(round(r)), int(round(c))]) for r, c in tiny.blob_centres(0, SIZE)[:2]]
        for r, c in tiny.blob_centres(0, SIZE)[:2]:
            d.click_array(r, c)
        assert sorted(c0) == sorted(int(v) for v in page.evaluate(
            "() => JSON.parse(document.querySelector('.wb-status').textContent"
            ".match(/selected: (\\[.*?\\])/)[1])"))
        screenshot(page, "labeler_components_selected")
        d.key("Enter")
        assert d.question() == "host"
        d.click_array(24, 24)
        assert d.question() == "morphology"
        d.key("3")
        assert d.question() == "sources" and d.item() == "rg000"
        screenshot(page, "labeler_source_done")
        d.key("Enter")
        assert d.item() == "rg001"
        # keys JupyterLab would act on in command mode: must not reach it
        for k in ("a", "b", "m", "1", "y", "Shift+Enter"):
            d.key(k, wait=False)
        page.wait_for_timeout(300)
        # rg001: no contours
        d.key("0")
        assert d.item() == "rg002"
        # rg002: skip
        d.key("s")
        assert d.item() == "rg003"
        # rg003: one component, no host, compact
        lab3 = find_components(coll[3].images["radio"][0])[0]
        r3, c3 = tiny.blob_centres(3, SIZE)[2]
        comp3 = int(lab3[int(round(r3)), int(round(c3))])
        d.click_array(r3, c3)
        d.key("Enter")
        d.key("n")
        d.key("1")
        d.key("Enter")
        assert d.item() == "rg004"
        # rg004: no contours, then undo (a retraction), which shows rg004 again
        d.key("0")
        d.key("u")
        assert d.item() == "rg004"
        # arrows: back to rg003, whose answer is shown from the store
        d.key("ArrowLeft")
        assert d.item() == "rg003"
        assert "source 1" in d.root.locator(".wb-status").text_content()
        screenshot(page, "labeler_after")

        after = command_mode_state(page)
        assert after["n"] == before["n"] and after["md"] == before["md"], (before, after)

        # outside the widget JupyterLab's shortcuts work again
        page.keyboard.press("Escape")
        page.locator(f"{NOTEBOOK} .jp-Cell .jp-InputPrompt").last.click()
        page.keyboard.press("b")
        page.wait_for_function(
            f"(n) => document.querySelectorAll('{NOTEBOOK} .jp-Cell').length === n + 1",
            arg=after["n"], timeout=10_000)
        screenshot(page, "labeler_shortcuts_outside")

    df = open_store(coll).annotations(annotator="browser", include_retracted=True)
    live = df[~df["retracted"]]
    assert sorted(live["item_id"]) == ["rg000", "rg001", "rg003"]
    got = {r.item_id: r.answers for r in live.itertuples()}
    s0 = got["rg000"]["sources"]
    assert got["rg000"]["no_contours"] is False and len(s0) == 1
    assert s0[0]["components"] == sorted(c0) and s0[0]["morphology"] == "FRII"
    assert np.allclose([s0[0]["host"]["x"], s0[0]["host"]["y"]], [24, 24], atol=0.5)
    assert got["rg001"] == {"no_contours": True, "sources": []}
    assert got["rg003"]["sources"] == [{"components": [comp3], "host": None,
                                        "morphology": "compact"}]
    gone = df[df["retracted"]]
    assert list(gone["item_id"]) == ["rg004"]
    assert len(df) == 4  # nothing else was written (skip writes nothing)


def test_script_in_catalog_renders_as_text(lab, screenshot):
    root, base, token = lab
    with chromium_page() as page:
        page.add_init_script("window.__xss = undefined;")
        _run_all(page, base, token, "evil.ipynb")
        page.wait_for_selector(".wb-gallery .wb-tile")
        page.wait_for_selector(".wb-labeler[data-item-id='rg000']")
        page.wait_for_timeout(500)
        screenshot(page, "escaping")
        assert page.evaluate("() => window.__xss") is None
        assert page.evaluate("() => document.querySelectorAll('.wb-root script, .wb-root img')"
                             ".length") == 0
        badges = page.locator(".wb-gallery .wb-badge").all_text_contents()
        assert any("note: <script>window.__xss" in b for b in badges), badges
        meta = page.locator(".wb-labeler .wb-meta").text_content()
        assert EVIL in meta
        # clicking a tile opens the item in its view below the grid
        page.locator(".wb-gallery .wb-tile").first.click()
        page.wait_for_selector(".wb-gallery .wb-detail .wb-canvas")
