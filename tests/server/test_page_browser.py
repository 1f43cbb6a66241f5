"""Two annotators label one campaign at the same time in Chromium, from their invite links.

``workbench campaign serve`` serves campaign ``duo`` (10 items, retired after one
annotation); alice and bob each open their invite URL in their own browser context and
answer with the keyboard only (``2`` FR II, then ``1`` confident) until nothing is left.
Afterwards the store holds exactly the annotations each page answered, under their own
names, every item once. Catalog text holding ``<script>`` is shown as text.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from _server import campaign_server
from _survey import EVIL, invite, make_collection

from workbench.io.labels import open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))
from _jupyter import CHROMIUM, CHROMIUM_ARGS, browser_marks  # noqa: E402

pytestmark = browser_marks()
N = 10
ROOT_SEL = ".wb-labeler"


async def _label(browser, url: str) -> dict:
    """Label with the keyboard until the page says nothing is left; returns what the page
    showed: answered item ids, draw times (key to next item drawn), note texts."""
    ctx = await browser.new_context(viewport={"width": 1100, "height": 900})
    page = await ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(30_000)
    await page.goto(url)
    answered, notes = [], []
    while True:
        await page.wait_for_function(
            "() => { const r = document.querySelector('.wb-labeler');"
            " return r && (r.dataset.doneAll === '1' || (r.dataset.itemId &&"
            " r.dataset.question === 'morphology')); }")
        root = page.locator(ROOT_SEL)
        if await root.get_attribute("data-done-all") == "1":
            break
        item = await root.get_attribute("data-item-id")
        notes.append(await page.locator(".wb-meta").inner_text())
        await page.keyboard.press("2")
        await page.wait_for_function(
            "(i) => { const r = document.querySelector('.wb-labeler');"
            " return r.dataset.itemId === i && r.dataset.question === 'confidence'; }", arg=item)
        await page.keyboard.press("1")
        await page.wait_for_function(
            "(i) => { const r = document.querySelector('.wb-labeler');"
            " return r.dataset.itemId !== i || r.dataset.doneAll === '1'; }", arg=item)
        answered.append(item)
    html_nodes = await page.evaluate(
        "() => document.querySelectorAll('.wb-meta script, .wb-meta img, #wb-app script').length")
    xss = await page.evaluate("() => window.__xss === undefined ? null : window.__xss")
    draws = await page.evaluate("() => window.__wbLabelDraws.map(d => d.ms)")
    await ctx.close()
    return {"answered": answered, "notes": notes, "html_nodes": html_nodes, "xss": xss,
            "draws": draws, "errors": errors}


async def _both(urls):
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                           args=CHROMIUM_ARGS)
        try:
            return await asyncio.gather(*[_label(browser, u) for u in urls])
        finally:
            await browser.close()


@pytest.fixture(scope="module")
def duo(tmp_path_factory):
    pytest.importorskip("playwright")
    base = tmp_path_factory.mktemp("duo")
    coll = make_collection(base / "radio", n=N, seed=3)
    store = open_store(coll)
    store.create_campaign("duo", "fr-morphology", coll.ids, retire=1,
                          show_columns=["snr", "note"])
    store.close()
    tokens = {who: invite(coll.path, who, campaign="duo") for who in ("alice", "bob")}
    with campaign_server(coll.path, "duo", log_dir=base) as url:
        yield url, coll.path, tokens


def test_two_annotators_label_concurrently_from_their_invites(duo):
    base, coll, tokens = duo
    names = sorted(tokens)
    urls = [f"{base}/workbench/campaigns/duo/label?token={tokens[n]}" for n in names]
    results = dict(zip(names, asyncio.run(_both(urls))))
    for who, r in results.items():
        assert r["errors"] == [], (who, r["errors"])
        assert r["answered"], f"{who} labelled nothing"
    store = open_store(coll)
    rows = store.annotations(campaign="duo")
    store.close()
    # exactly their annotations, under their own names; every item once (retire 1)
    assert sorted(set(rows["annotator"])) == names
    for who in names:
        mine = rows[rows["annotator"] == who]
        assert sorted(mine["item_id"]) == sorted(results[who]["answered"])
        assert all(a == {"morphology": "FRII", "confidence": "confident"}
                   for a in mine["answers"])
    assert sorted(rows["item_id"]) == sorted(set(rows["item_id"]))
    assert len(rows) == N
    # catalog HTML is text: shown literally, never parsed into elements or run
    notes = [n for r in results.values() for n in r["notes"]]
    assert any(EVIL in n for n in notes)
    assert all("SECRET" not in n for n in notes)
    for r in results.values():
        assert r["html_nodes"] == 0 and r["xss"] is None
    draws = sorted(ms for r in results.values() for ms in r["draws"])
    print(f"key to next item drawn: median {draws[len(draws) // 2]:.0f} ms, "
          f"max {draws[-1]:.0f} ms over {len(draws)} items")
