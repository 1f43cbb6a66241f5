"""What the campaign server shares between requests, without HTTP: the single-flight cache
under the item and image caches, item objects spliced with cached image JSON, the invite
check (one query per interval for every annotator), and the scheme registry under threads."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from workbench.core.cache import BoundedCache
from workbench.io.labels import open_store
from workbench.server.identity import InviteIdentityProvider
from workbench.server.items import Memo
from workbench.server.payload import item_json
from workbench.server.registry import shared_store


def test_memo_is_the_bounded_cache_with_its_size_and_get():
    """Memo is core.cache.BoundedCache (whose single-flight making under threads is pinned
    in tests/core/test_cache.py) under the server's names: ``size`` and ``get(key, make)``."""
    memo = Memo(2)
    assert isinstance(memo, BoundedCache) and memo.size == 2 and Memo(0).size == 1
    with pytest.raises(ZeroDivisionError):
        memo.get("bad", lambda: 1 / 0)
    assert "bad" not in memo and memo.get("bad", lambda: 7) == 7  # a failure is not kept
    assert memo.get("bad", lambda: 8) == 7  # made once
    memo.get("k", lambda: 1)
    memo.get("c", lambda: 3)  # size 2: the least recently used ("bad") goes
    assert "bad" not in memo and "k" in memo and "c" in memo


def test_item_json_splices_the_cached_image_text():
    view = {"item_id": "a", "meta": {"id": "a", "snr": "5.0"}, "progress": {"done": 1}}
    imgs = {"panels": [{"png": "AAAA", "title": "radio"}], "outlines": None}
    text = item_json(view, json.dumps(imgs))
    assert json.loads(text) == {**view, "images": imgs}
    assert json.loads(item_json(view, imgs)) == json.loads(text)
    assert json.loads(item_json(view, None)) == view
    assert json.loads(item_json({}, json.dumps(imgs))) == {"images": imgs}


def test_invites_are_checked_against_a_copy_read_once_per_interval(tmp_path):
    store = open_store(tmp_path / "labels.sqlite")
    store.create_campaign("c", "transient", ["a", "b"], retire=1)
    store.create_campaign("other", "transient", ["a"], retire=1)
    ta, tb = store.invite("c", "ada"), store.invite("c", "bo")
    tx = store.invite("other", "xu")
    idp = InviteIdentityProvider(store_url=str(tmp_path / "labels.sqlite"), campaign="c",
                                 cache_seconds=0.5)
    shared = shared_store(str(tmp_path / "labels.sqlite"))  # the one the provider reads
    reads = []
    real = shared.valid_invites
    shared.valid_invites = lambda *a, **k: reads.append(k.get("token_hash")) or real(*a, **k)
    for _ in range(20):  # many requests of both annotators: one read of the valid invites
        assert idp.annotator_for(ta) == "ada" and idp.annotator_for(tb) == "bo"
    assert reads == [None]
    assert idp.annotator_for(tx) is None and idp.annotator_for("x" * 43) is None
    tc = store.invite("c", "cy")  # invited after the copy was read: let in at once
    assert idp.annotator_for(tc) == "cy"
    store.revoke_invite("c", "bo")
    time.sleep(0.6)  # a revoked token stops working once the copy is older than the interval
    assert idp.annotator_for(tb) is None and idp.annotator_for(ta) == "ada"
    assert idp.annotator_for("") is None and idp.annotator_for("y" * 600) is None
    store.close()


def test_the_scheme_registry_is_whole_for_concurrent_first_callers():
    code = """
import threading
from workbench.core.schemes import get_scheme
names = ["fr-morphology", "transient", "rgz", "lens-grade", "caesar-mrcnn"] * 8
bad, gate = [], threading.Barrier(len(names))
def look(n):
    gate.wait()
    try:
        get_scheme(n)
    except Exception as exc:
        bad.append(str(exc))
ts = [threading.Thread(target=look, args=(n,)) for n in names]
[t.start() for t in ts]; [t.join() for t in ts]
print(len(bad))
"""
    for _ in range(3):  # a fresh interpreter each time: the first load is the race
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "0"


@pytest.mark.parametrize("scheme", ["fr-morphology", "rgz"])
def test_a_drawing_worker_sends_what_the_server_would_draw(tmp_path, scheme):
    from _survey import make_collection

    from workbench.server.payload import ImageCache, render_item
    from workbench.server.registry import CampaignRef
    from workbench.server.render_pool import RenderPool

    coll = make_collection(tmp_path / "c", n=3)
    store = open_store(coll)
    store.create_campaign("c", scheme, coll.ids, show_columns=["snr"])
    camp = store.campaign("c")
    pool = RenderPool(1)
    try:
        text = pool.render_json(coll, camp, "rg001")
        assert json.loads(text) == json.loads(json.dumps(render_item(coll, camp, "rg001")))
        assert "SECRET" not in text and "sim_angle" not in text and "1001.25" not in text
        cache = ImageCache(8, ahead=0, renderer=pool)
        ref = CampaignRef("c", "c", coll.path, "c", str(coll.path / "labels.sqlite"))
        assert cache.get_json(ref, coll, camp, "rg001") == text
        assert cache.get(ref, coll, camp, "rg001") == json.loads(text)
    finally:
        pool.shutdown()
    assert pool.render_json(coll, camp, "rg002") is None  # gone: the caller draws itself
    cache = ImageCache(8, ahead=0, renderer=pool)
    assert cache.get(ref, coll, camp, "rg002") == render_item(coll, camp, "rg002")


def test_server_sessions_read_pixels_only_to_draw_or_pick(tmp_path):
    from _survey import make_collection

    from workbench.labeling import Session
    from workbench.server.items import ItemCache

    coll = make_collection(tmp_path / "c", n=3)
    store = open_store(coll)
    store.create_campaign("fr", "fr-morphology", coll.ids, show_columns=["snr"])
    store.create_campaign("rgz", "rgz", coll.ids, show_columns=["snr"])
    cache = ItemCache()
    reads = []
    real = cache.get
    cache.get = lambda c, i: reads.append(i) or real(c, i)

    def pair(campaign):
        s = Session(coll, store, None, campaign=campaign, annotator="ada",
                    loader=cache.loader(coll), ids=cache.ids(coll))
        plain = Session(coll, store, None, campaign=campaign, annotator="ada")  # same claim
        assert s.item_id == plain.item_id
        view, want = s.view(), plain.view()
        for k in ("meta", "draw", "item_id", "question", "keys"):
            assert view[k] == want[k], k
        assert "truth" not in json.dumps(view) and set(view["meta"]) == {"id", "snr"}
        return s, plain

    s, plain = pair("fr")
    assert reads == []  # the view needs the catalog row and the grids, not the pixels
    assert [p["rgba"] for p in s.panels()] == [p["rgba"] for p in plain.panels()]
    assert set(reads) == {s.item_id}
    s, plain = pair("rgz")  # components: the radio image's grid and label map from pixels
    assert (s.label_map() == plain.label_map()).all()
    assert cache.n_items == len(set(reads)) <= 2  # each item read once
    with pytest.raises(KeyError):
        cache.light(coll, "no-such-item")


def test_the_campaign_server_shortens_the_thread_switch_interval(monkeypatch):
    # the standalone server's labeling threads wait on the store between round trips: they
    # must get the interpreter back sooner than CPython's default 5 ms (see app.py)
    from jupyter_server.serverapp import ServerApp

    from workbench.server.app import SWITCH_INTERVAL, CampaignServerApp

    started = []
    monkeypatch.setattr(ServerApp, "start", lambda self: started.append(sys.getswitchinterval()))
    before = sys.getswitchinterval()
    try:
        CampaignServerApp().start()
    finally:
        sys.setswitchinterval(before)
    assert started == [SWITCH_INTERVAL] and SWITCH_INTERVAL < 0.005
    assert sys.getswitchinterval() == before
