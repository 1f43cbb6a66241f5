"""``workbench campaign serve`` over real HTTP: invites, blindness, the annotator, the API.

One server (a subprocess on a free loopback port) serves campaign ``fr`` of ``ROOT/radio``;
each test invites its own annotators, so the tests share the campaign but not their work.
"""

from __future__ import annotations

import base64
import io
import json
import time

import pytest
from _server import request
from _survey import invite

from workbench.core.errors import SchemeError
from workbench.core.schemes import get_scheme
from workbench.io.labels import open_store

API = "/workbench/api/campaigns/fr"
#: Names and values of the hidden catalog columns (see conftest): none may ever be sent.
HIDDEN = ("truth", "secret", "sim_angle", "1000.25", "1001.25", "1002.25")


def _clean(body: bytes) -> None:
    text = body.decode("utf-8").lower()
    leaked = [(h, text[max(0, text.find(h) - 200):text.find(h) + 50]) for h in HIDDEN if h in text]
    assert not leaked, f"hidden column name or value sent: {leaked}"


def _json(body: bytes):
    _clean(body)
    return json.loads(body)


def _store(coll):
    return open_store(coll)


def test_requests_without_a_valid_token_are_refused(invite_server):
    base, coll = invite_server
    tok = invite(coll, "anna")
    for method, path, body in (("GET", f"{API}/next", None), ("GET", "/workbench/api/campaigns", None),
                               ("POST", f"{API}/annotations", {"item_id": "rg000", "answers": {}}),
                               ("POST", f"{API}/key", {"key": "1"}),
                               ("GET", "/workbench/campaigns/fr/label", None)):
        assert request(base, method, path, body=body)[0] == 403, (method, path)
        assert request(base, method, path, body=body, token="not-a-token")[0] == 403
        assert request(base, method, path + "?token=" + tok[:-1] + "x", body=body)[0] == 403
    # the same requests with the invite (header or ?token=) are let in
    assert request(base, "GET", f"{API}/next", token=tok)[0] == 200
    assert request(base, "GET", f"{API}/next?token={tok}")[0] == 200
    st, headers, page = request(base, "GET", f"/workbench/campaigns/fr/label?token={tok}")
    assert st == 200 and b'data-campaign="fr"' in page


def test_a_revoked_token_stops_working(invite_server):
    base, coll = invite_server
    tok = invite(coll, "carol")
    assert request(base, "GET", f"{API}/next", token=tok)[0] == 200
    st = _store(coll)
    assert st.revoke_invite("fr", "carol") == 1
    st.close()
    time.sleep(1.2)  # lookups are reused for at most a second
    assert request(base, "GET", f"{API}/next", token=tok)[0] == 403
    assert request(base, "POST", f"{API}/key", token=tok, body={"key": "1"})[0] == 403


def test_a_token_for_another_campaign_is_refused(invite_server):
    base, coll = invite_server
    tok = invite(coll, "dave", campaign="other")
    assert request(base, "GET", f"{API}/next", token=tok)[0] == 403
    assert request(base, "GET", "/workbench/api/campaigns/other/next", token=tok)[0] == 403


def test_next_sends_only_the_shown_columns_and_drawable_images(invite_server):
    from PIL import Image

    base, coll = invite_server
    tok = invite(coll, "bea")
    st, headers, body = request(base, "GET", f"{API}/next", token=tok)
    assert st == 200
    item = _json(body)
    assert set(item["meta"]) == {"id", "snr", "note"}
    assert item["meta"]["id"] == item["item_id"]
    assert item["question"]["id"] == "morphology" and item["annotator"] == "bea"
    assert item["progress"]["total"] == 12
    panels = item["images"]["panels"]
    assert panels and panels[0]["contours"]["n"] > 0
    img = Image.open(io.BytesIO(base64.b64decode(panels[0]["png"])))
    assert img.size == (panels[0]["w"], panels[0]["h"]) == (48, 48)
    assert "no-store" in headers["Cache-Control"]
    # the listing shows this campaign only, with this annotator's progress
    listing = _json(request(base, "GET", "/workbench/api/campaigns", token=tok)[2])
    assert listing["annotator"] == "bea"
    assert [c["key"] for c in listing["campaigns"]] == ["fr"]
    assert listing["campaigns"][0]["progress"]["mine"] == 0


def test_the_annotator_is_the_invitee_whatever_the_body_says(invite_server):
    base, coll = invite_server
    tok = invite(coll, "erin")
    item = _json(request(base, "GET", f"{API}/next", token=tok)[2])
    st, _, body = request(base, "POST", f"{API}/annotations", token=tok, body={
        "item_id": item["item_id"], "annotator": "mallory", "user": "mallory",
        "answers": {"morphology": "FRII", "confidence": "confident"}})
    assert st == 201, body
    ann_id = json.loads(body)["id"]
    store = _store(coll)
    rows = store.annotations(campaign="fr")
    store.close()
    mine = rows[rows["id"] == ann_id]
    assert list(mine["annotator"]) == ["erin"] and list(mine["item_id"]) == [item["item_id"]]
    assert dict(mine["answers"].iloc[0]) == {"morphology": "FRII", "confidence": "confident"}
    assert "mallory" not in set(rows["annotator"])
    # the next item is handed out, never the one just answered
    nxt = _json(request(base, "GET", f"{API}/next", token=tok)[2])
    assert nxt["item_id"] != item["item_id"] and nxt["progress"]["mine"] == 1


def test_an_answer_with_next_brings_the_next_item_in_the_same_response(invite_server):
    base, coll = invite_server
    tok = invite(coll, "hugo")
    item = _json(request(base, "GET", f"{API}/next", token=tok)[2])
    answers = {"morphology": "FRI", "confidence": "uncertain"}
    answered, ids = [], []
    while item is not None:
        st, _, body = request(base, "POST", f"{API}/annotations?next=1", token=tok,
                              body={"item_id": item["item_id"], "answers": answers})
        assert st == 201, body
        out = _json(body)
        answered.append(item["item_id"])
        ids.append(out["id"])
        item = out["next"]
        if item is not None:
            # what GET next answers now: the same item, with its images and only shown columns
            again = _json(request(base, "GET", f"{API}/next", token=tok)[2])
            assert again["item_id"] == item["item_id"] not in answered
            assert item["images"]["panels"] and set(item["meta"]) == {"id", "snr", "note"}
            assert item["progress"]["mine"] == len(answered)
    # ran out: next was null and GET next says so too; every answer is stored, once each
    assert request(base, "GET", f"{API}/next", token=tok)[0] == 204
    assert len(answered) == len(set(answered)) >= 10  # other tests' annotators retire some
    store = _store(coll)
    rows = store.annotations(annotator="hugo")
    store.close()
    assert sorted(rows["id"].astype(int)) == sorted(ids)
    assert sorted(rows["item_id"]) == sorted(answered)
    # the flag takes 1 or 0 only; without it the answer is {"id"} alone
    tok2 = invite(coll, "ines")
    first = _json(request(base, "GET", f"{API}/next", token=tok2)[2])
    body = {"item_id": first["item_id"], "answers": answers}
    assert request(base, "POST", f"{API}/annotations?next=maybe", token=tok2, body=body)[0] == 400
    st, _, out = request(base, "POST", f"{API}/annotations?next=0", token=tok2, body=body)
    assert st == 201 and set(json.loads(out)) == {"id"}


def test_invalid_answers_get_the_schemes_message(invite_server):
    base, coll = invite_server
    tok = invite(coll, "fred")
    item = _json(request(base, "GET", f"{API}/next", token=tok)[2])
    bad = {"morphology": "FRIII", "confidence": "confident"}
    with pytest.raises(SchemeError) as exc:
        get_scheme("fr-morphology").validate(bad)
    st, _, body = request(base, "POST", f"{API}/annotations", token=tok,
                          body={"item_id": item["item_id"], "answers": bad})
    assert st == 400
    assert json.loads(body)["message"] == exc.value.reason
    # an item other than the one shown is refused, and so is a body that is not an object
    st, _, body = request(base, "POST", f"{API}/annotations", token=tok, body={
        "item_id": "rg999", "answers": {"morphology": "FRI", "confidence": "confident"}})
    assert st == 409 and "not the item shown" in json.loads(body)["message"]
    assert request(base, "POST", f"{API}/annotations", token=tok, body="[1, 2")[0] == 400
    assert request(base, "POST", f"{API}/annotations", token=tok, body=[1, 2])[0] == 400
    assert request(base, "POST", f"{API}/key", token=tok, body="[" * 100_000)[0] == 400
    assert request(base, "POST", f"{API}/key", token=tok, body="1" * 300_000)[0] == 413
    assert request(base, "POST", f"{API}/key", token=tok, body={"key": "x" * 50})[0] == 400
    assert request(base, "POST", f"{API}/click", token=tok, body={"x": "nan", "y": 1})[0] == 400
    store = _store(coll)
    assert len(store.annotations(annotator="fred")) == 0
    store.close()


def test_keys_drafts_undo_and_skip_follow_the_session(invite_server):
    base, coll = invite_server
    tok = invite(coll, "gina")
    first = _json(request(base, "GET", f"{API}/next", token=tok)[2])

    def post(what, body):
        st, _, out = request(base, "POST", f"{API}/{what}", token=tok, body=body)
        assert st == 200, out
        return _json(out)

    v = post("key", {"key": "2", "visit": first["visit"]})
    assert v["item_id"] == first["item_id"] and v["question"]["id"] == "confidence"
    assert "images" not in v  # same item: nothing to redraw
    draft = _json(request(base, "GET", f"{API}/draft", token=tok)[2])
    assert draft["item_id"] == first["item_id"]
    assert draft["draft"]["path"] == {"morphology": "FRII"}
    v = post("key", {"key": "1", "visit": v["visit"]})
    assert v["item_id"] != first["item_id"] and "images" in v
    store = _store(coll)
    rows = store.annotations(annotator="gina")
    assert list(rows["item_id"]) == [first["item_id"]]
    assert store.drafts(annotator="gina", campaign="fr").empty  # finished: draft gone
    # undo: the annotation is retracted and its item shown again
    v = post("undo", {"visit": v["visit"]})
    assert v["item_id"] == first["item_id"] and "images" in v
    assert store.annotations(annotator="gina").empty
    assert len(store.annotations(annotator="gina", include_retracted=True)) == 1
    # skip: the item goes back to the pool and another one is shown
    second = post("skip", {"item_id": v["item_id"], "visit": v["visit"]})
    assert second["item_id"] not in ("", first["item_id"])
    claims = store.campaign("fr")
    assert claims.progress("gina")["mine"] == 0
    store.close()


def test_jupyters_own_api_is_closed_to_invitees(invite_server):
    base, coll = invite_server
    tok = invite(coll, "hank")
    assert request(base, "GET", "/api/contents", token=tok)[0] == 403
    assert request(base, "GET", "/api/contents/labels.sqlite", token=tok)[0] == 403
    assert request(base, "POST", "/api/kernels", token=tok, body={})[0] == 403
    assert request(base, "GET", "/api/sessions", token=tok)[0] == 403
    assert request(base, "GET", "/files/labels.sqlite", token=tok)[0] in (403, 404)


def test_the_page_is_one_document_with_a_strict_policy(invite_server):
    base, coll = invite_server
    tok = invite(coll, "ivan")
    st, headers, page = request(base, "GET", f"/workbench/campaigns/fr/label?token={tok}")
    assert st == 200
    _clean(page)
    csp = headers["Content-Security-Policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page.decode()
    assert page.decode().count("<script") == 1  # nothing but the page's own script
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert headers["Referrer-Policy"] == "no-referrer"
    # a second load has another nonce; an unknown campaign is 404
    csp2 = request(base, "GET", f"/workbench/campaigns/fr/label?token={tok}")[1][
        "Content-Security-Policy"]
    assert csp2 != csp
    assert request(base, "GET", f"/workbench/campaigns/nope/label?token={tok}")[0] == 404
    assert request(base, "GET", "/workbench/api/campaigns/..%2F..%2Fetc/next", token=tok)[0] == 404
