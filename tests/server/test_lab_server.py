"""The extension inside an ordinary Jupyter server (the JupyterLab / JupyterHub case).

A plain ``jupyter server`` with its own token serves ROOT; the workbench extension is
enabled by the configuration file the package installs (nothing on the command line). It
finds the campaigns of the Collections under ROOT and nothing else, labels as the server's
user, and a cookie session must send Jupyter's XSRF token with every POST.
"""

from __future__ import annotations

import json
import secrets

import pytest
from _server import jupyter_server, request

from workbench.io.labels import open_store

TOKEN = secrets.token_hex(16)


@pytest.fixture(scope="module")
def lab(survey):
    root, _ = survey
    with jupyter_server(root, TOKEN, user="labowner") as base:
        yield base, root


def _cookies(headers) -> dict:
    out = {}
    for h in headers.get_all("Set-Cookie") or []:
        name, _, rest = h.partition("=")
        out[name.strip()] = rest.split(";", 1)[0]
    return out


def test_the_extension_is_enabled_by_the_installed_configuration():
    """What ``jupyter server extension list`` reads: the jupyter_server_config.d files on
    Jupyter's config path (pip installs workbench.json into sys.prefix/etc/jupyter)."""
    from jupyter_core.paths import jupyter_config_path
    from jupyter_server.extension.config import ExtensionConfigManager

    enabled = ExtensionConfigManager(read_config_path=jupyter_config_path()) \
        .get_jpserver_extensions()
    assert enabled.get("workbench.server") is True
    from workbench.server import _jupyter_server_extension_points

    assert _jupyter_server_extension_points() == [{"module": "workbench.server"}]


def test_campaigns_under_root_dir_and_nothing_else(lab):
    base, root = lab
    st, _, body = request(base, "GET", "/workbench/api/campaigns", token=TOKEN)
    assert st == 200
    got = json.loads(body)
    keys = sorted(c["key"] for c in got["campaigns"])
    # two campaigns called "fr": each is addressed with its folder; hidden folders, folders
    # deeper than two levels and links (to a Collection outside root) are not searched
    assert keys == ["fr@projects/radio2", "fr@radio", "frb-hunt", "grading", "other",
                    "rgz-pilot"]
    assert got["annotator"] == "labowner"
    assert request(base, "GET", "/workbench/api/campaigns")[0] == 403  # no token, no cookie
    # a key with a folder in it travels URL-encoded, and names that campaign's items
    nested = next(c for c in got["campaigns"] if c["key"] == "fr@projects/radio2")
    assert nested["url"] == "/workbench/campaigns/fr%40projects%2Fradio2/label"
    assert nested["progress"] == {"done": 0, "total": 3, "mine": 0}
    st, _, body = request(base, "GET", "/workbench/api/campaigns/fr%40projects%2Fradio2/next",
                          token=TOKEN)
    assert st == 200 and json.loads(body)["progress"]["total"] == 3


def test_next_asks_the_campaign_again_after_nothing_was_left(lab):
    """204 while another annotator holds every item; 200 once one is given back."""
    base, root = lab
    api = "/workbench/api/campaigns/fr%40projects%2Fradio2"
    store = open_store(root / "projects" / "radio2")
    camp = store.campaign("fr")
    held = [i for i in (camp.next_item("zed") for _ in range(3)) if i is not None]
    assert held
    answered = []
    for _ in range(4):
        st, _, body = request(base, "GET", f"{api}/next", token=TOKEN)
        if st == 204:
            break
        item = json.loads(body)["item_id"]
        answered.append(item)
        assert request(base, "POST", f"{api}/annotations", token=TOKEN, body={
            "item_id": item, "answers": {"morphology": "FRI", "confidence": "uncertain"}})[0] == 201
    assert st == 204 and not set(answered) & set(held)
    assert camp.release("zed", held[0])
    st, _, body = request(base, "GET", f"{api}/next", token=TOKEN)
    store.close()
    assert st == 200 and json.loads(body)["item_id"] == held[0]


def test_the_annotator_is_the_servers_user(lab):
    base, root = lab
    api = "/workbench/api/campaigns/other"
    item = json.loads(request(base, "GET", f"{api}/next", token=TOKEN)[2])
    assert item["annotator"] == "labowner"
    assert set(item["meta"]) == {"id", "ra", "dec"}  # the campaign lists no columns
    st, _, body = request(base, "POST", f"{api}/annotations", token=TOKEN, body={
        "item_id": item["item_id"], "annotator": "mallory",
        "answers": {"morphology": "hybrid", "confidence": "uncertain"}})
    assert st == 201
    store = open_store(root / "radio")
    rows = store.annotations(campaign="other")
    store.close()
    assert list(rows["annotator"]) == ["labowner"]
    assert list(rows["id"]) == [json.loads(body)["id"]]


def test_a_cookie_post_without_the_xsrf_token_is_refused(lab):
    base, root = lab
    # log in as a browser does: the token once in the URL, then the login cookie
    st, headers, page = request(base, "GET", f"/workbench/campaigns/rgz-pilot/label?token={TOKEN}")
    assert st == 200
    jar = _cookies(headers)
    login = next(k for k in jar if k.startswith("username-"))
    cookie = f"{login}={jar[login]}"
    api = "/workbench/api/campaigns/rgz-pilot"
    st, _, body = request(base, "GET", f"{api}/next", headers={"Cookie": cookie})
    assert st == 200, body  # the cookie alone reads
    item = json.loads(body)
    assert item["question"]["id"] == "sources" and item["images"]["outlines"]["n"] >= 2
    refused = request(base, "POST", f"{api}/key", body={"key": "0"}, headers={"Cookie": cookie})
    assert refused[0] == 403
    forged = request(base, "POST", f"{api}/key", body={"key": "0"},
                     headers={"Cookie": cookie + "; _xsrf=abc", "X-XSRFToken": "abd"})
    assert forged[0] == 403
    store = open_store(root / "radio")
    assert store.annotations(campaign="rgz-pilot").empty  # nothing was written
    # with the XSRF cookie and header the page's script sends, the same POST goes through
    xsrf = jar["_xsrf"]
    ok = request(base, "POST", f"{api}/key", body={"key": "0", "visit": item["visit"]},
                 headers={"Cookie": f"{cookie}; _xsrf={xsrf}", "X-XSRFToken": xsrf})
    assert ok[0] == 200, ok[2]
    rows = store.annotations(campaign="rgz-pilot")
    store.close()
    assert list(rows["item_id"]) == [item["item_id"]]
    assert dict(rows["answers"].iloc[0]) == {"no_contours": True, "sources": []}


@pytest.mark.browser
def test_rgz_sources_are_clicked_on_the_page_in_a_cookie_session(lab):
    """The page inside Jupyter: logged in by the server's token (cookie + XSRF), two
    components and a host clicked on the canvas, the morphology and Enter from the keyboard."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))
    from _jupyter import CHROMIUM, browser_marks, chromium_page

    if not Path(CHROMIUM).exists():
        pytest.skip(browser_marks()[1].kwargs["reason"])
    pytest.importorskip("playwright")
    import tiny

    base, root = lab
    with chromium_page() as page:
        page.set_default_timeout(30_000)
        page.goto(f"{base}/workbench/campaigns/rgz-pilot/label?token={TOKEN}")
        page.wait_for_selector(".wb-labeler[data-question='sources']")
        page.goto(f"{base}/workbench/campaigns/rgz-pilot/label")  # the cookie, no token
        page.wait_for_selector(".wb-labeler[data-question='sources']")
        item = page.get_attribute(".wb-labeler", "data-item-id")
        i = int(item[2:])
        size, scale = 48, 360 / 48
        box = page.locator(".wb-panel canvas").first.bounding_box()

        def click(row, col):
            x, y = col + 0.5, size - row - 0.5  # display pixels of the panel
            page.mouse.click(box["x"] + x * scale, box["y"] + y * scale)

        (r0, c0), (r1, c1) = tiny.blob_centres(i, size)[:2]
        click(r0, c0)
        page.wait_for_function("() => document.querySelector('.wb-status').textContent"
                               ".includes('selected')")
        click(r1, c1)
        page.wait_for_function("() => /selected: \\[\\d+,\\d+\\]/.test("
                               "document.querySelector('.wb-status').textContent)")
        page.keyboard.press("Enter")
        page.wait_for_selector(".wb-labeler[data-question='host']")
        click(size / 2, size / 2)
        page.wait_for_selector(".wb-labeler[data-question='morphology']")
        page.keyboard.press("3")  # FR II
        page.wait_for_function("() => document.querySelector('.wb-status').textContent"
                               ".includes('source 1')")
        page.keyboard.press("Enter")  # the item is finished
        page.wait_for_function(f"() => document.querySelector('.wb-labeler').dataset.itemId"
                               f" !== '{item}'")
    store = open_store(root / "radio")
    rows = store.annotations(campaign="rgz-pilot", item_id=item)
    store.close()
    assert list(rows["annotator"]) == ["labowner"]
    (src,) = rows["answers"].iloc[0]["sources"]
    assert len(src["components"]) == 2 and src["morphology"] == "FRII"
    assert abs(src["host"]["x"] - size / 2) <= 1 and abs(src["host"]["y"] - size / 2) <= 1


@pytest.mark.browser
@pytest.mark.parametrize("campaign, titles", [
    ("frb-hunt", ["dmtime", "freqtime"]),                       # DM-time and freq-time
    ("grading", ["stamp composite (i, r, g as RGB)", "g", "r", "i"]),  # lens composite
])
def test_transient_and_lens_pages_draw_their_panels(lab, campaign, titles):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))
    from _jupyter import CHROMIUM, chromium_page

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    pytest.importorskip("playwright")
    base, root = lab
    with chromium_page() as page:
        page.set_default_timeout(30_000)
        page.goto(f"{base}/workbench/campaigns/{campaign}/label?token={TOKEN}")
        page.wait_for_selector(".wb-labeler[data-item-id]:not([data-item-id=''])")
        item = page.get_attribute(".wb-labeler", "data-item-id")
        assert page.locator(".wb-panel-title").all_inner_texts() == titles
        # every panel was drawn: its canvas has non-blank pixels
        blank = page.evaluate("""() => [...document.querySelectorAll('.wb-panel canvas')].map(c => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return false;
            return true; })""")
        assert blank == [False] * len(titles)
        page.keyboard.press("2")
        page.wait_for_function(f"() => document.querySelector('.wb-labeler').dataset.itemId"
                               f" !== '{item}'")
    sub = "transients" if campaign == "frb-hunt" else "lenses"
    store = open_store(root / sub)
    rows = store.annotations(campaign=campaign)
    store.close()
    assert list(rows["item_id"]) == [item] and list(rows["annotator"]) == ["labowner"]
