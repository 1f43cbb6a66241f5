"""The "Campaigns" JupyterLab extension in a real JupyterLab, in headless Chromium.

JupyterLab serves a folder with two simulated radio Collections: ``sky`` (campaign ``fr``,
some items already labeled by bob) and one whose folder name is HTML (campaigns ``pilot``
and ``second``; the description of ``fr`` is HTML too). The extension served is the
committed build in ``workbench/labextension/`` (put first on JUPYTER_PATH), so the test
checks what ships, whatever copy is installed.

Checked: the panel appears in the left sidebar and lists the campaigns with the progress
the label store reports (retired / total, bar, "mine"); labeling in the tab the panel
opens stores an annotation under the JupyterLab user, and the refresh button shows it; the
launcher card and the palette entry open the labeling page in a main-area tab (an entry of
a campaign already open activates its tab); HTML in names and descriptions is text.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _jupyter import ROOT, browser_marks, chromium_page, jupyter_lab  # noqa: E402

pytestmark = browser_marks()

EVIL = "<img src=x onerror=window.__xss=1>"
EVIL_DIR = "<b onmouseover=window.__xss=2>radio<b>"  # a folder name (no slash)
PANEL = "#workbench-campaigns"
N = 10


def _item(key: str) -> str:
    return f'{PANEL} .jp-WorkbenchCampaigns-item[data-key="{key}"]'


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pytest.importorskip("playwright")
    from workbench.io.labels import open_store
    from workbench.sims.radio import simulate_radio

    root = tmp_path_factory.mktemp("campaigns")
    sky = simulate_radio(root / "sky", n=N, seed=2, size=64)
    st = open_store(sky)
    camp = st.create_campaign("fr", "fr-morphology", sky.ids, retire=1, description=EVIL)
    for _ in range(4):  # bob has retired four items
        item = camp.next_item("bob")
        camp.annotate(item, {"morphology": "FRI", "confidence": "confident"}, annotator="bob")
    st.close()
    evil = simulate_radio(root / EVIL_DIR, n=3, seed=3, size=64)
    st = open_store(evil)
    st.create_campaign("pilot", "fr-morphology", evil.ids, retire=2)
    st.create_campaign("second", "fr-morphology", evil.ids, retire=2)
    st.close()

    # the committed build, found before any installed copy of the same extension
    jpath = root.parent / f"{root.name}-jupyter-path"
    (jpath / "labextensions").mkdir(parents=True)
    (jpath / "labextensions" / "workbench-campaigns").symlink_to(
        ROOT / "workbench" / "labextension", target_is_directory=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(jpath))
        with jupyter_lab(root) as (base, token):
            yield root, base, token


def _progress(root: Path, coll: str, name: str, who: str | None = None) -> dict:
    from workbench.io.labels import open_store

    st = open_store(root / coll)
    try:
        return st.campaign(name).progress(who)
    finally:
        st.close()


def _row(page, key: str) -> dict:
    row = page.locator(_item(key))
    bar = row.locator(".jp-WorkbenchCampaigns-bar")
    return {"name": row.locator(".jp-WorkbenchCampaigns-open").inner_text(),
            "title": row.locator(".jp-WorkbenchCampaigns-open").get_attribute("title"),
            "where": row.locator(".jp-WorkbenchCampaigns-where").inner_text(),
            "done": row.locator(".jp-WorkbenchCampaigns-done").inner_text(),
            "mine": row.locator(".jp-WorkbenchCampaigns-mine").inner_text(),
            "now": bar.get_attribute("aria-valuenow"), "max": bar.get_attribute("aria-valuemax"),
            "width": row.locator(".jp-WorkbenchCampaigns-fill").evaluate("e => e.style.width")}


def _expected(p: dict) -> dict:
    pct = round(100 * p["done"] / p["total"])
    return {"done": f"{p['done']} / {p['total']} retired ({pct}%)", "mine": f"mine: {p['mine']}",
            "now": str(p["done"]), "max": str(p["total"]), "width": f"{pct}%"}


def _frames(page, key: str):
    return page.locator(f'.jp-WorkbenchLabelFrame[data-campaign="{key}"] iframe')


def _current_tab(page) -> str:
    return page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current "
                        ".lm-TabBar-tabLabel").first.inner_text()


def _labeler_ready(page, key: str):
    """The labeling page in campaign ``key``'s tab, once it shows a question."""
    frame = page.frame_locator(f'.jp-WorkbenchLabelFrame[data-campaign="{key}"] iframe')
    frame.locator(".wb-labeler[data-question='morphology']").wait_for()
    return frame


def _palette(page, text: str) -> None:
    page.locator(f"{PANEL} .jp-WorkbenchCampaigns-title").click()  # JupyterLab has the keys
    page.keyboard.press("Control+Shift+C")
    box = page.locator(".lm-CommandPalette-input")
    box.wait_for()
    box.fill(text)
    page.locator(".lm-CommandPalette-item.lm-mod-active", has_text=text).wait_for()
    page.keyboard.press("Enter")


def test_the_panel_launcher_and_palette_in_jupyterlab(lab, screenshot):
    root, base, token = lab
    with chromium_page() as page:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_default_timeout(60_000)
        page.goto(f"{base}/lab?reset&token={token}")

        # the panel has a tab in the left sidebar; opening it lists the campaigns
        tab = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="workbench-campaigns"]')
        tab.click()
        page.locator(_item("fr")).wait_for()
        who = page.locator(f"{PANEL} .jp-WorkbenchCampaigns-annotator").inner_text()
        assert who.startswith("Labeling as ")
        who = who.removeprefix("Labeling as ")
        keys = page.locator(f"{PANEL} .jp-WorkbenchCampaigns-item").evaluate_all(
            "rows => rows.map(r => r.dataset.key)")
        assert sorted(keys) == ["fr", "pilot", "second"]

        fr = _progress(root, "sky", "fr", who)
        assert fr == {"done": 4, "total": N, "mine": 0}
        row = _row(page, "fr")
        assert {k: row[k] for k in ("done", "mine", "now", "max", "width")} == _expected(fr)
        assert row["name"] == "fr" and row["where"] == "sky · fr-morphology"
        # HTML from the server is text: the description and the folder name, literally
        assert row["title"].startswith(EVIL)
        assert _row(page, "pilot")["where"] == f"{EVIL_DIR} · fr-morphology"
        assert page.locator(f"{PANEL} img, {PANEL} b").count() == 0

        # the launcher has a card per campaign; the card opens the page in a main-area tab
        section = page.locator(".jp-Launcher-section",
                               has=page.locator(".jp-Launcher-sectionTitle",
                                                has_text="Labeling Campaigns"))
        cards = section.locator(".jp-LauncherCard-label")
        cards.first.wait_for()
        assert sorted(cards.all_inner_texts()) == ["fr", "pilot", "second"]
        section.locator(".jp-LauncherCard", has_text="pilot").click()
        _labeler_ready(page, "pilot")
        assert _current_tab(page) == "pilot"
        assert _frames(page, "pilot").get_attribute("src").endswith(
            "/workbench/campaigns/pilot/label")

        # clicking the campaign in the panel opens its page; the tab has the keyboard, and
        # what is labeled there is stored under the JupyterLab user
        page.locator(_item("fr") + " .jp-WorkbenchCampaigns-open").click()
        frame = _labeler_ready(page, "fr")
        assert _current_tab(page) == "fr"
        labeler = frame.locator(".wb-labeler")
        item = labeler.get_attribute("data-item-id")
        page.keyboard.press("2")
        frame.locator(f".wb-labeler[data-item-id='{item}'][data-question='confidence']").wait_for()
        page.keyboard.press("1")
        frame.locator(f".wb-labeler:not([data-item-id='{item}'])").wait_for()
        from workbench.io.labels import open_store

        st = open_store(root / "sky")
        rows = st.annotations(campaign="fr")
        st.close()
        mine = rows[rows["annotator"] == who]
        assert list(mine["item_id"]) == [item]
        assert list(mine["answers"]) == [{"morphology": "FRII", "confidence": "confident"}]

        # the refresh button shows the new figures, as the store has them
        panel = page.locator(PANEL)
        before = int(panel.get_attribute("data-refreshed"))
        page.locator(f"{PANEL} .jp-WorkbenchCampaigns-refresh").click()
        page.wait_for_function(
            "n => Number(document.querySelector('#workbench-campaigns').dataset.refreshed) > n",
            arg=before)
        fr = _progress(root, "sky", "fr", who)
        assert fr == {"done": 5, "total": N, "mine": 1}
        row = _row(page, "fr")
        assert {k: row[k] for k in ("done", "mine", "now", "max", "width")} == _expected(fr)

        # the palette: an entry per campaign opens its tab, or activates the one open
        _palette(page, "Label second")
        _labeler_ready(page, "second")
        assert _current_tab(page) == "second"
        _palette(page, "Label fr")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current"
            " .lm-TabBar-tabLabel')].some(e => e.textContent === 'fr')")
        assert _frames(page, "fr").count() == 1
        assert _frames(page, "second").count() == 1 and _frames(page, "pilot").count() == 1

        assert page.evaluate("() => window.__xss === undefined")
        screenshot(page, "campaign_panel", full_page=False)
        assert errors == []
